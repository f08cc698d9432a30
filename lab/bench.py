"""
Speed of the codec and of speaking, printed as numbers (nothing here is a test: timings vary by machine).

    python lab/bench.py codec                      # encode and decode speed of checkpoints/codec.pt, x real time
    python lab/bench.py tts                        # real-time factor, time to first audio: checkpoints/gpt.pt
    python lab/bench.py tts --preset cpu           # ... of an untrained model (speed needs no training)
    python lab/bench.py tts --device cuda --preset gpu
    python lab/bench.py train                      # training tokens/s, MFU and peak memory of every preset
    python lab/bench.py train --device cuda --compile
    python lab/bench.py serve                      # serve.py over HTTP: first audio byte, 1, 2, 4 clients

`tts` generates exactly --seconds of speech codes at batch 1 with the KV cache (so that every model and
machine is timed on the same amount of work), decodes them with the codec, and reports the real-time
factor (compute seconds per second of audio; below 1 is faster than real time). Streaming: the time from
the call to the first decoded chunk, with tokenizer/streaming.py's StreamDecoder defaults. --rows: the same codes'
worth of steps for that many tries side by side (infer.py's --batch_size), per step and per code.

`serve` starts serve.py (--max_concurrent, 1 by default, generate at once) and speaks everyday sentences
through its OpenAI-style endpoint as pcm, as a client would: the time from sending a request to its
first audio byte and the real-time factor the client sees (median of --repeats), then --clients clients
at once, each speaking --repeats sentences one after another: sentences per minute and the 95th
percentile of the time a request takes from sending to its last byte.

`train` times full optimizer steps (forward, backward, clipping, AdamW) of each preset on batches laid out
as in training (text, speaker, speech codes: random values, real shapes) with train_pretrain.py's default
tokens per batch. MFU = the model's training FLOPs per second (GPT.estimate_flops_per_token) / the
hardware's peak. On a CPU the peak is measured in the same run: a large fp32 matmul, the best any
kernel can do there. On a GPU it is the card's dense bf16 figure from its data sheet (--peak_flops for
cards not in the table); a measured bf16 matmul is printed beside it.
"""
import argparse
import http.client
import json
import math
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.audio import keep_freed_memory
from infer import DEFAULT_GPT, TTS, TTSError
from model.batched import generate_rows
from model.gpt import GPT, PRESETS, GPTConfig
from model.sequence import TEXT_VOCAB_SIZE, build_example, collate, encode_text
from tokenizer.codec import Codec
from tokenizer.streaming import StreamDecoder
from train_common import gpu_peak_flops, pick_device
from train_pretrain import forward_backward, maybe_compile

SENTENCE = "The quick brown fox jumps over the lazy dog while the band plays on."


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats):
    """(median seconds of fn() over `repeats` runs after one warm-up run, fn's last result)."""
    result = fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_codec(args, device):
    codec = Codec.load(args.codec, device).eval()
    wav = 0.1 * torch.randn(int(args.seconds * codec.sample_rate), generator=torch.Generator().manual_seed(0))
    wav = wav.to(device)
    encode_s, codes = timed(lambda: codec.encode(wav), device, args.repeats)
    decode_s, _ = timed(lambda: codec.decode(codes), device, args.repeats)
    n_params = sum(p.numel() for p in codec.parameters()) / 1e6
    print(f"codec {args.codec or 'checkpoints/codec.pt'} ({n_params:.1f} M parameters) on {device}, "
          f"{torch.get_num_threads()} threads, {args.seconds:g} s of audio, median of {args.repeats}:")
    both = encode_s + decode_s
    for name, seconds in (("encode", encode_s), ("decode", decode_s), ("encode + decode", both)):
        print(f"  {name:16s} {1000 * seconds:8.1f} ms  {args.seconds / seconds:7.1f} x real time")


