"""
Evaluate the project's models with numbers a listener cares about, on audio the model never trained on.

    python lab/eval.py codec                                   # demo test split through checkpoints/codec.pt
    python lab/eval.py codec --asr                             # ... plus word error rates (pocketsphinx)
    python lab/eval.py codec --codec out/codec/codec.pt --speakers slt --limit 20 --asr
    python lab/eval.py codec --wav_dir my_recordings --out_dir out/eval_mine
    python lab/eval.py tts --out_dir out/eval_tts --asr --limit 40     # demo test split, every voice
    python lab/eval.py tts --sentences lines.txt --ref_dir originals --out_dir out/eval_lines --speaker slt --asr
    python lab/eval.py tts --out_dir out/eval_clone --clone --asr      # voices from prompts, not speaker tokens
    python lab/eval.py tts --split val --form lower_bare --asr --out_dir out/eval_bare   # typed as people type
    python lab/eval.py text                                    # how much checkpoints/gpt.pt reads its text
    python lab/eval.py compare out/eval_a out/eval_b           # is B's WER really lower than A's?
    python lab/eval.py words out/eval_tts                      # missed words: rarely heard ones? late ones?
    python lab/eval.py phones --codec out/codec/codec.pt       # how much of the phone a codec's codes carry

`codec` sends every utterance through encode -> decode, writes the resynthesis to --out_dir (so you can
listen to it), prints a table per speaker and saves everything in --out_dir/report.json:

- mel distance   mean L1 between log-mel spectrograms of resynthesis and original at three STFT
                 resolutions: the codec's training loss, unweighted (0 = identical spectra).
- STOI           short-time objective intelligibility (0..1, needs pystoi): how well the band envelopes
                 of the resynthesis follow the original's over ~400 ms windows.
- codebook use   distinct codes seen / codebook size, and the perplexity exp(entropy) of the code
                 histogram: the number of equally used codes that would carry the same information.
- WER (--asr)    an independent recogniser (pocketsphinx, bundled US English model) transcribes the
                 original and the resynthesis. Its own errors on Festival's robotic voices are not small
                 (0.13-0.22 on the demo originals), so the ratio WER(resynthesis) / WER(original) is the
                 number to watch: 1 means the codec lost no intelligibility the recogniser can detect.
                 The character error rate (CER) of the same transcripts is reported beside it: it
                 credits a word heard with one wrong sound, so it moves before the WER does.

The reference is peak-normalised exactly as the codec normalises its input, so a level difference is
never counted as an error. The helpers (word_error_rate, character_error_rate, Recognizer, stoi_score) are
importable.

`text` asks whether the GPT reads its text at all, long before it speaks intelligibly: the loss per speech
token of held-out utterances (teacher-forced, as in training) with their own text, with the text of
another utterance of the same voice, and with no text. A model that only continues speech scores the
same with any text; the gap "other - own" is what the text is worth to it, in nats per speech token.

`compare` takes two reports of `codec --asr` or `tts --asr` runs over the same sentences and says whether
their WER ratios differ by more than the choice of sentences explains: a paired bootstrap (Bisani and
Ney, 2004) draws the sentences again with replacement many times, recomputes both systems' ratios on
each draw, and reports the middle 95 % of the differences. An interval that holds 0 means these
sentences cannot tell the two apart.

`phones` asks how much a codec's tokens say about the phone being spoken, with the frame labels of
dataset/phone_labels.py: it encodes labelled utterances, counts (code, phone) pairs on train utterances
(--fit_limit per voice) and scores the frames of a held-out split: the conditional entropy H(phone | code)
in bits (add-one smoothed counts; against H(phone), the entropy of the phones themselves), and the
share of frames whose phone is the one their code was most often seen with (against the commonest phone's
share). Tokens that carry the phone leave a GPT less to guess.

`words` takes one such report and asks where the missed words are: it groups the reference words by how
often they occur in the training texts (the train split of an encoded corpus) and prints, per group,
the share the system missed beside the share the originals missed.
"""
import argparse
import importlib
import json
import math
import os
import re
import shlex
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.audio import (AUDIO_EXTENSIONS, SAMPLE_RATE, AudioError, audio_info, keep_freed_memory, load_audio,
                           save_audio)
from dataset.files import write_atomic
from dataset.readers import DEMO_DIR, Corpus, CorpusError, Utterance, read_corpus, read_demo
from dataset.speech_tokens import DataError, check_same_codec
from model.checkpoint import CheckpointError, load_gpt
from model.sampling import check_sampling
from tokenizer.codec import DEFAULT_CHECKPOINT, Codec, peak_normalize
from tokenizer.discriminators import MultiScaleMelLoss
from tokenizer.text import normalize
from train_common import DeviceError, pick_device

EXTRA = "pip install -r requirements-extra.txt"


