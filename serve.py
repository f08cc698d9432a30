"""
Speak from a browser, or from any client of OpenAI's speech endpoint, with the standard library's HTTP
server: nothing more to install.

    python serve.py                                  # then open http://127.0.0.1:8000
    python serve.py --port 8080 --checkpoint out/pretrain/model.pt --max_concurrent 2

    curl http://127.0.0.1:8000/v1/audio/speech -H "Content-Type: application/json" \\
         -d '{"model": "tts-gpt", "input": "Hello there.", "voice": "slt"}' -o hello.wav

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    client.audio.speech.create(model="tts-gpt", voice="slt", input="Hello there.",
                               response_format="wav").write_to_file("hello.wav")

Endpoints:
    GET  /                  a page to type into: it plays the speech while the rest is still generated
    POST /v1/audio/speech   OpenAI's speech endpoint: JSON {"model", "input", "voice", "response_format",
                            "speed"}, answered with the audio as it is decoded (chunked transfer encoding).
                            "wav": 16 kHz 16-bit mono, the model's own rate, sizes in the header left open
                            (0xFFFFFFFF) since the length is not known when it goes out; "pcm": the raw
                            samples at 24 kHz 16-bit little-endian mono, as OpenAI's pcm. Besides OpenAI's
                            fields: "seed" (an int, default 0), and "prompt_audio" (a short wav, flac or ogg
                            file, base64) with "prompt_text" (what it says) to clone a voice.
    GET  /v1/voices         the checkpoint's voices;  GET /v1/models  the model;  GET /health  loaded or not

Limits: a request body over --max_body bytes, a text over --max_chars, or a voice prompt over 12 s is a
4xx with OpenAI's JSON error ({"error": {"message", "type"}}). --max_concurrent requests generate at
once, --queue more wait, and any beyond are answered 503 at once; a request still speaking after
--timeout seconds is stopped (its stream ends without its closing chunk, so the client knows it is
incomplete). Nothing a request sends becomes a file path: prompts are decoded in memory.
"""
import argparse
import base64
import binascii
import io
import json
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

from dataset.audio import StreamResampler, keep_freed_memory
from infer import DEFAULT_GPT, TTS, TTSError
from train_common import DeviceError, pick_device

PCM_RATE = 24_000  # OpenAI's pcm: raw 16-bit samples at 24 kHz
MODEL_NAME = "tts-gpt"


class RequestError(Exception):
    """What was wrong with a request, as an HTTP status, an OpenAI error type and a one-line message."""

    def __init__(self, status, message, kind="invalid_request_error"):
        super().__init__(message)
        self.status, self.kind = status, kind


class Gate:
    """At most `running` requests generate at once, at most `waiting` more wait for a turn; any request
    beyond those is refused at once (503), and so is one whose turn does not come before its deadline."""

    def __init__(self, running, waiting):
        self.turns, self.waiting, self.lock = threading.Semaphore(running), waiting, threading.Lock()
        self.queued = 0

    def enter(self, deadline):
        if self.turns.acquire(blocking=False):
            return
        with self.lock:
            if self.queued >= self.waiting:
                raise RequestError(503, "the server is busy: try again shortly", "server_busy")
            self.queued += 1
        try:
            if not self.turns.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise RequestError(503, "the server stayed busy until the request's timeout", "server_busy")
        finally:
            with self.lock:
                self.queued -= 1

    def leave(self):
        self.turns.release()


def wav_header(sample_rate, n_samples=None):
    """A 44-byte header of 16-bit mono PCM; n_samples None leaves the sizes open (0xFFFFFFFF), as a
    stream must: its length is not known when the header goes out. Readers take the data to the end."""
    data = 0xFFFFFFFF if n_samples is None else 2 * n_samples
    riff = 0xFFFFFFFF if n_samples is None else 36 + data
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate,
            2 * sample_rate, 2, 16) + b"data" + struct.pack("<I", data))


def int16_bytes(samples):
    """Float samples (T,) in [-1, 1] -> 16-bit little-endian PCM bytes."""
    return (samples.clamp(-1, 1) * 32767).round().to(torch.int16).numpy().astype("<i2").tobytes()


def read_request(handler, max_body):
    """The JSON object of a POST body, or a RequestError (413 over max_body, 400 not JSON or not an object)."""
    try:
        length = int(handler.headers.get("Content-Length", ""))
    except ValueError:
        raise RequestError(411, "send the body with a Content-Length") from None
    if length > max_body:
        if length <= 4 * max_body:  # read and drop it, so that the client, still sending, hears the answer
            for start in range(0, length, 1 << 16):
                handler.rfile.read(min(1 << 16, length - start))
        raise RequestError(413, f"a body of {length:,} bytes is over the limit of {max_body:,} (--max_body)")
    try:
        request = json.loads(handler.rfile.read(length))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(400, f"the body is not JSON: {e}") from None
    if not isinstance(request, dict):
        raise RequestError(400, "the body must be a JSON object")
    return request