def bench_tts(args, device):
    if args.preset:
        codec = Codec.load(args.codec, device).eval()
        torch.manual_seed(0)
        config = GPTConfig(speech_vocab_size=codec.codebook_size, **PRESETS[args.preset])
        tts = TTS(GPT(config).to(device), codec, {"speaker": 0})
        what = f"untrained {args.preset} preset"
    else:
        try:
            tts = TTS.load(args.checkpoint, args.codec, device)
        except TTSError as e:
            sys.exit(f"error: {e} (or time an untrained model: --preset cpu)")
        what = str(args.checkpoint)
    model, codec = tts.model, tts.codec
    n_codes = int(args.seconds * codec.tokens_per_second)
    prefix, _ = build_example(encode_text(SENTENCE), [], TEXT_VOCAB_SIZE, speaker=0,
                              speech_vocab_size=codec.codebook_size)
    prefix = prefix[None].to(device)
    room = model.cfg.max_seq_len - prefix.shape[1] + 1  # the most codes one generation can hold
    if n_codes > room:
        print(f"--seconds {args.seconds:g} needs {n_codes} codes, the model's context holds {room}: "
              f"timing {room}")
        n_codes = room
    sampling = dict(temperature=0.5, top_k=50, top_p=0.9, ras_window=10, cfg_scale=args.cfg_scale)

    def speak():
        generator = torch.Generator(device).manual_seed(0)
        codes = model.generate(prefix, max_new_tokens=n_codes, min_new_tokens=n_codes, generator=generator,
                               **sampling)
        return codec.decode(codes)

    def first_audio():
        generator = torch.Generator(device).manual_seed(0)
        decoder = StreamDecoder(codec)
        for code in model.generate_stream(prefix, max_new_tokens=n_codes, min_new_tokens=n_codes,
                                          generator=generator, **sampling):
            if len(decoder.push(code)):
                return
        decoder.flush()  # fewer codes than one chunk: the first audio is all of it

    with torch.inference_mode():
        total_s, wav = timed(speak, device, args.repeats)
        first_s, _ = timed(first_audio, device, args.repeats)
        generate_s, _ = timed(lambda: model.generate(prefix, max_new_tokens=n_codes, min_new_tokens=n_codes,
                                                     generator=torch.Generator(device).manual_seed(0),
                                                     **sampling), device, args.repeats)
    audio_s = len(wav) / codec.sample_rate
    guidance = f" (x2: guidance {args.cfg_scale:g})" if args.cfg_scale != 1 else ""
    print(f"tts: {what} ({model.num_parameters() / 1e6:.2f} M parameters) on {device}, "
          f"{torch.get_num_threads()} threads, batch 1{guidance}, {n_codes} codes = {audio_s:.1f} s of audio, "
          f"median of {args.repeats}:")
    print(f"  generate            {generate_s:7.2f} s  {1000 * generate_s / n_codes:6.2f} ms/code")
    print(f"  generate + decode   {total_s:7.2f} s  real-time factor {total_s / audio_s:.3f}")
    print(f"  streaming: first audio after {1000 * first_s:.0f} ms")
    # Several tries side by side (model/batched.py, what infer.py's --batch_size does): each step costs
    # more than one row's, each code much less, since a small model's step is mostly per-operation overhead.
    for rows in args.rows:
        def side_by_side():
            generators = [torch.Generator(device).manual_seed(row) for row in range(rows)]
            for _ in generate_rows(model, [prefix[0]] * rows, [n_codes] * rows, [n_codes] * rows,
                                   generators=generators, **sampling):
                pass

        with torch.inference_mode():
            rows_s, _ = timed(side_by_side, device, args.repeats)
        print(f"  {rows:3d} rows at once  {rows_s:7.2f} s  {1000 * rows_s / n_codes:6.2f} ms/step  "
              f"{1000 * rows_s / (rows * n_codes):6.2f} ms/code")


def matmul_flops(device, dtype, n, repeats=5):
    """Measured FLOP/s of an n x n matmul: the practical peak of the machine for that dtype."""
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    seconds, _ = timed(lambda: a @ b, device, repeats)
    return 2 * n ** 3 / seconds