def import_extra(name):
    """Import an optional package (requirements-extra.txt), or fail with one line saying how to get it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"{name} is not installed: {EXTRA}") from None


# -----------------------------------------------------------------------------------------------------
# Word error rate


def normalize_for_wer(text):
    """
    Text -> list of lower-case words, for comparing a transcript with a recogniser's output.

    The project's normaliser spells out numbers, money and abbreviations first ("$5" and "five dollars"
    must count as the same words), then every character that is not a letter or digit separates words,
    except an apostrophe inside a word ("don't" stays one word, "'quoted'" loses its quotes).
    """
    return re.findall(r"[^\W_]+(?:'[^\W_]+)*", normalize(text).lower())


def word_edits(reference, hypothesis):
    """
    Levenshtein distance between two word lists: the fewest substitutions, deletions (a reference word
    missing from the hypothesis) and insertions (an extra hypothesis word) that turn one into the other.

    Dynamic programming: let d[i][j] be the distance between the first i reference words and the first
    j hypothesis words. Then d[i][0] = i (delete them all), d[0][j] = j (insert them all), and
        d[i][j] = min(d[i-1][j] + 1,                                  # delete reference word i
                      d[i][j-1] + 1,                                  # insert hypothesis word j
                      d[i-1][j-1] + (reference[i-1] != hypothesis[j-1]))  # match or substitute
    because the cheapest alignment of the two prefixes must end in one of those three moves. Row i only
    needs row i - 1, so two rows of length len(hypothesis) + 1 are kept: O(len(ref) * len(hyp)) time.
    """
    previous = list(range(len(hypothesis) + 1))  # d[0][j]
    for i, ref_word in enumerate(reference, start=1):
        current = [i]  # d[i][0]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


def error_rate(references, hypotheses, units):
    """
    Corpus-level error rate of hypotheses against references (lists of strings, or two strings):
    total edits / total reference units, where units(text) splits a text into what is counted. Summing
    before dividing weights every unit equally, where averaging per-utterance rates would let short
    sentences dominate. Can exceed 1 when the hypotheses hold many insertions.
    """
    if isinstance(references, str):
        references, hypotheses = [references], [hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    edits = n_units = 0
    for reference, hypothesis in zip(references, hypotheses):
        reference = units(reference)
        edits += word_edits(reference, units(hypothesis))
        n_units += len(reference)
    if n_units == 0:
        raise ValueError("an error rate needs a reference with at least one word")
    return edits / n_units


def word_error_rate(references, hypotheses):
    """WER: word edits over the words of normalize_for_wer."""
    return error_rate(references, hypotheses, normalize_for_wer)


def character_error_rate(references, hypotheses):
    """
    CER: the same edit distance over characters (letters, digits, apostrophes and one space between
    words, after normalize_for_wer). A word with one wrong sound costs a whole word in the WER and one or
    two characters here, so the CER shows a model that is learning to pronounce before the WER moves.
    """
    return error_rate(references, hypotheses, lambda text: " ".join(normalize_for_wer(text)))


# -----------------------------------------------------------------------------------------------------
# Judges from the extras: a speech recogniser and STOI


class Recognizer:
    """
    Speech to text with pocketsphinx and the US English acoustic model, language model and dictionary
    it bundles. It knows nothing of this project, which is what makes it a fair judge of intelligibility.
    Building the decoder loads the models (about a third of a second), so make one and reuse it.

        recognizer = Recognizer()
        recognizer.transcribe(wav)  # wav (T,) float in [-1, 1] at 16 kHz -> 'lower case words'
    """

    def __init__(self):
        self.decoder = import_extra("pocketsphinx").Decoder(samprate=SAMPLE_RATE)

    def transcribe(self, wav):
        samples = (torch.as_tensor(wav, dtype=torch.float32).clamp(-1, 1) * 32767).round().short()  # (T,)
        # The front end's noise removal carries its noise-floor estimate from one utterance to the next,
        # so without a reset a transcript depends on what this decoder heard before (3-7 of 60 demo
        # sentences changed). Resetting makes it equal a fresh decoder's, at no measurable cost.
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(samples.numpy().tobytes(), full_utt=True)  # all at once: one batch CMN
        self.decoder.end_utt()
        hypothesis = self.decoder.hyp()  # None when it heard no word at all
        return hypothesis.hypstr if hypothesis is not None else ""


def stoi_score(reference, degraded, sample_rate):
    """STOI (0..1) of `degraded` against `reference`, waveforms (T,) at `sample_rate`, trimmed to the
    shorter one (STOI compares them frame by frame, so they must be aligned and of equal length)."""
    stoi = import_extra("pystoi").stoi
    n_samples = min(len(reference), len(degraded))
    reference = torch.as_tensor(reference)[:n_samples].double().numpy()
    degraded = torch.as_tensor(degraded)[:n_samples].double().numpy()
    return float(stoi(reference, degraded, sample_rate, extended=False))


# pocketsphinx runs on one core and is the slow part of an evaluation (about 0.2 s per second of audio),
# so recognition runs in worker processes, each with its own decoder, while the codec keeps working.
# Workers get file paths, not waveforms: a long queue of pending files then costs no memory.
_worker_recognizer = None


def _start_worker():
    global _worker_recognizer
    torch.set_num_threads(1)  # a worker only reads and resamples files; leave the cores to the decoders
    _worker_recognizer = Recognizer()


def transcribe_file(path):
    """What the recogniser hears in an audio file (any rate), peak-normalised like the codec's input."""
    return _worker_recognizer.transcribe(peak_normalize(load_audio(path, SAMPLE_RATE)))


def recognizer_pool(n_workers):
    """Worker processes with one Recognizer each: pool.submit(transcribe_file, path) -> future text.
    'spawn' starts clean interpreters: forking a process whose torch thread pool is running can hang."""
    import_extra("pocketsphinx")  # fail here, with one line, rather than inside a worker
    return ProcessPoolExecutor(n_workers, mp_context=get_context("spawn"), initializer=_start_worker)


def available_cores():
    """Cores this process may use: a container or taskset may allow fewer than the machine has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# -----------------------------------------------------------------------------------------------------
# Reports


def format_table(rows, columns):
    """A plain-text table: rows are dicts, columns (header, key, format spec); None prints as n/a."""
    cells = [[header for header, _, _ in columns]]
    cells += [["n/a" if row.get(key) is None else format(row[key], spec) for _, key, spec in columns]
              for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(width) if i else cell.ljust(width)
                       for i, (cell, width) in enumerate(zip(line, widths))) for line in cells]
    return "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])


def write_json(path, obj):
    """Write JSON atomically (dataset/files.py): no half-written report survives."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8"))


def mean(values):
    return sum(values) / len(values) if values else None


# -----------------------------------------------------------------------------------------------------
# lab/eval.py codec


def read_wav_dir(folder):
    """Every wav/flac/ogg file directly in `folder` as an Utterance of speaker 'all', its text from the
    `x.txt` beside it (empty when there is none). Returns a Corpus; unreadable files are in .skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder")
    corpus, outputs = Corpus(f"folder ({folder})"), {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()):
        if path.stem in outputs:  # x.wav and x.flac would both resynthesise to x.wav
            corpus.skipped.append(f"{path}: same name as {outputs[path.stem].name}, skipped")
            continue
        try:
            sample_rate, n_samples = audio_info(path)
        except AudioError as e:
            corpus.skipped.append(str(e))
            continue
        text, transcript = "", path.with_suffix(".txt")
        if transcript.is_file():
            try:
                text = " ".join(transcript.read_text(encoding="utf-8").split())
            except UnicodeDecodeError:
                corpus.skipped.append(f"{transcript}: transcript is not UTF-8, ignored")
        outputs[path.stem] = path
        corpus.utterances.append(Utterance(path, text, "all", n_samples / sample_rate, path.stem, "test"))
    if not corpus.utterances:
        reason = f" ({len(corpus.skipped)} unreadable, first: {corpus.skipped[0]})" if corpus.skipped else ""
        raise CorpusError(f"{folder}: no wav, flac or ogg files to evaluate{reason}")
    return corpus


def make_out_dir(path):
    """--out_dir, made before any work starts, or a one-line error (a file of that name, no permission)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        sys.exit(f"error: --out_dir {path}: {e.strerror or e}")


def select_utterances(args):
    """The utterances to evaluate, as a Corpus: --wav_dir, or --data filtered by split and speakers."""
    splits = None if args.split == "all" else [args.split]
    if args.wav_dir is not None:
        if args.wav_dir.resolve() == args.out_dir.resolve():
            raise CorpusError("--out_dir must differ from --wav_dir, or the originals would be overwritten")
        if args.speakers:
            raise CorpusError("--speakers picks voices of --data; the files of a --wav_dir have none")
        corpus = read_wav_dir(args.wav_dir)
    elif args.data == "demo":
        corpus = read_demo(DEMO_DIR, splits=splits, speakers=args.speakers)
    else:
        corpus = read_corpus(args.data)
        found = ", ".join(sorted({u.split for u in corpus}))
        corpus.utterances = [u for u in corpus if (splits is None or u.split in splits)
                             and (not args.speakers or u.speaker in args.speakers)]
        if not corpus.utterances:
            raise CorpusError(f"{args.data}: no utterances of split {args.split!r} and speakers "
                              f"{args.speakers or 'any'} (splits here: {found}; try --split all)")
    if args.limit:  # the first N of each speaker, so every voice weighs the same in the "all" row
        per_speaker = Counter()
        kept = []
        for u in corpus:
            per_speaker[u.speaker] += 1
            if per_speaker[u.speaker] <= args.limit:
                kept.append(u)
        corpus.utterances = kept
    return corpus


