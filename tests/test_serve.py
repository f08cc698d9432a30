"""Tests for serve.py: the server runs in a subprocess on a free port with the shipped checkpoints and
answers real HTTP requests (the standard library's urllib and http.client), and a real browser (headless
Chromium, driven through the DevTools protocol) speaks from its page."""
import base64
import http.client
import io
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dataset.audio import StreamResampler, resample
from dataset.readers import DEMO_DIR

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Please close the window before it rains."
PROMPT_WAV = DEMO_DIR / "audio" / "slt" / "slt_0001.ogg"
PROMPT_TEXT = "Why did Elizabeth swim a few laps on such a foggy day?"


def start_server(*flags):
    """serve.py on a free port: (base url, process). It prints its address once the model is loaded."""
    process = subprocess.Popen([sys.executable, "serve.py", "--port", "0", "--quiet", *flags], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not found:
        process.kill()
        raise AssertionError(f"serve.py did not start: {line}{process.stderr.read()}")
    return f"http://127.0.0.1:{found.group(1)}", process


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server():
    url, process = start_server("--max_chars", "300", "--max_body", "400000", "--queue", "2")
    yield url, process
    stop(process)


@pytest.fixture(scope="module")
def tts():
    from infer import TTS
    return TTS.load()


def post(url, body, timeout=60, headers=None):
    """(status, headers, body bytes) of a POST to /v1/audio/speech; body: a dict (sent as JSON) or bytes."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url + "/v1/audio/speech", data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.load(response)


def as_int16(wav):
    return (wav.clamp(-1, 1) * 32767).round().to(torch.int16).numpy()


def snr_db(reference, other):
    reference, other = reference.double(), other.double()
    return float(10 * torch.log10(reference.pow(2).sum() / (other - reference).pow(2).sum()))


# -----------------------------------------------------------------------------------------------------
# Speaking


def test_a_sentence_comes_back_as_the_wav_tts_speaks(server, tts):
    url, _ = server
    status, headers, body = post(url, {"model": "tts-gpt", "input": SENTENCE, "voice": "ked", "seed": 5,
                                       "response_format": "wav", "some_future_field": True})
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    assert headers["Transfer-Encoding"] == "chunked"
    samples, rate = sf.read(io.BytesIO(body), dtype="int16")
    streamed = torch.cat(list(tts.stream(SENTENCE, speaker="ked", seed=5)))
    assert rate == 16000 and len(samples) == len(streamed) > 16000
    assert np.abs(samples.astype(int) - as_int16(streamed).astype(int)).max() <= 1  # rounding, at most
    # TTS.stream decodes in chunks with a short lookahead (tokenizer/streaming.py): the same codes as a
    # whole call, decoded all but identically.
    whole, _ = tts(SENTENCE, speaker="ked", seed=5, batch_size=1)
    assert len(whole) == len(samples) and snr_db(whole, torch.from_numpy(samples / 32767)) > 35
    assert get_json(url, "/v1/voices")["voices"] == tts.speakers
    assert get_json(url, "/health")["status"] == "ok"


def test_pcm_is_24_khz_of_the_same_speech(server, tts):
    url, _ = server
    status, headers, body = post(url, {"input": SENTENCE, "voice": "ked", "seed": 5, "response_format": "pcm"})
    assert status == 200 and headers["Content-Type"].startswith("audio/pcm")
    pcm = np.frombuffer(body, dtype="<i2")
    streamed = torch.cat(list(tts.stream(SENTENCE, speaker="ked", seed=5)))
    assert len(body) % 2 == 0 and len(pcm) == math.ceil(len(streamed) * 24000 / 16000)
    reference = as_int16(resample(streamed, 16000, 24000))
    assert np.abs(pcm.astype(int) - reference.astype(int)).max() <= 1


def test_the_first_chunk_arrives_long_before_the_last(server):
    """Streaming: the first audio bytes come while the rest is still being generated."""
    url, _ = server
    host, port = url.rsplit("/", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    text = "The bus was late because of the heavy snow, so we walked to the station together."
    start = time.perf_counter()
    connection.request("POST", "/v1/audio/speech", json.dumps({"input": text, "response_format": "pcm"}),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    first, total = None, 0
    while True:
        piece = response.read1(65536)
        if not piece:
            break
        first = first if first is not None else time.perf_counter() - start
        total += len(piece)
    end = time.perf_counter() - start
    connection.close()
    audio_seconds = total / 2 / 24000
    print(f"first audio after {1000 * first:.0f} ms, {audio_seconds:.2f} s of audio in {end:.2f} s")
    assert response.status == 200 and audio_seconds > 3
    assert first < 0.5 * end


def test_a_voice_prompt_clones_in_memory(server, tts):
    url, _ = server
    audio = base64.b64encode(PROMPT_WAV.read_bytes()).decode()
    status, _, body = post(url, {"input": "The garden looks lovely.", "prompt_audio": audio,
                                 "prompt_text": PROMPT_TEXT, "voice": "kal", "seed": 3})
    assert status == 200
    samples, _ = sf.read(io.BytesIO(body), dtype="int16")
    prompt = tts.prompt(PROMPT_WAV, PROMPT_TEXT)
    streamed = torch.cat(list(tts.stream("The garden looks lovely.", prompt=prompt, seed=3)))
    assert len(samples) == len(streamed) and np.abs(samples.astype(int) - as_int16(streamed)).max() <= 1


def test_the_stream_resampler_equals_resampling_at_once():
    generator = torch.Generator().manual_seed(0)
    for n, sizes in [(0, [3]), (5, [1]), (3333, [7, 160, 1]), (16000, [4096, 500])]:
        x = torch.randn(n, generator=generator)
        resampler, pieces, i = StreamResampler(16000, 24000), [], 0
        while i < n:
            size = sizes[len(pieces) % len(sizes)]
            pieces.append(resampler.push(x[i:i + size]))
            i += size
        pieces.append(resampler.flush())
        assert torch.allclose(torch.cat(pieces), resample(x, 16000, 24000), atol=1e-5)


# -----------------------------------------------------------------------------------------------------
# Bad requests and limits


def silent_wav():
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(32000, dtype=np.float32), 16000, format="WAV")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("body, status, expected", [
    (b"{not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    ({"voice": "slt"}, 400, "'input'"),
    ({"input": "   "}, 400, "'input'"),
    ({"input": 5}, 400, "'input'"),
    ({"input": "Hi.", "voice": "alloy"}, 400, "unknown voice 'alloy'"),
    ({"input": "Hi.", "response_format": "mp3"}, 400, "'mp3' is not supported"),
    ({"input": "Hi.", "speed": 2.0}, 400, "speed"),
    ({"input": "Hi.", "seed": "x"}, 400, "seed"),
    ({"input": "word " * 100}, 400, "over the limit of 300"),
    ({"input": "🙂🎉"}, 400, "nothing to say"),
    ({"input": "Hi.", "prompt_audio": "%%%"}, 400, "base64"),
    ({"input": "Hi.", "prompt_audio": base64.b64encode(b"RIFF not audio").decode(), "prompt_text": "hello"},
     400, "cannot read audio"),
    ({"input": "Hi.", "prompt_audio": "SILENT", "prompt_text": "hello"}, 400, "silent"),
    ({"input": "Hi.", "prompt_audio": "SILENT"}, 400, "prompt_text"),
    (b"x" * 500_000, 413, "over the limit"),
])
def test_a_bad_request_is_a_json_4xx_and_the_server_goes_on(server, body, status, expected):
    url, _ = server
    if isinstance(body, dict) and body.get("prompt_audio") == "SILENT":
        body = {**body, "prompt_audio": silent_wav()}
    got, headers, reply = post(url, body)
    assert got == status and headers["Content-Type"] == "application/json"
    error = json.loads(reply)["error"]
    assert expected in error["message"] and error["type"] and "Traceback" not in error["message"]
    assert post(url, {"input": "Yes.", "voice": "slt"})[0] == 200  # the next good request still speaks


def test_unknown_paths_are_404_json(server):
    url, _ = server
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "/v1/nothing", timeout=10)
    assert e.value.code == 404 and "error" in json.loads(e.value.read())


def test_a_request_over_its_timeout_is_stopped_and_its_turn_freed():
    """--timeout 1: a long text is cut off mid-stream (no closing chunk: the client sees it incomplete),
    and the next request gets the turn it held."""
    url, process = start_server("--timeout", "1", "--max_concurrent", "1", "--queue", "0")
    try:
        text = "This sentence goes on and on, and then it goes on a little more. " * 6
        start = time.perf_counter()
        with pytest.raises(http.client.IncompleteRead):
            post(url, {"input": text})
        assert time.perf_counter() - start < 15
        # The turn is free again: with --queue 0 a held one would answer 503 at once. (Only the status is
        # read: on a loaded machine even this short one may pass the 1 s and be cut off in turn.)
        request = urllib.request.Request(url + "/v1/audio/speech", data=json.dumps({"input": "Yes."}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        stop(process)


def test_a_full_queue_answers_503_at_once():
    url, process = start_server("--max_concurrent", "1", "--queue", "0")
    try:
        busy = "A long sentence to keep the server busy for a moment. And then another one, to be sure."
        long_request = threading.Thread(target=post, args=(url, {"input": busy}))
        long_request.start()
        time.sleep(0.3)  # the long one holds the only turn by now
        start = time.perf_counter()
        status, _, body = post(url, {"input": "Me too."})
        assert status == 503 and json.loads(body)["error"]["type"] == "server_busy"
        assert time.perf_counter() - start < 2
        long_request.join()
    finally:
        stop(process)


def test_listening_beyond_loopback_warns_in_one_line():
    process = subprocess.Popen([sys.executable, "serve.py", "--port", "0", "--host", "0.0.0.0", "--quiet"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert re.search(r"http://0\.0\.0\.0:\d+", process.stdout.readline())
    finally:
        stop(process)
    warnings = [line for line in process.stderr.read().splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0]


def rss_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc (Linux)")
def test_sixteen_clients_at_once_get_200_or_503_and_the_server_lives_on():
    url, process = start_server("--max_concurrent", "2", "--queue", "4", "--timeout", "30")
    try:
        assert post(url, {"input": "Warm up."})[0] == 200
        before = rss_mb(process.pid)
        results = []

        def client(i):
            for k in range(2):
                start = time.perf_counter()
                try:
                    status = post(url, {"input": ["Hi.", "Yes, I think so.", "Thank you!"][k], "seed": i},
                                  timeout=45)[0]
                except (OSError, http.client.HTTPException) as e:
                    status = repr(e)
                results.append((status, time.perf_counter() - start))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = [status for status, _ in results]
        assert len(results) == 32 and set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 6 and max(seconds for _, seconds in results) < 40
        assert process.poll() is None and get_json(url, "/health")["status"] == "ok"
        assert rss_mb(process.pid) - before < 300  # MB: no growth without bound
        print(f"{statuses.count(200)} answered, {statuses.count(503)} refused; RSS {before:.0f} -> "
              f"{rss_mb(process.pid):.0f} MB")
    finally:
        stop(process)


# -----------------------------------------------------------------------------------------------------
# A real browser


class DevTools:
    """The Chrome DevTools Protocol over a WebSocket, with the standard library only: enough to type into
    a page, click it, read values back and take a screenshot."""

    def __init__(self, ws_url, timeout=60):
        host, port, path = re.match(r"ws://([^:/]+):(\d+)(/.*)", ws_url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: "
                          f"Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += self.sock.recv(1)
        assert reply.startswith(b"HTTP/1.1 101"), reply
        self.next_id = 0

    def _send(self, text):  # one masked text frame, as a client must send
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        length = struct.pack("!B", 0x80 | n) if n < 126 else (struct.pack("!BH", 0x80 | 126, n) if n < 65536
                                                              else struct.pack("!BQ", 0x80 | 127, n))
        self.sock.sendall(b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise ConnectionError("the browser closed the connection")
            data += part
        return data

    def _receive(self):  # one message, its frames joined
        message = b""
        while True:
            first, second = self._exactly(2)
            n = second & 0x7F
            if n >= 126:
                n = struct.unpack("!H" if n == 126 else "!Q", self._exactly(2 if n == 126 else 8))[0]
            message += self._exactly(n)
            if first & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{expression} stayed false for {seconds} s")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (.ci/run installs it with apt-get where it can)")
def test_a_browser_types_a_sentence_presses_speak_and_gets_playable_audio(server, tmp_path):
    url, _ = server
    browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
                                "--window-size=900,1000", "--autoplay-policy=no-user-gesture-required",
                                "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'profile'}", url + "/"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in browser.stderr:  # Chromium says where its DevTools listen
            found = re.search(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)", line)
            if found:
                break
        pages = []
        for _ in range(100):
            pages = [p for p in get_json(f"http://127.0.0.1:{found.group(2)}", "/json/list") if p["type"] == "page"]
            if pages:
                break
            time.sleep(0.1)
        page = DevTools(pages[0]["webSocketDebuggerUrl"])
        page.wait_for("(document.getElementById('voice') || {options: []}).options.length > 0", 30)
        page.evaluate("document.getElementById('text').value = ''; document.getElementById('text').focus()")
        page.call("Input.insertText", text="The browser typed this sentence.")
        box = page.evaluate("JSON.stringify(document.getElementById('speak').getBoundingClientRect())")
        box = json.loads(box)
        for kind in ("mousePressed", "mouseReleased"):  # a real click: the page's own handler runs
            page.call("Input.dispatchMouseEvent", type=kind, x=box["x"] + box["width"] / 2,
                      y=box["y"] + box["height"] / 2, button="left", clickCount=1)
        state = page.wait_for("['done', 'error'].includes(document.getElementById('status').dataset.state) && "
                              "document.getElementById('status').dataset.state", 60)
        status = page.evaluate("document.getElementById('status').textContent")
        assert state == "done", status
        duration = page.wait_for("document.getElementById('player').duration", 10)  # NaN until loaded
        (tmp_path / "page.png").write_bytes(base64.b64decode(page.call("Page.captureScreenshot")["data"]))
        print(f"{status}; player {duration:.2f} s; screenshot {tmp_path / 'page.png'}")
        assert 1.0 < duration < 10 and "first audio after" in status and "real-time factor" in status
    finally:
        browser.terminate()
        browser.wait(timeout=10)