def peak_memory_mb(device):
    """Peak memory so far: allocated by torch on a GPU; the process's resident set on a CPU (which only
    grows, so presets are timed smallest first)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def synthetic_batch(max_tokens, speech_vocab_size, seq_len, generator):
    """As many examples of seq_len tokens as fit in max_tokens, laid out as training lays them out: 60
    text bytes and a speaker, then speech codes to fill seq_len (START, speaker, text, SPEECH_START and
    the codes: the input holds 63 tokens besides the codes, END being only a target)."""
    examples = []
    for _ in range(max(1, max_tokens // seq_len)):
        text = torch.randint(32, 127, (60,), generator=generator).tolist()
        codes = torch.randint(0, speech_vocab_size, (seq_len - 63,), generator=generator)
        examples.append(build_example(text, codes, TEXT_VOCAB_SIZE, speaker=0,
                                      speech_vocab_size=speech_vocab_size))
    return collate(examples)


def bench_train(args, device):
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = args.peak_flops or gpu_peak_flops(device)
        measured = matmul_flops(device, torch.bfloat16, 8192)
        if peak is None:
            print(f"{name} is not in the table of data-sheet peaks: MFU against the measured bf16 matmul")
            peak = measured
        print(f"{name}: peak {peak / 1e12:.0f} TFLOP/s bf16; a bf16 8192^3 matmul measures "
              f"{measured / 1e12:.0f} TFLOP/s")
    else:
        peak = args.peak_flops or matmul_flops(device, torch.float32, 2048)
        print(f"CPU, {torch.get_num_threads()} threads: peak {peak / 1e9:.0f} GFLOP/s "
              f"({'--peak_flops' if args.peak_flops else 'measured: a 2048^3 fp32 matmul'})")
    max_tokens = args.max_tokens or (16384 if device.type == "cuda" else 4096)
    presets = [args.preset] if args.preset else list(PRESETS)
    print(f"{max_tokens} tokens per step in sequences of {args.seq_len}, median of {args.repeats} steps "
          f"after a warm-up{', torch.compile' if args.compile else ''}:")
    print(f"  {'preset':8s} {'params':>8s} {'tokens/s':>10s} {'MFU':>7s} {'step':>10s} {'peak memory':>12s}")
    for preset in presets:
        torch.manual_seed(0)
        model = GPT(GPTConfig(**PRESETS[preset])).to(device)
        optimizer = model.configure_optimizers(0.1, 3e-4, (0.9, 0.95), device.type)
        compiled = maybe_compile(model, args.compile, device)
        batch = synthetic_batch(max_tokens, model.cfg.speech_vocab_size, args.seq_len,
                                torch.Generator().manual_seed(0))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

        def train_step():
            _, n_tokens = forward_backward(compiled, [batch], device)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return n_tokens

        seconds, n_tokens = timed(train_step, device, args.repeats)
        tokens_per_s = n_tokens / seconds
        mfu = model.estimate_flops_per_token(args.seq_len) * tokens_per_s / peak
        print(f"  {preset:8s} {model.num_parameters() / 1e6:7.1f}M {tokens_per_s:10.0f} {100 * mfu:6.1f}% "
              f"{1000 * seconds:8.1f}ms {peak_memory_mb(device):9.0f} MB")
        del model, optimizer, compiled
        if device.type == "cuda":
            torch.cuda.empty_cache()


SENTENCES = ["Please close the window before it rains.", "Could you pass me the salt, please?",
             "The bus was late because of the heavy snow, so we walked to the station together.",
             "Thank you!", "We finally bought a new sofa for the living room.", "Where did you park the car?"]


def speak_over_http(port, text):
    """(seconds to the first audio byte, seconds to the last, seconds of audio) of one pcm request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    start = time.perf_counter()
    connection.request("POST", "/v1/audio/speech", json.dumps({"input": text, "response_format": "pcm"}),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"serve.py answered {response.status}: {response.read()[:200]}")
    first, n_bytes = None, 0
    while piece := response.read1(1 << 16):
        first = first if first is not None else time.perf_counter() - start
        n_bytes += len(piece)
    connection.close()
    return first, time.perf_counter() - start, n_bytes / 2 / 24000  # pcm: 16-bit samples at 24 kHz


