"""
Speed of the codec and of speaking, printed as numbers (nothing here is a test: timings vary by machine).

    python bench.py codec                      # encode and decode speed of checkpoints/codec.pt, x real time
    python bench.py tts                        # real-time factor, time to first audio: checkpoints/gpt.pt
    python bench.py tts --preset cpu           # ... of an untrained model (speed needs no training)
    python bench.py tts --device cuda --preset gpu

`tts` generates exactly --seconds of speech codes at batch 1 with the KV cache (so that every model and
machine is timed on the same amount of work), decodes them with the codec, and reports the real-time
factor (compute seconds per second of audio; below 1 is faster than real time). Streaming: the time from
the call to the first decoded chunk, with infer.py's StreamDecoder defaults.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from infer import DEFAULT_GPT, TTS, StreamDecoder, TTSError
from model.gpt import GPT, PRESETS, GPTConfig
from model.sequence import TEXT_VOCAB_SIZE, build_example, encode_text
from tokenizer.codec import Codec
from train_common import pick_device

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
    sampling = dict(temperature=0.8, top_k=50, top_p=0.9, ras_window=10)

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

    with torch.inference_mode():
        total_s, wav = timed(speak, device, args.repeats)
        first_s, _ = timed(first_audio, device, args.repeats)
        generate_s, _ = timed(lambda: model.generate(prefix, max_new_tokens=n_codes, min_new_tokens=n_codes,
                                                     generator=torch.Generator(device).manual_seed(0),
                                                     **sampling), device, args.repeats)
    audio_s = len(wav) / codec.sample_rate
    print(f"tts: {what} ({model.num_parameters() / 1e6:.2f} M parameters) on {device}, "
          f"{torch.get_num_threads()} threads, batch 1, {n_codes} codes = {audio_s:.1f} s of audio, "
          f"median of {args.repeats}:")
    print(f"  generate            {generate_s:7.2f} s  {1000 * generate_s / n_codes:6.2f} ms/code")
    print(f"  generate + decode   {total_s:7.2f} s  real-time factor {total_s / audio_s:.3f}")
    print(f"  streaming: first audio after {1000 * first_s:.0f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["codec", "tts"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto, ...")
    parser.add_argument("--codec", type=Path, default=None, help="codec (default: checkpoints/codec.pt)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_GPT, help="GPT model.pt for tts")
    parser.add_argument("--preset", choices=list(PRESETS), default=None,
                        help="time an untrained model of this size instead of --checkpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the median is printed)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    try:
        (bench_codec if args.what == "codec" else bench_tts)(args, device)
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