def summarize(records, codebook_size):
    """One table row from per-utterance records: averages over utterances, code statistics over all the
    codes of the group, and corpus-level WERs over the utterances that have a transcript."""
    counts = torch.bincount(torch.cat([r["codes"] for r in records]), minlength=codebook_size).double()
    p = counts[counts > 0] / counts.sum()  # (used codes,) how often each code occurs
    heard = [r for r in records if r.get("heard_resynthesis") is not None]
    row = dict(utterances=len(records), seconds=sum(r["seconds"] for r in records),
               mel_distance=mean([r["mel_distance"] for r in records]),
               stoi=mean([r["stoi"] for r in records if r["stoi"] is not None]),
               codes_used=int((counts > 0).sum()), codebook_usage=(counts > 0).float().mean().item(),
               codes_perplexity=math.exp(-(p * p.log()).sum().item()),
               cer_original=None, cer_resynthesis=None,
               wer_original=None, wer_resynthesis=None, wer_ratio=None)
    if heard:
        references = [r["text"] for r in heard]
        row["cer_original"] = character_error_rate(references, [r["heard_original"] for r in heard])
        row["cer_resynthesis"] = character_error_rate(references, [r["heard_resynthesis"] for r in heard])
        row["wer_original"] = word_error_rate(references, [r["heard_original"] for r in heard])
        row["wer_resynthesis"] = word_error_rate(references, [r["heard_resynthesis"] for r in heard])
        if row["wer_original"] > 0:  # perfect originals leave the ratio undefined: n/a
            row["wer_ratio"] = row["wer_resynthesis"] / row["wer_original"]
    return row


def evaluate_codec(args):
    start_time = time.perf_counter()
    if args.asr_workers < 1 or (args.limit is not None and args.limit < 1):
        sys.exit("error: --asr_workers and --limit must be at least 1")
    try:
        device = pick_device(args.device)
    except DeviceError as e:
        sys.exit(f"error: {e}")
    codec_path = Path(args.codec or DEFAULT_CHECKPOINT)
    try:
        codec = Codec.load(codec_path, device)
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")
    except Exception as e:  # a truncated file, another model's checkpoint: name the file, in one line
        sys.exit(f"error: {codec_path}: cannot load a codec ({type(e).__name__}: {str(e).splitlines()[0]})")
    try:
        corpus = select_utterances(args)
    except CorpusError as e:
        sys.exit(f"error: {e}")
    make_out_dir(args.out_dir)
    notes = []
    try:
        import_extra("pystoi")
        has_stoi = True
    except ImportError as e:
        has_stoi = False
        notes.append(f"STOI unavailable: {e}")
    has_texts = any(normalize_for_wer(u.text) for u in corpus)
    if args.asr and not has_texts:
        notes.append("WER unavailable: no utterance has a transcript")
    try:
        pool = recognizer_pool(args.asr_workers) if args.asr and has_texts else None
    except ImportError as e:
        sys.exit(f"error: --asr needs pocketsphinx: {e}")
    if pool is not None:
        # Leave the recognisers their cores. Measured on 2 busy cores: torch's threads wait for each
        # other at every operation, so oversubscribed they made the codec 5-10 times slower, not 2.
        torch.set_num_threads(max(1, available_cores() - args.asr_workers))
    print(f"{corpus.name}: {len(corpus)} utterances; codec {codec_path} ({codec.codebook_size} codes, "
          f"{codec.tokens_per_second:.0f} tokens/s) on {device}")

    # Only the codec runs on `device`; the metrics are cheap and run on the CPU next to the files.
    mel_loss = MultiScaleMelLoss(codec.sample_rate)
    min_samples = max(mel.n_fft for mel in mel_loss.mels)  # reflect padding needs more than n_fft / 2
    skipped, records, pending = list(corpus.skipped), [], []  # pending: (record, key, future transcript)
    codec_seconds = 0.0
    try:
        for u in tqdm(corpus, desc="codec", unit="utt", dynamic_ncols=True):
            try:
                wav = load_audio(u.audio_path, codec.sample_rate)
            except AudioError as e:
                skipped.append(str(e))
                tqdm.write(f"skipping {e}")
                continue
            if len(wav) <= min_samples:
                skipped.append(f"{u.audio_path}: too short to evaluate ({len(wav)} samples)")
                continue
            reference = peak_normalize(wav)  # (T,) what the codec sees
            timer = time.perf_counter()
            codes = codec.encode(reference)  # (N,)
            resynthesis = codec.decode(codes)[: len(reference)].cpu()  # (N * hop,) -> (T,); waits for a GPU
            codec_seconds += time.perf_counter() - timer
            out_path = args.out_dir / (f"{u.id}.wav" if args.wav_dir else f"{u.speaker}/{u.id}.wav")
            out_path.parent.mkdir(parents=True, exist_ok=True)
            save_audio(out_path, resynthesis, codec.sample_rate)
            record = dict(speaker=u.speaker, id=u.id, file=str(out_path),
                          seconds=len(wav) / codec.sample_rate,
                          mel_distance=mel_loss.distances(resynthesis[None], reference[None]).mean().item(),
                          stoi=stoi_score(reference, resynthesis, codec.sample_rate) if has_stoi else None,
                          text=u.text, codes=codes.cpu())
            records.append(record)
            if pool is not None and normalize_for_wer(u.text):
                for key, path in (("heard_original", u.audio_path), ("heard_resynthesis", out_path)):
                    pending.append((record, key, pool.submit(transcribe_file, path)))
        for record, key, future in tqdm(pending, desc="asr", unit="wav", dynamic_ncols=True,
                                        disable=not pending):
            record[key] = future.result()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # on Ctrl-C, drop the queue instead of finishing it
    if not records:
        sys.exit(f"error: no audio could be evaluated ({len(skipped)} skipped, first: {skipped[0]})")

    speakers = sorted({r["speaker"] for r in records})
    metrics = {s: summarize([r for r in records if r["speaker"] == s], codec.codebook_size) for s in speakers}
    metrics["all"] = summarize(records, codec.codebook_size)
    seconds_audio, seconds_total = metrics["all"]["seconds"], time.perf_counter() - start_time
    write_json(args.out_dir / "report.json", dict(
        command=shlex.join(["python"] + sys.argv), codec=str(codec_path), device=str(device),
        input=str(args.wav_dir or args.data), split=None if args.wav_dir else args.split,
        codebook_size=codec.codebook_size, sample_rate=codec.sample_rate, metrics=metrics,
        timing=dict(seconds_total=seconds_total, seconds_codec=codec_seconds, seconds_audio=seconds_audio,
                    real_time_factor=codec_seconds / seconds_audio),
        notes=notes, skipped=skipped,
        utterances=[{k: v for k, v in r.items() if k != "codes"} for r in records]))

    if skipped:
        print(f"skipped {len(skipped)} files:\n" + "\n".join(f"  {line}" for line in skipped[:10]) +
              (f"\n  ... all of them in {args.out_dir / 'report.json'}" if len(skipped) > 10 else ""))
    for note in notes:
        print(note)
    print(f"resyntheses and report.json in {args.out_dir}; encode + decode took {codec_seconds:.1f} s for "
          f"{seconds_audio:.0f} s of audio (real-time factor {codec_seconds / seconds_audio:.3f}), "
          f"{seconds_total:.0f} s in all")
    columns = [("speaker", "name", ""), ("utts", "utterances", "d"), ("audio s", "seconds", ".0f"),
               ("mel dist", "mel_distance", ".3f"), ("STOI", "stoi", ".3f"),
               ("codes used", "codebook_usage", ".1%"), ("perplexity", "codes_perplexity", ".0f")]
    if args.asr:
        columns += [("CER orig", "cer_original", ".3f"), ("CER resyn", "cer_resynthesis", ".3f"),
                    ("WER orig", "wer_original", ".3f"), ("WER resyn", "wer_resynthesis", ".3f"),
                    ("ratio", "wer_ratio", ".2f")]
    rows = [dict(metrics[s], name=s) for s in speakers] if len(speakers) > 1 else []  # one: same as "all"
    print(format_table(rows + [dict(metrics["all"], name="all")], columns))