def bench_serve(args, device):
    command = [sys.executable, "serve.py", "--port", "0", "--quiet", "--device", str(device), "--checkpoint",
               str(args.checkpoint), "--max_concurrent", str(args.max_concurrent), "--queue", "64"]
    if args.codec:
        command += ["--codec", str(args.codec)]
    server = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        found = re.search(r":(\d+)$", server.stdout.readline().strip())
        if not found:
            raise ValueError("serve.py did not start (its error is above)")
        port = int(found.group(1))
        speak_over_http(port, "Warm up.")
        runs = [speak_over_http(port, SENTENCES[0]) for _ in range(args.repeats)]
        first, last, audio = (statistics.median(run[i] for run in runs) for i in range(3))
        print(f"serve: {args.checkpoint} on {device}, {torch.get_num_threads()} threads in this process, "
              f"--max_concurrent {args.max_concurrent}; one sentence ({audio:.2f} s of audio) as pcm over HTTP, "
              f"median of {args.repeats}:")
        print(f"  first audio byte after {1000 * first:.0f} ms, last after {last:.2f} s: real-time factor "
              f"{last / audio:.3f} as the client sees it")
        for clients in args.clients:
            done = []

            def client(i):
                for k in range(args.repeats):
                    done.append(speak_over_http(port, SENTENCES[(i + k) % len(SENTENCES)]))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - start
            latencies = sorted(run[1] for run in done)
            p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
            print(f"  {clients} client(s) at once: {60 * len(done) / seconds:5.1f} sentences per minute, "
                  f"95th-percentile latency {p95:.2f} s, {sum(run[2] for run in done) / seconds:.2f} s of audio a "
                  "second")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["codec", "tts", "train", "serve"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto, ...")
    parser.add_argument("--codec", type=Path, default=None, help="codec (default: checkpoints/codec.pt)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_GPT, help="GPT model.pt for tts")
    parser.add_argument("--preset", choices=list(PRESETS), default=None,
                        help="time an untrained model of this size instead of --checkpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per run")
    parser.add_argument("--cfg_scale", type=float, default=1.0,
                        help="tts: classifier-free guidance (1: none; otherwise a batch of 2 per step)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the median is printed)")
    parser.add_argument("--rows", type=int, nargs="*", default=[8],
                        help="tts: also time this many tries generated side by side (none: skip)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 2, 4], help="serve: clients at once")
    parser.add_argument("--max_concurrent", type=int, default=1, help="serve: serve.py's --max_concurrent")
    parser.add_argument("--max_tokens", type=int, default=None,
                        help="train: tokens per step (default: train_pretrain.py's, 4096 CPU, 16384 GPU)")
    parser.add_argument("--seq_len", type=int, default=256, help="train: tokens per sequence")
    parser.add_argument("--compile", action="store_true", help="train: torch.compile the model")
    parser.add_argument("--peak_flops", type=float, default=None, help="train: the hardware's peak FLOP/s")
    args = parser.parse_args(argv)
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with
    if args.seconds < 0.1 or args.seq_len < 64 or args.repeats < 1 or min(args.rows + args.clients, default=1) < 1:
        sys.exit("error: --seconds must be at least 0.1, --seq_len at least 64 (60 text bytes, 3 markers and "
                 "a code), --repeats, --rows and --clients at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = pick_device(args.device)
        {"codec": bench_codec, "tts": bench_tts, "train": bench_train, "serve": bench_serve}[args.what](args, device)
    except (FileNotFoundError, ValueError) as e:  # no codec there, not a codec (Codec.load), a DeviceError
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