def speech_options(request, tts, max_chars):
    """Check an OpenAI speech request and turn it into (text, format, keyword arguments for TTS.stream);
    fields this server does not know are ignored, as OpenAI's own clients expect."""
    text = request.get("input")
    if not isinstance(text, str) or not text.strip():
        raise RequestError(400, "'input' must be a non-empty string: the text to speak")
    if len(text) > max_chars:
        raise RequestError(400, f"'input' of {len(text):,} characters is over the limit of {max_chars:,}")
    form = request.get("response_format", "wav")
    if form not in ("wav", "pcm"):
        raise RequestError(400, f"response_format {form!r} is not supported: use 'wav' or 'pcm'")
    speed = request.get("speed", 1.0)
    if not isinstance(speed, (int, float)) or speed != 1:
        raise RequestError(400, f"speed {speed!r}: only 1.0, this model speaks at its own pace")
    seed = request.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not -2 ** 62 < seed < 2 ** 62:
        raise RequestError(400, "'seed' must be an integer")
    voice, prompt = request.get("voice"), None
    if request.get("prompt_audio") is not None:  # decoded here, encoded by the codec once it is its turn
        try:
            prompt = io.BytesIO(base64.b64decode(request["prompt_audio"], validate=True))
        except (binascii.Error, TypeError, ValueError):
            raise RequestError(400, "'prompt_audio' must be a base64-encoded wav, flac or ogg file") from None
        if not isinstance(request.get("prompt_text"), str):
            raise RequestError(400, "'prompt_text' must say what 'prompt_audio' says")
        prompt, voice = (prompt, request["prompt_text"]), None
    elif voice is not None and voice not in tts.speakers:
        raise RequestError(400, f"unknown voice {voice!r}; this model knows {', '.join(tts.speakers)}")
    return text, form, dict(speaker=voice, prompt=prompt, seed=seed, max_chars=max_chars)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer encoding
    server_version = "tts-gpt"

    def do_GET(self):
        tts = self.server.tts
        if self.path in ("/", "/index.html"):
            self.send_body(200, "text/html; charset=utf-8", PAGE.encode())
        elif self.path == "/health":
            self.send_json(200, {"status": "ok", "model": MODEL_NAME, "voices": tts.speakers})
        elif self.path == "/v1/voices":
            self.send_json(200, {"voices": tts.speakers, "default": (tts.speakers or [None])[0]})
        elif self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model",
                                                             "owned_by": "local"}]})
        else:
            self.send_error_json(RequestError(404, f"no such page: {self.path}", "not_found"))

    def do_POST(self):
        if self.path.rstrip("/") != "/v1/audio/speech":
            self.send_error_json(RequestError(404, f"no such endpoint: {self.path}", "not_found"))
            return
        deadline, gate, tts = time.monotonic() + self.server.timeout_s, self.server.gate, self.server.tts
        self.answered = False  # whether a status line has gone out
        try:
            text, form, options = speech_options(read_request(self, self.server.max_body), tts, self.server.max_chars)
            if options["prompt"] is None:
                tts.prepare(text, options["speaker"], None, options["max_chars"])  # a bad text: 400 before waiting
            gate.enter(deadline)
        except (RequestError, TTSError) as e:
            self.send_error_json(e)
            return
        try:
            if options["prompt"] is not None:  # the codec's work, so done in turn; a TTSError says what is wrong
                options["prompt"] = tts.prompt(*options["prompt"])
                tts.prepare(text, None, options["prompt"], options["max_chars"])
            self.stream_speech(text, form, options, deadline)
        except TTSError as e:
            self.send_error_json(e)
        except Exception as e:  # a bug, not the request: a line in the log, a 500 if nothing was sent yet
            self.log_message("error: %s: %s", type(e).__name__, e)
            if self.answered:
                self.close_connection = True
            else:
                self.send_error_json(RequestError(500, f"{type(e).__name__}: {e}", "server_error"))
        finally:
            gate.leave()

    def stream_speech(self, text, form, options, deadline):
        """Send the speech of `text` chunk by chunk as TTS.stream decodes it."""
        tts = self.server.tts
        resampler = StreamResampler(tts.sample_rate, PCM_RATE) if form == "pcm" else None
        self.send_response(200)
        self.answered = True
        self.send_header("Content-Type", "audio/wav" if form == "wav" else f"audio/pcm;rate={PCM_RATE}")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = tts.stream(text, **options)
        try:
            if form == "wav":
                self.send_chunk(wav_header(tts.sample_rate))
            for samples in chunks:
                if time.monotonic() > deadline:  # stopped: no closing chunk, so the client sees it cut short
                    self.log_message("stopped after --timeout %g s: %r", self.server.timeout_s, text[:60])
                    self.close_connection = True
                    return
                self.send_chunk(int16_bytes(resampler.push(samples) if resampler else samples))
            if resampler:
                self.send_chunk(int16_bytes(resampler.flush()))
            self.wfile.write(b"0\r\n\r\n")  # the closing chunk: the speech is complete
        except (BrokenPipeError, ConnectionResetError):  # the client went away: stop speaking
            self.close_connection = True
        finally:
            chunks.close()  # frees the generation's KV cache at once, whatever happened

    def send_chunk(self, data):
        if data:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def send_body(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj):
        self.send_body(status, "application/json", json.dumps(obj).encode())

    def send_error_json(self, error):
        """OpenAI's error body; a TTSError (the text, the voice, the prompt) is the request's fault: 400."""
        status, kind = (error.status, error.kind) if isinstance(error, RequestError) else (400, "invalid_request_error")
        if status in (411, 413):  # the body was not read: the connection cannot carry another request
            self.close_connection = True
        self.send_json(status, {"error": {"message": str(error), "type": kind}})

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class SpeechServer(ThreadingHTTPServer):
    """One TTS shared by every request's thread: generation only reads the weights."""
    daemon_threads = True

    def __init__(self, address, tts, max_concurrent=2, queue=4, timeout_s=60.0, max_chars=1000,
                 max_body=8 << 20, quiet=False):
        super().__init__(address, Handler)
        self.tts, self.gate, self.quiet = tts, Gate(max_concurrent, queue), quiet
        self.timeout_s, self.max_chars, self.max_body = timeout_s, max_chars, max_body