# -----------------------------------------------------------------------------------------------------
# lab/eval.py tts


def _middle_space(text, insert):
    """text with its middle space replaced by `insert` (a text without spaces is left as it is)."""
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return text
    middle = spaces[len(spaces) // 2]
    return text[:middle] + insert + text[middle + 1:]


def _bare(text):
    """The text without its final punctuation (and the spaces before it)."""
    return re.sub(r"[\s.?!,;:]+$", "", text)


# Ways people type a sentence, each made from its clean form (the corpus sentence), for `tts --form`:
# the TTS should speak them as it speaks the clean form, which the WER is scored against.
TYPED_FORMS = {
    "clean": lambda t: t,
    "lower_bare": lambda t: _bare(t).lower(),  # no capitals, no final punctuation
    "upper": str.upper,  # ALL CAPS
    "lower": str.lower,  # no capitals, punctuation kept
    "spaces": lambda t: re.sub(r" ", lambda m: ["  ", "\t", "   "][m.start() % 3], t),  # several spaces, tabs
    "line_break": lambda t: _middle_space(t, "\n"),  # a line break in the middle of the sentence
    "curly": lambda t: "\u201c" + t.replace("'", "\u2019") + "\u201d",  # curly quotes and apostrophes
    "trailing_comma": lambda t: _bare(t) + ",",
    "trailing_dash": lambda t: _bare(t) + " -",
    "ellipsis": lambda t: _bare(t) + "...",
    "emoji": lambda t: _middle_space(t, " \U0001F642 "),  # an emoji between two words
}


def tts_jobs(args, tts):
    """[(name, text, speaker or None, reference audio path or None)]: lines of --sentences (named 001,
    002, ... with references of the same names in --ref_dir), or the demo test split of each voice."""
    if args.sentences is not None:
        try:
            lines = args.sentences.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise CorpusError(f"cannot read {args.sentences}: {e}") from None
        jobs = []
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            ref = None
            if args.ref_dir is not None:
                ref = next((args.ref_dir / f"{i:03d}{ext}" for ext in AUDIO_EXTENSIONS
                            if (args.ref_dir / f"{i:03d}{ext}").is_file()), None)
            jobs.append((f"{i:03d}", line.strip(), args.speaker, ref))
        if not jobs:
            raise CorpusError(f"{args.sentences} has no sentences")
        return jobs[: args.limit]
    if args.speaker and args.speaker not in tts.speakers:
        raise CorpusError(f"unknown speaker {args.speaker!r}; this model knows {', '.join(tts.speakers)}")
    speakers = [args.speaker] if args.speaker else tts.speakers
    corpus = read_demo(DEMO_DIR, splits=[args.split], speakers=speakers)
    jobs = []
    for speaker in speakers:
        utterances = [u for u in corpus if u.speaker == speaker][: args.limit]
        jobs += [(f"{speaker}/{u.id}", u.text, speaker, u.audio_path) for u in utterances]
    if not jobs:
        raise CorpusError(f"no demo utterances of split {args.split!r} for {', '.join(speakers)}")
    return jobs


def evaluate_tts(args):
    from infer import TTS, TTSError  # infer.py imports this file's neighbours

    start_time = time.perf_counter()
    if args.asr_workers < 1 or (args.limit is not None and args.limit < 1):
        sys.exit("error: --asr_workers and --limit must be at least 1")
    if args.prompt_text and not args.prompt_wav:
        sys.exit("error: --prompt_text goes with --prompt_wav")
    if args.prompt_wav and args.speaker:
        sys.exit("error: give --speaker or --prompt_wav, not both (the model learned them apart)")
    if args.clone and (args.prompt_wav or args.sentences):
        sys.exit("error: --clone takes each demo voice's prompt from the corpus: "
                 "no --prompt_wav or --sentences")
    if args.ref_dir is not None and not args.ref_dir.is_dir():
        sys.exit(f"error: --ref_dir {args.ref_dir}: no such folder")
    try:
        device = pick_device(args.device)
        check_sampling(args.temperature, args.top_k, args.top_p, args.cfg_scale, args.best_of, args.seed)
        tts = TTS.load(args.checkpoint, args.codec, device)
        jobs = tts_jobs(args, tts)
        if args.sentences is not None:  # one voice speaks every line: a prompt's, or a named one
            # None for a model that knows no voice by name: TTS.prepare below says what to give instead
            voice = "prompt" if args.prompt_wav else (args.speaker or (tts.speakers or [None])[0])
            jobs = [(name, text, voice, ref) for name, text, _, ref in jobs]
        prompts = {}  # speaker of a job -> the prompt that gives its voice
        if args.prompt_wav:
            prompt = tts.prompt(args.prompt_wav, args.prompt_text)
            prompts = {speaker: prompt for _, _, speaker, _ in jobs}
        elif args.clone:  # a test utterance the run does not speak is each voice's prompt
            pool_ = read_demo(DEMO_DIR, splits=[args.split], speakers=sorted({s for _, _, s, _ in jobs}))
            for speaker in sorted({s for _, _, s, _ in jobs}):
                prompt_utt = [u for u in pool_ if u.speaker == speaker][-1]
                prompts[speaker] = tts.prompt(prompt_utt.audio_path, prompt_utt.text)
                jobs = [j for j in jobs if j[3] != prompt_utt.audio_path]
        for name, text, speaker, ref in jobs:  # every line checked before the long part starts
            try:
                voice = None if speaker in prompts else speaker
                tts.prepare(TYPED_FORMS[args.form](text), voice, prompts.get(speaker), args.max_chars)
                if ref is not None:
                    audio_info(ref)
            except (TTSError, AudioError) as e:
                raise TTSError(f"{name}: {e}") from None
    except (TTSError, CorpusError, DeviceError, ValueError) as e:  # ValueError: check_sampling's
        sys.exit(f"error: {e}")
    make_out_dir(args.out_dir)
    has_refs = any(ref is not None for *_, ref in jobs)
    try:
        pool = recognizer_pool(args.asr_workers) if args.asr else None
    except ImportError as e:
        sys.exit(f"error: --asr needs pocketsphinx: {e}")
    if pool is not None:
        torch.set_num_threads(max(1, available_cores() - args.asr_workers))
    voice = "prompt " + str(args.prompt_wav) if args.prompt_wav else ("prompts from the test split"
                                                                       if args.clone else "speaker tokens")
    cfg_scale = tts.cfg_scale if args.cfg_scale is None else args.cfg_scale
    typed = [TYPED_FORMS[args.form](text) for _, text, _, _ in jobs]
    # Sentences whose typed form normalises to the clean form's text: the model hears the same input.
    same_text = sum(normalize(t) == normalize(text) for t, (_, text, _, _) in zip(typed, jobs))
    if args.form != "clean":
        print(f"typed as {args.form}: {same_text} of {len(jobs)} sentences normalise to the text as written")
    print(f"{len(jobs)} sentences; model {tts.checkpoint}, voices by {voice}, "
          f"guidance {cfg_scale:g}{f', best of {args.best_of}' if args.best_of > 1 else ''}, on {device}")
    records, pending = [], []
    try:
        progress = tqdm(jobs, desc="tts", unit="utt", dynamic_ncols=True)
        for i, (name, text, speaker, ref) in enumerate(progress):
            timer = time.perf_counter()
            parts = tts.codes(typed[i], speaker=None if speaker in prompts else speaker,
                              prompt=prompts.get(speaker), temperature=args.temperature, top_k=args.top_k,
                              top_p=args.top_p, cfg_scale=args.cfg_scale, seed=args.seed + i,
                              max_chars=args.max_chars, best_of=args.best_of)
            wav, sample_rate = tts.render(parts), tts.sample_rate
            seconds = time.perf_counter() - timer
            out_path = args.out_dir / f"{name}.wav"
            out_path.parent.mkdir(parents=True, exist_ok=True)
            save_audio(out_path, wav, sample_rate)
            record = dict(speaker=speaker, name=name, text=text, typed=typed[i], file=str(out_path),
                          seconds=len(wav) / sample_rate, compute_seconds=seconds,
                          cut=sum(cut for _, cut in parts),  # parts the length bound stopped
                          reference=None if ref is None else str(ref),
                          reference_seconds=None if ref is None else audio_info(ref)[1] / audio_info(ref)[0])
            records.append(record)
            if pool is not None and normalize_for_wer(text):
                pending.append((record, "heard", pool.submit(transcribe_file, out_path)))
                if ref is not None:
                    pending.append((record, "heard_original", pool.submit(transcribe_file, ref)))
        for record, key, future in tqdm(pending, desc="asr", unit="wav", dynamic_ncols=True,
                                        disable=not pending):
            record[key] = future.result()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    def row(group):
        audio = sum(r["seconds"] for r in group)
        out = dict(utterances=len(group), seconds=audio,
                   rtf=sum(r["compute_seconds"] for r in group) / audio if audio else None,
                   mean_seconds=mean([r["seconds"] for r in group]),
                   # utterances with a part the model did not end: the length bound stopped it
                   cut=sum(r.get("cut", 0) > 0 for r in group),
                   duration_ratio=mean([r["seconds"] / r["reference_seconds"] for r in group
                                        if r["reference_seconds"]]),
                   cer=None, cer_original=None, wer=None, wer_original=None, wer_ratio=None)
        heard = [r for r in group if "heard" in r]
        with_ref = [r for r in heard if "heard_original" in r]
        scored = with_ref or heard  # with references, score the same utterances as the originals
        if scored:
            texts = [r["text"] for r in scored]
            out["wer"] = word_error_rate(texts, [r["heard"] for r in scored])
            out["cer"] = character_error_rate(texts, [r["heard"] for r in scored])
        if with_ref:
            out["wer_original"] = word_error_rate(texts, [r["heard_original"] for r in with_ref])
            out["cer_original"] = character_error_rate(texts, [r["heard_original"] for r in with_ref])
            if out["wer_original"] > 0:
                out["wer_ratio"] = out["wer"] / out["wer_original"]
        return out

    speakers = sorted({r["speaker"] for r in records})
    metrics = {s: row([r for r in records if r["speaker"] == s]) for s in speakers}
    metrics["all"] = row(records)
    seconds_total = time.perf_counter() - start_time
    write_json(args.out_dir / "report.json", dict(
        command=shlex.join(["python"] + sys.argv), checkpoint=str(tts.checkpoint), codec=str(tts.codec_path),
        device=str(device), form=args.form, form_same_text=same_text,
        voices=voice, sampling=dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                    cfg_scale=cfg_scale, seed=args.seed, best_of=args.best_of),
        metrics=metrics, seconds_total=seconds_total,
        utterances=records))
    print(f"speech and report.json in {args.out_dir}; {seconds_total:.0f} s in all")
    columns = [("voice", "name", ""), ("utts", "utterances", "d"), ("audio s", "seconds", ".0f"),
               ("mean s", "mean_seconds", ".2f"), ("cut", "cut", "d"), ("RTF", "rtf", ".3f")]
    if has_refs:
        columns.append(("dur/orig", "duration_ratio", ".2f"))
    if args.asr:
        columns += [("CER", "cer", ".3f"), ("WER", "wer", ".3f")]
        if has_refs:
            columns += [("CER orig", "cer_original", ".3f"), ("WER orig", "wer_original", ".3f"),
                        ("ratio", "wer_ratio", ".2f")]
    rows = [dict(metrics[s], name=s) for s in speakers] if len(speakers) > 1 else []
    print(format_table(rows + [dict(metrics["all"], name="all")], columns))


