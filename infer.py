"""
Speak text with the TTS GPT (model/gpt.py) and the speech codec (tokenizer/codec.py).

    python infer.py --text "Hello there." --out out/hello.wav               # the shipped demo model
    python infer.py --text "Hello there." --speaker slt --out out/slt.wav
    python infer.py --text_file lines.txt --out_dir out/lines               # out/lines/001.wav, 002.wav, ...
    python infer.py --text "Read this in my voice." --prompt_wav me.wav --prompt_text "What I say in me.wav."
    python infer.py --text "A long story. In two sentences." --stream --out out/story.wav

    from infer import TTS
    tts = TTS.load()                                    # checkpoints/gpt.pt and the codec it was trained with
    wav, sample_rate = tts("Hello there.", speaker="slt")
    for chunk in tts.stream("Hello there."): ...        # float tensors, as the tokens arrive

How a text is spoken: normalise it (tokenizer/text.py) and cut it into parts ending with . ? or !; lay
each out as [START] [speaker] text [SPEECH_START] (model/sequence.py), after a voice prompt to clone one;
let the GPT continue it with speech codes until it predicts END (GPT.generate_stream); decode them with
the codec, at once or as they arrive (tokenizer/streaming.py). --best_of and --batch_size: model/batched.py.
"""
import argparse
import math
import re
import sys
import time
from pathlib import Path

import torch

from dataset.audio import AudioError, keep_freed_memory, load_audio, save_audio, save_audio_stream
from dataset.encode_corpus import load_codec_of
from model.batched import best_try, sample_rows
from model.checkpoint import CheckpointError, load_gpt
from model.sampling import check_sampling
from model.sequence import TEXT_VOCAB_SIZE, build_example, spoken_ids
from tokenizer.streaming import StreamDecoder
from tokenizer.text import end_sentence, normalize, split_text
from train_common import DeviceError, pick_device

DEFAULT_GPT = Path(__file__).resolve().parent / "checkpoints" / "gpt.pt"
DEFAULT_SPEECH_PER_BYTE = (2.8, 5.1)  # codes per byte (1st, 99th percentile) for a checkpoint too old to say
GUIDED_CFG_SCALE = 1.5  # for a model trained with text dropout; scales near it speak alike (lab/README.md)
MAX_PROMPT_SECONDS = 12.0  # a prompt's codes share max_seq_len with the text and the speech to come
CANDIDATE_SEED_STEP = 1000  # best_of: try k of part i samples with seed + i + k * this; try 0 is one try's


class TTSError(Exception):
    """A problem with the input or the checkpoints, explained in one line."""