def load_in_a_thread(checkpoint, codec, device):
    """TTS.load, run in a thread that then ends, so that the main thread never starts OpenMP's workers.
    GNU OpenMP keeps the pool of workers a thread starts until that thread ends, the main thread's for
    the life of the process; with it beside a request thread's own pool there are more OpenMP threads
    than cores, and OpenMP then waits less before putting a worker to sleep, so every parallel operation
    of a request pays to wake one (lab/README.md, "Figures behind the code": a third slower on 2 cores)."""
    loaded = {}

    def load():
        try:
            loaded["tts"] = TTS.load(checkpoint, codec, pick_device(device))
        except (TTSError, DeviceError) as e:
            loaded["error"] = e

    thread = threading.Thread(target=load)
    thread.start()
    thread.join()
    if "error" in loaded:
        raise loaded["error"]
    return loaded["tts"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on; anything but loopback opens it to others")
    add("--port", type=int, default=8000, help="0: any free port (printed)")
    add("--checkpoint", default=DEFAULT_GPT, help="GPT model.pt")
    add("--codec", default=None, help="codec; None: the one the GPT names")
    add("--device", default="cpu", help="cpu, cuda, cuda:1, auto")
    add("--max_concurrent", type=int, default=2, help="requests that generate at once")
    add("--queue", type=int, default=4, help="requests that may wait for a turn; more are answered 503")
    add("--timeout", type=float, default=60.0, help="seconds a request may take, waiting included")
    add("--max_chars", type=int, default=1000, help="longest text accepted")
    add("--max_body", type=int, default=8 << 20, help="largest request body in bytes (a voice prompt is in it)")
    add("--quiet", action="store_true", help="no line per request")
    args = parser.parse_args(argv)
    if min(args.max_concurrent, args.max_chars, args.max_body) < 1 or args.queue < 0 or args.timeout <= 0:
        sys.exit("error: --max_concurrent, --max_chars and --max_body must be at least 1, --queue at least 0, "
                 "--timeout above 0")
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with
    try:
        tts = load_in_a_thread(args.checkpoint, args.codec, args.device)
        server = SpeechServer((args.host, args.port), tts, args.max_concurrent, args.queue, args.timeout,
                              args.max_chars, args.max_body, args.quiet)
    except (TTSError, DeviceError, OSError) as e:
        sys.exit(f"error: {e}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the model",
              file=sys.stderr)
    host, port = server.server_address[:2]
    print(f"serving {', '.join(tts.speakers)} on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# -----------------------------------------------------------------------------------------------------
# The page: plain HTML, CSS and JavaScript, all inline, so that it works offline. It posts the text to
# /v1/audio/speech for 24 kHz pcm, plays each piece as it arrives (Web Audio: every piece is scheduled to
# start where the previous one ends), and when the last has come gives the whole as a wav to the player.

PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tts-gpt</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  textarea, input, select, button { font: inherit; }
  textarea { width: 100%; box-sizing: border-box; }
  fieldset { border: 1px solid #ccc; margin: 1rem 0; }
  audio { width: 100%; margin-top: 1rem; }
  #status { display: block; margin-top: .5rem; color: #444; }
</style>
<h1>tts-gpt</h1>
<p>A small GPT that speaks: type a sentence, pick a voice, press Speak.</p>
<textarea id="text" rows="4">Hello! This is a small speech model, speaking in your browser.</textarea>
<p><label>Voice <select id="voice"></select></label> <button id="speak">Speak</button></p>
<fieldset>
  <legend>Or clone a voice (optional)</legend>
  <label>A short recording (0.5 to 12 s): <input id="prompt_file" type="file" accept="audio/*"></label><br>
  <label>What it says: <input id="prompt_text" size="40"></label>
</fieldset>
<audio id="player" controls></audio>
<output id="status"></output>
<script>
const RATE = 24000;  // the server's pcm: 16-bit little-endian samples at 24 kHz
const $ = (id) => document.getElementById(id);
let context = null;  // one AudioContext, made on the first click (browsers want a gesture first)

fetch("/v1/voices").then((r) => r.json()).then((v) => {
  for (const name of v.voices) $("voice").add(new Option(name, name));
});

function wavFile(samples) {  // Int16Array -> a wav Blob the <audio> player can take
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, s) => [...s].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); header.setUint32(4, 36 + 2 * samples.length, true); text(8, "WAVEfmt ");
  header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
  header.setUint32(24, RATE, true); header.setUint32(28, 2 * RATE, true);
  header.setUint16(32, 2, true); header.setUint16(34, 16, true);
  text(36, "data"); header.setUint32(40, 2 * samples.length, true);
  return new Blob([header, samples], {type: "audio/wav"});
}

async function base64Of(file) {  // the prompt recording, as the JSON body carries it
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function speak() {
  $("speak").disabled = true;
  $("status").dataset.state = "speaking";
  $("status").textContent = "speaking...";
  context = context || new AudioContext();
  await context.resume();
  const body = {model: "tts-gpt", input: $("text").value, voice: $("voice").value, response_format: "pcm"};
  const file = $("prompt_file").files[0];
  if (file) Object.assign(body, {prompt_audio: await base64Of(file), prompt_text: $("prompt_text").value});
  const start = performance.now();
  let firstAudio = null, playAt = 0, carry = new Uint8Array(0);
  const pieces = [];
  try {
    const response = await fetch("/v1/audio/speech", {method: "POST", body: JSON.stringify(body),
                                                       headers: {"Content-Type": "application/json"}});
    if (!response.ok) throw new Error((await response.json()).error.message);
    const reader = response.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      const bytes = new Uint8Array(carry.length + value.length);  // a sample may straddle two reads
      bytes.set(carry); bytes.set(value, carry.length);
      const whole = bytes.length - bytes.length % 2;
      carry = bytes.slice(whole);
      const samples = new Int16Array(bytes.buffer.slice(0, whole));
      if (!samples.length) continue;
      if (firstAudio === null) firstAudio = performance.now() - start;
      pieces.push(samples);
      const buffer = context.createBuffer(1, samples.length, RATE);
      buffer.copyToChannel(Float32Array.from(samples, (s) => s / 32768), 0);
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      playAt = Math.max(playAt, context.currentTime + 0.05);  // play on from where the last piece ends
      source.start(playAt);
      playAt += buffer.duration;
    }
    const seconds = (performance.now() - start) / 1000;
    const all = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
    pieces.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
    const audioSeconds = all.length / RATE;
    $("player").src = URL.createObjectURL(wavFile(all));
    $("status").textContent = `first audio after ${Math.round(firstAudio)} ms; ${audioSeconds.toFixed(2)} s ` +
      `of audio in ${seconds.toFixed(2)} s, real-time factor ${(seconds / audioSeconds).toFixed(3)}`;
    $("status").dataset.state = "done";
  } catch (error) {
    $("status").textContent = `error: ${error.message}`;
    $("status").dataset.state = "error";
  } finally {
    $("speak").disabled = false;
  }
}

$("speak").addEventListener("click", speak);
</script>
</html>
"""


if __name__ == "__main__":
    main()