# -----------------------------------------------------------------------------------------------------
# lab/eval.py compare


def read_report(path):
    """The records of a report.json (or of the folder holding one) that were transcribed, as
    {(speaker, text, k): (words of the text, transcript, transcript of the original or None)}; k counts
    repeats of a sentence, so a sentence spoken twice pairs with its second saying in the other report."""
    path = Path(path)
    path = path / "report.json" if path.is_dir() else path
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        records = report["utterances"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a report.json of lab/eval.py ({type(e).__name__}: {e})") from None
    seen, out = Counter(), {}
    for r in records:
        heard = r.get("heard", r.get("heard_resynthesis"))
        words = normalize_for_wer(r.get("text") or "")
        if heard is None or not words:
            continue
        key = (r.get("speaker", "all"), r["text"])
        seen[key] += 1
        out[key + (seen[key],)] = (words, heard, r.get("heard_original"))
    if not out:
        raise ValueError(f"{path}: no transcribed sentences (run lab/eval.py with --asr)")
    return out


def paired_bootstrap(errors_a, errors_b, errors_original, samples=10_000, seed=0):
    """
    Errors per sentence of two systems on the same sentences (numpy arrays), and of the originals:
    (ratio A, ratio B, the 2.5th and 97.5th percentiles of ratio B - ratio A over `samples` draws of the
    sentences with replacement, the share of draws in which B's ratio is the lower). Each draw keeps a
    sentence's three counts together: that pairing is what removes the sentences' own difficulty, which
    both systems share, from the comparison. Draws whose originals made no error have no ratio and are
    left out; if the originals made none at all, every value is None.
    """
    def ratio(errors, original):  # over the last axis: one ratio per draw; NaN where the originals made none
        total = original.sum(-1)
        return errors.sum(-1) / np.where(total > 0, total, np.nan)

    draws = np.random.default_rng(seed).integers(0, len(errors_a), size=(samples, len(errors_a)))  # indices
    original = errors_original[draws]
    differences = ratio(errors_b[draws], original) - ratio(errors_a[draws], original)  # (samples,)
    differences = differences[~np.isnan(differences)]
    if not len(differences):  # the originals made no error: no ratio to compare
        return None, None, None, None, None
    low, high = np.percentile(differences, [2.5, 97.5])
    return (float(ratio(errors_a, errors_original)), float(ratio(errors_b, errors_original)), float(low),
            float(high), float((differences < 0).mean()))


def compare_reports(args):
    try:
        a, b = read_report(args.a), read_report(args.b)
    except ValueError as e:
        sys.exit(f"error: {e}")
    common = [key for key in a if key in b]
    if not common:
        sys.exit(f"error: {args.a} and {args.b} share no transcribed sentence")
    originals = {key: a[key][2] if a[key][2] is not None else b[key][2] for key in common}  # either's
    with_original = all(heard is not None for heard in originals.values())
    print(f"A = {args.a}, B = {args.b}: {len(common)} sentences in both"
          + ("" if len(common) == len(a) == len(b) else f" (A has {len(a)}, B {len(b)})")
          + ("; ratio = WER / WER of the originals" if with_original else
             "; no transcripts of the originals, so WER (not a ratio) is compared"))
    rows = []
    for speaker in sorted({key[0] for key in common}) + ["all"]:
        keys = [key for key in common if speaker in ("all", key[0])]
        words = [a[key][0] for key in keys]

        def errors(heard):  # word edits of each sentence's transcript
            return np.array([word_edits(w, normalize_for_wer(h)) for w, h in zip(words, heard)])

        # Without the originals' transcripts, dividing by the number of words compares WERs instead.
        errors_original = (errors([originals[k] for k in keys]) if with_original
                           else np.array([len(w) for w in words]))
        ratio_a, ratio_b, low, high, b_lower = paired_bootstrap(
            errors([a[k][1] for k in keys]), errors([b[k][1] for k in keys]), errors_original,
            args.samples, args.seed)
        rows.append(dict(name=speaker, sentences=len(keys), ratio_a=ratio_a, ratio_b=ratio_b,
                         difference=None if ratio_a is None else ratio_b - ratio_a, low=low, high=high,
                         b_lower=b_lower))
    if len(rows) == 2:  # one voice: its row is the "all" row
        rows = rows[1:]
    unit = "ratio" if with_original else "WER"
    print(format_table(rows, [("voice", "name", ""), ("sentences", "sentences", "d"),
                              (f"{unit} A", "ratio_a", ".3f"), (f"{unit} B", "ratio_b", ".3f"),
                              ("B - A", "difference", "+.3f"), ("95% from", "low", "+.3f"),
                              ("to", "high", "+.3f"), ("B lower in", "b_lower", ".0%")]))
    print(f"(paired bootstrap, {args.samples} draws of the sentences; an interval that holds 0 means these "
          f"sentences cannot tell A from B)")


# -----------------------------------------------------------------------------------------------------
# lab/eval.py words


def heard_words(reference, hypothesis):
    """
    Which words of `reference` the `hypothesis` holds, in order: a list of one flag per reference word,
    True for the words of a longest common subsequence of the two word lists. Order matters: a word the
    recogniser heard somewhere else in the sentence does not count.

    Dynamic programming from the ends: longest[i][j] is the length of the longest common subsequence of
    reference[i:] and hypothesis[j:]. Equal first words can always be matched (some longest subsequence
    starts with that pair); otherwise one of the two first words is not in it, and the table says which
    to drop. Walking the table from (0, 0) reads off one longest subsequence.
    """
    n, m = len(reference), len(hypothesis)
    longest = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            longest[i][j] = (longest[i + 1][j + 1] + 1 if reference[i] == hypothesis[j]
                             else max(longest[i + 1][j], longest[i][j + 1]))
    flags, i, j = [], 0, 0
    while i < n:
        if j < m and reference[i] == hypothesis[j]:
            flags.append(True)
            i, j = i + 1, j + 1
        elif j < m and longest[i][j + 1] > longest[i + 1][j]:
            j += 1  # hypothesis[j] is not in the subsequence
        else:
            flags.append(False)  # reference[i] is not: the recogniser missed it
            i += 1
    return flags


WORD_COUNT_BINS = [(0, 0), (1, 3), (4, 10), (11, 30), (31, 100), (101, 300), (301, 1000), (1001, None)]


def missed_table(report, bins, bin_of, name_of):
    """Rows of a `words` table: per bin (bin_of(word, its index, sentence length) picks it), how many of
    the report's reference words fall in it, the share of them the TTS (or the resynthesis) missed, the
    share the originals missed, and the bin's part of all misses beyond the originals'. Without the
    originals' transcripts those two are None."""
    with_original = all(heard_original is not None for _, _, heard_original in report.values())
    totals = {b: Counter() for b in bins}
    for words, heard, heard_original in report.values():
        missed = [not f for f in heard_words(words, normalize_for_wer(heard))]
        missed_original = ([not f for f in heard_words(words, normalize_for_wer(heard_original))]
                           if with_original else [False] * len(words))
        for k, (word, miss, miss_original) in enumerate(zip(words, missed, missed_original)):
            totals[bin_of(word, k, len(words))].update(words=1, missed=miss, missed_original=miss_original)
    excess = sum(t["missed"] - t["missed_original"] for t in totals.values())
    return [dict(name=name_of(b), words=t["words"], missed=t["missed"] / t["words"],
                 missed_original=t["missed_original"] / t["words"] if with_original else None,
                 share=(t["missed"] - t["missed_original"]) / excess if with_original and excess > 0 else None)
            for b, t in totals.items() if t["words"]]


def missed_by_count(report, counts):
    """The table by how often each word occurs in the training texts (WORD_COUNT_BINS)."""
    def bin_of(word, index, length):
        n = counts[word]
        return next(b for b in WORD_COUNT_BINS if b[0] <= n and (b[1] is None or n <= b[1]))
    return missed_table(report, WORD_COUNT_BINS, bin_of, lambda b: f"{b[0]}+" if b[1] is None
                        else f"{b[0]}" if b[0] == b[1] else f"{b[0]}-{b[1]}")


FIFTHS = ("first", "second", "third", "fourth", "last")


def missed_by_place(report):
    """The table by where in its sentence each word stands, in fifths of the sentence: a model that loses
    its place in the text (skips ahead, stops early) misses more towards the end."""
    return missed_table(report, range(5), lambda word, index, length: 5 * index // length,
                        lambda b: f"{FIFTHS[b]} fifth")


def evaluate_words(args):
    from dataset.speech_tokens import open_codes
    try:
        report = read_report(args.report)
    except ValueError as e:
        sys.exit(f"error: {e}")
    _, rows, _ = open_codes(args.data)
    rows = [r for r in rows if r["split"] == "train"]
    if args.first is not None:  # each voice's first N, in corpus order: the corpus before it grew
        if args.first < 1:
            sys.exit("error: --first must be at least 1")
        per_voice, kept = Counter(), []
        for r in rows:
            per_voice[r["speaker"]] += 1
            if per_voice[r["speaker"]] <= args.first:
                kept.append(r)
        rows = kept
    if not rows:
        sys.exit(f"error: {args.data} has no train utterances")
    counts = Counter(word for r in rows for word in normalize_for_wer(r["text"]))
    print(f"{len(report)} transcribed sentences of {args.report}; word counts over {len(rows)} train "
          f"utterances of {args.data}: a word 'heard N times' occurs N times in their texts")
    table = missed_by_count(report, counts)
    columns = [("heard in training", "name", ""), ("words", "words", "d"), ("missed", "missed", ".3f")]
    if table[0]["missed_original"] is not None:  # the report has the originals' transcripts
        columns += [("missed in originals", "missed_original", ".3f"), ("share of the excess", "share", ".0%")]
    print(format_table(table, columns))
    print()
    columns[0] = ("place in the sentence", "name", "")
    print(format_table(missed_by_place(report), columns))
    print("(missed: not in the longest common word sequence of the text and the recogniser's transcript; "
          "excess: misses beyond the originals')")


# -----------------------------------------------------------------------------------------------------
# Command line


@torch.no_grad()
def evaluate_text_use(args):
    from dataset.speech_tokens import SpeechTokens, open_codes, select
    from infer import DEFAULT_GPT
    from model.sequence import IGNORE, TEXT_VOCAB_SIZE, build_example
    checkpoint_path = args.checkpoint or DEFAULT_GPT
    model, checkpoint = load_gpt(checkpoint_path)
    model.eval()
    codes, rows, info = open_codes(args.data)
    check_same_codec(checkpoint["codes_info"], info, checkpoint_path)
    rows = [r for r in select(rows, args.split) if r["speaker"] in checkpoint["speaker_map"]]
    data = SpeechTokens(codes, rows, info, checkpoint["speaker_map"], model.cfg.max_seq_len)
    if len(data) == 0:
        raise SystemExit(f"error: no {args.split} utterances of the model's voices in {args.data}")
    # Each utterance is also scored with another one's text, of the same voice: voices need two or more.
    picked = [i for indices in data.by_speaker.values() if len(indices[:args.limit]) > 1
              for i in indices[:args.limit]]
    if not picked:
        raise SystemExit("error: lab/eval.py text needs at least two utterances of a voice (--limit 2 or more)")

    def example(index, text_ids):  # utterance `index`'s speech after text_ids: (ids, targets)
        speaker = data.speaker_map[data.rows[index]["speaker"]]
        return build_example(text_ids, data.speech_codes(index), TEXT_VOCAB_SIZE, speaker=speaker,
                             speech_vocab_size=data.speech_vocab_size)

    def speech_loss(index, text_ids):  # mean loss per speech token (codes and END) of utterance `index`
        ids, targets = example(index, text_ids)
        logits, _ = model(ids[None])
        return torch.nn.functional.cross_entropy(logits[0], targets, ignore_index=IGNORE).item()

    losses = {"own": [], "other": [], "none": []}
    for index in tqdm(picked, desc="text", leave=False):
        same = data.by_speaker[data.rows[index]["speaker"]][:args.limit]
        # Another text of the voice, half the list away (not its own), the first from there that fits
        # max_seq_len beside this speech: a longer text than its own may not.
        start = same.index(index) + len(same) // 2
        others = [same[(start + k) % len(same)] for k in range(len(same))]
        other = next((o for o in others if o != index and
                      len(example(index, data.text_ids[o])[0]) <= model.cfg.max_seq_len), None)
        if other is None:
            continue
        for name, text_ids in zip(losses, (data.text_ids[index], data.text_ids[other], [])):
            losses[name].append(speech_loss(index, text_ids))
    if not losses["own"]:
        raise SystemExit("error: no utterance has another text of its voice that fits the model's context "
                         "beside its speech (--limit more)")
    means = {name: mean(values) for name, values in losses.items()}
    means["gain"] = means["other"] - means["own"]
    print(f"{checkpoint_path}: loss per speech token of {len(losses['own'])} {args.split} utterances, with")
    for name, label in (("own", "their own text"), ("other", "another utterance's text"), ("none", "no text"),
                        ("gain", "text gain (another - own)")):
        print(f"  {label:26s} {means[name]:.3f}")
    return means


def phone_information(fit, test, n_codes, n_phones):
    """fit, test: (codes, phones) integer arrays of frames. Counts on `fit`, scores on `test`: a dict of
    H(phone) and H(phone | code) in bits (add-one smoothed), the accuracy of naming each frame's phone
    by its code's commonest one, and the accuracy of always naming the commonest phone."""
    counts = np.zeros((n_codes, n_phones))
    np.add.at(counts, (fit[0], fit[1]), 1)
    p_phone = (counts.sum(0) + 1) / (counts.sum() + n_phones)  # (n_phones,)
    p_given = (counts + 1) / (counts.sum(1, keepdims=True) + n_phones)  # (n_codes, n_phones)
    codes, phones = test
    named = np.where(counts[codes].sum(1) > 0, counts[codes].argmax(1), p_phone.argmax())
    return {"frames": int(len(codes)), "h_phone": float(-np.log2(p_phone[phones]).mean()),
            "h_phone_given_code": float(-np.log2(p_given[codes, phones]).mean()),
            "accuracy": float((named == phones).mean()), "commonest": float((phones == p_phone.argmax()).mean())}


def evaluate_phones(args):
    """How much of the phone a codec's codes carry: see the module docstring."""
    from dataset.phone_labels import load_phones  # the labels are needed by this command only
    try:
        codec = Codec.load(args.codec or DEFAULT_CHECKPOINT, pick_device(args.device))
        labels, rows, info = load_phones(args.phones)
        corpus = read_demo(DEMO_DIR, splits=["train", args.split])
    except (ValueError, DeviceError, CorpusError) as e:  # Codec.load, a device, the corpus
        sys.exit(f"error: {e}")
    except FileNotFoundError as e:
        sys.exit(f"error: {e} (python dataset/phone_labels.py makes the labels)")
    spans = {(row["speaker"], row["id"]): (row["offset"], row["length"]) for row in rows}
    by_voice = {}  # voice -> {"fit": train utterances, "test": the split's}
    for u in corpus.utterances:
        if (u.speaker, u.id) in spans and (u.split == args.split or u.split == "train"):
            half = by_voice.setdefault(u.speaker, {"fit": [], "test": []})["test" if u.split == args.split else "fit"]
            if len(half) < ((args.fit_limit if u.split == "train" else args.limit) or 10**9):
                half.append(u)
    if not any(halves["fit"] and halves["test"] for halves in by_voice.values()):
        sys.exit(f"error: {args.phones} labels no train and {args.split} utterances of one voice")
    report, pooled = {"codec": str(args.codec or DEFAULT_CHECKPOINT)}, {"fit": [], "test": []}
    for voice, halves in sorted(by_voice.items()):
        frames = {"fit": [], "test": []}  # [(codes, phones) of an utterance]
        for h, u in tqdm([(h, u) for h in halves for u in halves[h]], desc=f"phones {voice}", leave=False):
            codes = codec.encode(load_audio(u.audio_path)).cpu().numpy()
            offset, length = spans[u.speaker, u.id]
            if len(codes) == length:  # (otherwise the audio changed since it was labelled)
                frames[h].append((codes, labels[offset: offset + length]))
        joined = {h: tuple(np.concatenate([pair[k] for pair in frames[h]]).astype(np.int64) for k in (0, 1))
                  for h in frames}
        report[voice] = phone_information(joined["fit"], joined["test"], codec.codebook_size, len(info["phones"]))
        for h in pooled:
            pooled[h] += frames[h]
    joined = {h: tuple(np.concatenate([pair[k] for pair in pooled[h]]).astype(np.int64) for k in (0, 1))
              for h in pooled}
    report["all"] = phone_information(joined["fit"], joined["test"], codec.codebook_size, len(info["phones"]))
    print(f"{args.split} frames of {report['codec']}, with codes' phones counted on train utterances:")
    table = [dict(r, voice=name) for name, r in report.items() if name != "codec"]
    print(format_table(table, [("voice", "voice", "s"), ("frames", "frames", "d"), ("H(phone)", "h_phone", ".2f"),
                               ("H(phone|code)", "h_phone_given_code", ".2f"), ("accuracy", "accuracy", ".3f"),
                               ("commonest", "commonest", ".3f")]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.out, report)
    return report


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    codec = commands.add_parser("codec", help="resynthesise audio through the codec and measure the loss",
                                description="Encode and decode every utterance; per-speaker metrics.")
    source = codec.add_mutually_exclusive_group()
    source.add_argument("--data", default="demo",
                        help="'demo' or a corpus folder (LJSpeech, LibriTTS, folders of wav + txt)")
    source.add_argument("--wav_dir", type=Path, default=None,
                        help="instead of a corpus: every wav/flac/ogg in this folder, text from x.txt if any")
    codec.add_argument("--out_dir", type=Path, required=True, help="resyntheses and report.json go here")
    codec.add_argument("--codec", type=Path, default=None,
                       help="codec checkpoint (default: checkpoints/codec.pt)")
    codec.add_argument("--split", default="test", help="corpus split to evaluate: train, val, test or all")
    codec.add_argument("--speakers", nargs="+", default=None, help="only these speakers (default: all)")
    codec.add_argument("--limit", type=int, default=None, help="at most this many utterances per speaker")
    codec.add_argument("--asr", action="store_true",
                       help="also transcribe originals and resyntheses with pocketsphinx and report WER")
    codec.add_argument("--asr_workers", type=int, default=available_cores(),
                       help="processes running the recogniser (each uses one core)")
    codec.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    codec.set_defaults(run=evaluate_codec)

    tts = commands.add_parser("tts", help="speak sentences with the TTS GPT and measure them",
                              description="Speak every sentence; real-time factor, durations and WER.")
    tts.add_argument("--sentences", type=Path, default=None,
                     help="a UTF-8 file, one sentence a line, spoken into OUT_DIR/001.wav, 002.wav, ... "
                          "(default: the demo test split of each voice, beside its Festival originals)")
    tts.add_argument("--ref_dir", type=Path, default=None,
                     help="original recordings of --sentences under the same names (001.wav, ...)")
    tts.add_argument("--out_dir", type=Path, required=True, help="speech and report.json go here")
    tts.add_argument("--speaker", default=None, help="one voice of the model (default: every voice)")
    tts.add_argument("--prompt_wav", type=Path, default=None, help="clone this voice instead")
    tts.add_argument("--prompt_text", default=None, help="the transcript of --prompt_wav")
    tts.add_argument("--clone", action="store_true",
                     help="demo voices by a prompt (each voice's last test utterance), not their tokens")
    tts.add_argument("--split", default="test", help="demo split to speak when there is no --sentences")
    tts.add_argument("--limit", type=int, default=None, help="at most this many sentences per voice")
    tts.add_argument("--checkpoint", type=Path, default=None,
                     help="GPT model.pt (default: checkpoints/gpt.pt)")
    tts.add_argument("--codec", type=Path, default=None, help="codec (default: the one the GPT names)")
    tts.add_argument("--temperature", type=float, default=0.5)
    tts.add_argument("--top_k", type=int, default=50)
    tts.add_argument("--top_p", type=float, default=0.9)
    tts.add_argument("--cfg_scale", type=float, default=None,
                     help="classifier-free guidance (infer.py --cfg_scale): 1 is none; default: the model's")
    tts.add_argument("--seed", type=int, default=0, help="sentence i samples with seed + i")
    tts.add_argument("--best_of", type=int, default=1,
                     help="infer.py --best_of: sample each sentence N times, keep the most likely")
    tts.add_argument("--max_chars", type=int, default=5000)
    tts.add_argument("--form", choices=list(TYPED_FORMS), default="clean",
                     help="speak each sentence typed this way (lower_bare: lowercase, no final punctuation; "
                          "upper: ALL CAPS; ...); WER is still scored against the sentence as written")
    tts.add_argument("--asr", action="store_true", help="transcribe with pocketsphinx and report WER")
    tts.add_argument("--asr_workers", type=int, default=1,
                     help="processes running the recogniser (each uses one core)")
    tts.add_argument("--device", default="cpu", help="cpu, cuda, auto, ...")
    tts.set_defaults(run=evaluate_tts)

    text = commands.add_parser("text", help="how much the GPT's predictions of speech depend on its text",
                               description="Teacher-forced loss with the right text, another text, none.")
    text.add_argument("--checkpoint", type=Path, default=None,
                      help="GPT model.pt (default: checkpoints/gpt.pt)")
    text.add_argument("--data", type=Path, default=DEMO_DIR / "codes", help="an encoded corpus")
    text.add_argument("--split", default="val", help="which utterances: train, val, test")
    text.add_argument("--limit", type=int, default=None, help="at most this many utterances per voice")
    text.set_defaults(run=evaluate_text_use)

    compare = commands.add_parser("compare", help="are two evaluations' WER ratios really different?",
                                  description="A paired bootstrap of two --asr reports.")
    compare.add_argument("a", type=Path, help="report.json (or its folder) of system A")
    compare.add_argument("b", type=Path, help="report.json (or its folder) of system B")
    compare.add_argument("--samples", type=int, default=10_000, help="bootstrap draws")
    compare.add_argument("--seed", type=int, default=0)
    compare.set_defaults(run=compare_reports)

    words = commands.add_parser("words", help="which words the TTS misses: by training count, by place",
                                description="Misses per word, grouped by the word's count in the training texts, "
                                            "then by where in its sentence it stands.")
    words.add_argument("report", type=Path, help="report.json (or its folder) of a tts --asr or codec --asr run")
    words.add_argument("--data", type=Path, default=DEMO_DIR / "codes",
                       help="the encoded corpus the GPT trained on (its train split is counted)")
    words.add_argument("--first", type=int, default=None,
                       help="count only each voice's first N train utterances (a model trained before the "
                            "corpus grew)")
    words.set_defaults(run=evaluate_words)

    phones = commands.add_parser("phones", help="how much of the phone a codec's codes carry",
                                 description="H(phone | code) and the phone a code names, on labelled frames.")
    phones.add_argument("--codec", type=Path, default=None, help="codec (default: checkpoints/codec.pt)")
    phones.add_argument("--phones", type=Path, default=DEMO_DIR / "phones",
                        help="labels folder of dataset/phone_labels.py")
    phones.add_argument("--split", default="val", help="demo split: train, val or test")
    phones.add_argument("--limit", type=int, default=None, help="at most this many --split utterances per voice")
    phones.add_argument("--fit_limit", type=int, default=200,
                        help="train utterances per voice whose frames are counted")
    phones.add_argument("--out", type=Path, default=None, help="also write the numbers to this JSON file")
    phones.add_argument("--device", default="cpu", help="cpu, cuda, auto, ...")
    phones.set_defaults(run=evaluate_phones)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with
    try:
        args.run(args)
    except (OSError, DataError, CheckpointError) as e:  # a full disk mid-run, data or a checkpoint unfit
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