class TTS:
    """A GPT and the codec its training codes came from, and everything needed to speak with them."""

    def __init__(self, model, codec, speaker_map, speech_per_byte=DEFAULT_SPEECH_PER_BYTE, text_dropout=0.0):
        self.model, self.codec = model.eval(), codec.eval()
        self.text_dropout = text_dropout  # > 0: the model also learned to speak without text, so it can be guided
        self.cfg_scale = GUIDED_CFG_SCALE if text_dropout else 1.0
        self.speaker_map, self.speakers, self.speech_per_byte = speaker_map, list(speaker_map), tuple(speech_per_byte)
        self.sample_rate, self.device = codec.sample_rate, codec.codebook_device
        # A second of codes beyond the length bound: the silence around the words, which a short text lacks
        self.pad_codes = round(codec.tokens_per_second)

    @classmethod
    def load(cls, checkpoint=None, codec=None, device="cpu"):
        """checkpoint: a model.pt of train_pretrain.py / train_sft.py (default: the shipped one);
        codec: the codec file (default: the one the model's training codes name, checked by hash)."""
        try:
            model, saved = load_gpt(Path(checkpoint or DEFAULT_GPT))
            info = dict(saved["codes_info"], codebook_size=model.cfg.speech_vocab_size)
            codec, codec_path = load_codec_of(info, codec, device)
        except (CheckpointError, FileNotFoundError, ValueError) as e:
            raise TTSError(str(e)) from None
        tts = cls(model.to(device), codec, saved["speaker_map"],
                  saved.get("speech_per_byte", DEFAULT_SPEECH_PER_BYTE), saved.get("text_dropout", 0.0))
        tts.checkpoint, tts.codec_path = Path(checkpoint or DEFAULT_GPT), codec_path  # what spoke, for reports
        return tts

    def prompt(self, wav_path, text):
        """(prompt text ids, prompt codes) for cloning the voice of wav_path, whose transcript is text."""
        text = normalize(text or "")  # ends as a sentence does: its last word and the text's first stay apart
        if not re.search(r"\w", text):
            raise TTSError("a voice prompt needs its transcript: pass --prompt_text with what is said in it")
        try:  # a long file is never decoded
            wav = load_audio(wav_path, self.sample_rate, max_seconds=MAX_PROMPT_SECONDS)
        except AudioError as e:
            raise TTSError(f"prompt: {e}; give 0.5 to {MAX_PROMPT_SECONDS:g} s of speech with its transcript") from None
        short = len(wav) < 0.5 * self.sample_rate
        if short or wav.abs().max() < 1e-3:
            raise TTSError(f"prompt {wav_path} is {'shorter than 0.5 s' if short else 'silent'}: a voice prompt "
                           "must hold speech")
        return spoken_ids(text), self.codec.encode(wav.to(self.device)).tolist()

    def prepare(self, text, speaker, prompt, max_chars):
        """(prefix ids (1, T0) per part, the parts' texts) for a text, checked: a TTSError says what is
        wrong with the text, the voice or the prompt before any speaking starts."""
        if speaker is not None and prompt is not None:
            raise TTSError("give a speaker or a voice prompt, not both (the model learned them apart)")
        if speaker is None and prompt is None:
            if not self.speakers:
                raise TTSError("this model knows no voice by name: give a voice prompt")
            speaker = self.speakers[0]
        if speaker is not None and speaker not in self.speaker_map:
            raise TTSError(f"unknown speaker {speaker!r}; this model knows {', '.join(self.speakers)}")
        if len(text) > max_chars:
            raise TTSError(f"text of {len(text):,} characters is longer than {max_chars:,}: split it "
                           f"(--text_file speaks one line per file) or raise --max_chars")
        spoken = normalize(text)
        if not re.search(r"\w", spoken):
            raise TTSError("nothing to say: the text has no words once normalised")
        prompt_text, prompt_codes = prompt or ([], [])
        # Room for the text once the prompt and the longest speech it may need are in max_seq_len.
        room = self.model.cfg.max_seq_len - 3 - len(prompt_text) - len(prompt_codes)
        max_bytes = min(200, int((room - self.pad_codes) / (1 + 1.5 * self.speech_per_byte[1])))
        if max_bytes < 20:
            raise TTSError("the voice prompt leaves no room for text: use a shorter prompt" if prompt else
                           f"a context of {self.model.cfg.max_seq_len} tokens leaves no room for text and speech")
        # Each part ends with its mark (a byte kept for it), as training texts did: without it the model runs on
        parts = [end_sentence(part) for part in split_text(spoken, max_bytes - 1)]
        speaker = None if speaker is None else self.speaker_map[speaker]
        prefixes = [build_example(spoken_ids(part), [], TEXT_VOCAB_SIZE, speaker=speaker, prompt_text_ids=prompt_text,
                                  prompt_codes=prompt_codes, speech_vocab_size=self.codec.codebook_size)[0]
                    for part in parts]
        return [ids[None].to(self.device) for ids in prefixes], parts

    def max_codes(self, prefix, part):
        """The most codes one part may take (1.5 x the fastest rate seen in training, or what max_seq_len
        leaves after the prefix): a try this long was stopped."""
        n_bytes = len(part.encode())
        return min(math.ceil(1.5 * self.speech_per_byte[1] * n_bytes) + self.pad_codes,
                   self.model.cfg.max_seq_len - prefix.shape[1] + 1)

    def min_codes(self, part):  # END is forbidden before this many codes: 0.75 x the slowest rate
        return int(0.75 * self.speech_per_byte[0] * len(part.encode()))

    def sampling(self, temperature=0.5, top_k=50, top_p=0.9, ras=True, cfg_scale=None, **checked):
        """generate_stream's settings, checked (with best_of, seed, batch_size); None: the model's guidance.
        RAS allows a code 3 times in the last 10: rare in real speech codes, and nearly always in pauses."""
        try:
            check_sampling(temperature, top_k, top_p, cfg_scale, **checked)
        except ValueError as e:
            raise TTSError(str(e)) from None
        return dict(temperature=temperature, top_k=top_k, top_p=top_p, ras_window=10 if ras else 0,
                    cfg_scale=self.cfg_scale if cfg_scale is None else cfg_scale)

    def part_codes(self, prefix, part, seed, sampling):
        """Speech codes of one part, yielded as they are sampled (GPT.generate_stream)."""
        yield from self.model.generate_stream(prefix, self.max_codes(prefix, part), min_new_tokens=self.min_codes(part),
                                              generator=torch.Generator(self.device).manual_seed(seed), **sampling)

    def stream(self, text, speaker=None, prompt=None, seed=0, pause=0.25, max_chars=5000, **sampling):
        """Yield float tensors of samples as soon as they are decoded: what __call__ speaks, in pieces.
        prompt: a tts.prompt(...) result; sampling: TTS.sampling's arguments."""
        sampling = self.sampling(**sampling, seed=seed)
        prefixes, parts = self.prepare(text, speaker, prompt, max_chars)
        for i, (prefix, part) in enumerate(zip(prefixes, parts)):
            if i:
                yield torch.zeros(int(pause * self.sample_rate))
            decoder = StreamDecoder(self.codec)
            for code in self.part_codes(prefix, part, seed + i, sampling):
                samples = decoder.push(code)
                if len(samples):
                    yield samples
            yield decoder.flush()

    def codes(self, text, **options):
        """-> [(codes, cut)], one pair per part of the text: the speech codes it speaks (a list) and whether
        the length bound stopped them (the model did not end the part). options: codes_many's."""
        return self.codes_many([text], **options)[0]

    def codes_many(self, texts, speaker=None, prompt=None, seed=0, max_chars=5000, best_of=1, batch_size=8,
                   **sampling):
        """TTS.codes of several texts, each spoken as it would be alone: -> one [(codes, cut)] per text. best_of
        N: each part is sampled N times and the try the model scores highest is kept. One try at a time goes
        through GPT.generate_stream; batch_size of them side by side through model/batched.py (the same
        codes, but for a rare sample that a padded row's float rounding tips)."""
        sampling = self.sampling(**sampling, best_of=best_of, seed=seed, batch_size=batch_size)
        prepared = [self.prepare(text, speaker, prompt, max_chars) for text in texts]  # [(prefixes, parts)]
        tries = [(prefix, part, seed + i + k * CANDIDATE_SEED_STEP) for prefixes, parts in prepared
                 for i, (prefix, part) in enumerate(zip(prefixes, parts)) for k in range(best_of)]
        if best_of == 1 and (batch_size == 1 or len(tries) == 1):  # one try at a time: GPT.generate_stream
            spoken = [(list(self.part_codes(prefix, part, seed, sampling)), self.max_codes(prefix, part))
                      for prefix, part, seed in tries]
            sampled = iter([(codes, len(codes) >= most) for codes, most in spoken])  # cut: stopped at the bound
        else:  # side by side, batch_size at a time
            rows = [(prefix, self.max_codes(prefix, part), self.min_codes(part), seed) for prefix, part, seed in tries]
            sampled = iter(sample_rows(self.model, rows, sampling, batch_size))
        return [[best_try(self.model, prefix, [next(sampled) for _ in range(best_of)]) for prefix in prefixes]
                for prefixes, _ in prepared]

    def render(self, parts, pause=0.25):
        """Decode the parts TTS.codes returned and join them with `pause` seconds of silence."""
        pieces = [self.codec.decode(torch.tensor(codes)).cpu() if codes else torch.zeros(0) for codes, _ in parts]
        silence = torch.zeros(int(pause * self.sample_rate))
        return torch.cat([piece for i, wav in enumerate(pieces) for piece in ([silence, wav] if i else [wav])])

    def __call__(self, text, pause=0.25, **options):
        """-> (waveform (T,) float tensor, sample rate); options: TTS.codes'."""
        return self.render(self.codes(text, **options), pause), self.sample_rate


def read_jobs(args):
    """[(text, output path, where for errors)] from --text or --text_file."""
    if args.prompt_text and not args.prompt_wav:
        raise TTSError("--prompt_text goes with --prompt_wav (the recording it transcribes)")
    if args.stream and args.best_of > 1:
        raise TTSError("--best_of chooses among whole candidates, so it cannot stream: drop one of them")
    if args.text_file is None:
        allowed = (".wav", ".flac") if args.stream else (".wav", ".flac", ".ogg")
        if args.out.suffix.lower() not in allowed or args.out.is_dir():
            raise TTSError(f"{args.out}: the output must end in {' or '.join(allowed)}")
        return [(args.text, args.out, "")]
    try:
        lines = [line.strip() for line in args.text_file.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise TTSError(f"cannot read {args.text_file}: {e}") from None
    jobs = [(text, args.out_dir / f"{i:03d}.wav", f"{args.text_file} line {i}: ") for i, text in enumerate(lines, 1)
            if text]
    if not jobs:
        raise TTSError(f"{args.text_file} has no text")
    return jobs


def speak(tts, chunk, args, options):
    """Speak one chunk of jobs (one to stream, or up to --batch_size side by side), write their files,
    and print a line: where, how much audio, how fast."""
    start, written = time.perf_counter(), []  # [(path, seconds of audio, note)]
    if args.stream:
        (text, out, _), = chunk
        out.parent.mkdir(parents=True, exist_ok=True)
        first, n = save_audio_stream(out, tts.stream(text, **options), tts.sample_rate)
        note = f", first audio after {1000 * first:.0f} ms" if first is not None else ""
        written.append((out, n / tts.sample_rate, note))
    else:
        spoken = tts.codes_many([t for t, _, _ in chunk], **options, best_of=args.best_of, batch_size=args.batch_size)
        for (_, out, _), parts in zip(chunk, spoken):
            wav, cut = tts.render(parts), sum(cut for _, cut in parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            save_audio(out, wav, tts.sample_rate)
            written.append((out, len(wav) / tts.sample_rate, f"; {cut} of {len(parts)} part(s) did not end by "
                            "themselves and were stopped at the length bound (another --seed may end)" if cut else ""))
    seconds, audio = time.perf_counter() - start, sum(s for _, s, _ in written)
    for out, audio_seconds, note in written if len(written) > 1 else []:  # the time is the chunk's, below
        print(f"{out}: {audio_seconds:.2f} s of audio{note}")
    what, note = (written[0][0], written[0][2]) if len(written) == 1 else (f"{len(written)} files side by side", "")
    print(f"{what}: {audio:.2f} s of audio in {seconds:.2f} s, real-time factor "
          f"{seconds / audio if audio else float('inf'):.3f}{note}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="what to say")
    what.add_argument("--text_file", type=Path, help="a UTF-8 file: one utterance per line, numbered wavs")
    add = parser.add_argument
    add("--out", type=Path, default=Path("out/tts.wav"), help="output wav for --text")
    add("--out_dir", type=Path, default=Path("out/tts"), help="output folder for --text_file")
    add("--speaker", default=None, help="a voice the model trained on; None: its first")
    add("--prompt_wav", type=Path, default=None, help=f"clone this voice: 0.5 to {MAX_PROMPT_SECONDS:g} s of speech")
    add("--prompt_text", default=None, help="the transcript of --prompt_wav")
    add("--temperature", type=float, default=0.5, help="0: greedy; more: more varied")
    add("--top_k", type=int, default=50, help="sample among the k likeliest codes only")
    add("--top_p", type=float, default=0.9, help="sample among the likeliest codes holding this much probability")
    add("--no_ras", action="store_true", help="turn off repetition-aware sampling")
    add("--cfg_scale", type=float, default=None, help=f"guidance, 1: none; None: {GUIDED_CFG_SCALE:g} if the model can")
    add("--best_of", type=int, default=1, help="sample each part N times, keep the try the model finds likeliest")
    add("--batch_size", type=int, default=8, help="tries (parts, lines, --best_of's) sampled side by side, for speed")
    add("--stream", action="store_true", help="decode and write audio as tokens arrive")
    add("--seed", type=int, default=0, help="part i of a text samples with seed + i")
    add("--max_chars", type=int, default=5000, help="longest text accepted")
    add("--checkpoint", type=Path, default=DEFAULT_GPT, help="GPT model.pt")
    add("--codec", type=Path, default=None, help="codec; None: the one the GPT names")
    add("--device", default="cpu", help="cpu, cuda, cuda:1, auto")
    args = parser.parse_args(argv)
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with
    try:
        jobs = read_jobs(args)
        tts = TTS.load(args.checkpoint, args.codec, pick_device(args.device))
        if args.cfg_scale not in (None, 1) and not tts.text_dropout:
            print(f"note: {args.checkpoint} never trained without text (train_pretrain.py --text_dropout), "
                  f"so --cfg_scale {args.cfg_scale:g} guides it with a prediction it never learned", file=sys.stderr)
        options = dict(speaker=args.speaker, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       ras=not args.no_ras, cfg_scale=args.cfg_scale, seed=args.seed, max_chars=args.max_chars)
        tts.sampling(args.temperature, args.top_k, args.top_p, cfg_scale=args.cfg_scale, seed=args.seed,
                     best_of=args.best_of, batch_size=args.batch_size)  # bad settings: one line, before any work
        options["prompt"] = tts.prompt(args.prompt_wav, args.prompt_text) if args.prompt_wav else None
        for text, _, where in jobs:  # check every line before speaking any
            try:
                tts.prepare(text, args.speaker, options["prompt"], args.max_chars)
            except TTSError as e:
                raise TTSError(f"{where}{e}") from None
        size = 1 if args.stream else args.batch_size  # lines of --text_file spoken side by side
        for i in range(0, len(jobs), size):
            speak(tts, jobs[i:i + size], args, options)
    except (TTSError, DeviceError, OSError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
