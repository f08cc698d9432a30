"""
Phone labels for the demo corpus: which phone Festival is speaking in every codec frame (50 a second)
of an utterance, for the codec's optional phone loss (train_tokenizer.py --phones, --phone_weight).

    python dataset/phone_labels.py --limit 4600                 # the first 4,600 sentences, three voices
    python dataset/phone_labels.py --limit 4600 --fill_audio    # and speak the train audio that is missing

Festival, the synthesizer that made the corpus (dataset/make_demo.py), runs once per voice and batch of
sentences, speaking each normalised sentence again and printing its segments (phone, end time). Its
synthesis is deterministic, so these are the times of the corpus's own audio; --fill_audio also keeps
the waveform where the corpus has none (the same samples make_demo.py writes, far faster than one
text2wave process per sentence). An utterance's last segment must end within LENGTH_TOLERANCE of its
audio's length, or it gets no labels (a sentence the normaliser now reads otherwise than when its audio
was made, say). Frame j, the samples [j * hop, (j + 1) * hop) that the codec turns into token j, gets
the phone sounding at its centre.

Writes --out_dir (default dataset/demo/phones, git-ignored): phones.npy (uint8 phone ids, utterance after
utterance), manifest.csv (speaker, id, offset, length in frames), info.json (the phone inventory, hop,
sample rate). Resumable: every batch is a part file written atomically; a run keeps the parts it finds
and joins them all at the end.
"""
import argparse
import csv
import io
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from tqdm import tqdm  # noqa: E402

from dataset.audio import SAMPLE_RATE, AudioError, audio_info, load_audio, save_audio  # noqa: E402
from dataset.files import write_atomic  # noqa: E402
from dataset.make_demo import DEMO_DIR, VOICES, is_committed, utterance_id  # noqa: E402
from tokenizer.text import normalize  # noqa: E402

# Festival's "radio" phone set, which all three demo voices speak; pau is silence. An id is an index here.
PHONES = ("pau aa ae ah ao aw ax ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th uh uw v "
          "w y z zh").split()
PHONE_ID = {phone: i for i, phone in enumerate(PHONES)}
HOP = 320  # the codec's samples per token at 16 kHz (tokenizer/codec.py, CodecConfig)
LENGTH_TOLERANCE = 0.06  # seconds between the last segment's end and the audio's: Festival's is ~20 ms
BATCH = 100  # sentences per Festival process and part file


def frame_labels(segments, n_frames, hop=HOP, sample_rate=SAMPLE_RATE):
    """[(phone, end in seconds), ...] in order -> phone ids (n_frames,) uint8: frame j gets the phone
    sounding at its centre, (j + 0.5) * hop samples; past the last segment, silence. A phone outside
    PHONES is a ValueError."""
    ends = np.array([end for _, end in segments], dtype=np.float64)
    ids = np.array([PHONE_ID[phone] if phone in PHONE_ID else -1 for phone, _ in segments] + [PHONE_ID["pau"]])
    if (ids < 0).any():
        raise ValueError(f"phones outside Festival's radio set: {sorted({p for p, _ in segments} - set(PHONES))}")
    centres = (np.arange(n_frames) + 0.5) * hop / sample_rate
    return ids[np.searchsorted(ends, centres, side="right")].astype(np.uint8)


def festival_segments(festival_voice, texts, wav_dir=None):
    """Speak each normalised text with one Festival process: [[(phone, end), ...] or None] per text (None:
    Festival failed on it). wav_dir: also save text i's waveform there as {i}.wav, at the voice's own rate.
    Festival sometimes crashes on a sentence; the batch is then spoken one sentence a process, so that
    only that one is lost."""
    def script(items):
        lines = [f"(voice_{festival_voice})"]
        for i, text in items:
            quoted = text.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f"(set! utt (utt.synth (eval (list 'Utterance 'Text \"{quoted}\"))))")
            if wav_dir is not None:
                lines.append(f"(utt.save.wave utt \"{Path(wav_dir) / f'{i}.wav'}\" 'riff)")
            lines.append(f'(format t "=== {i}\\n")')
            lines.append("(mapcar (lambda (s) (format t \"%s %f\\n\" (item.name s) (item.feat s \"end\"))) "
                         "(utt.relation.items utt 'Segment))")
        return "\n".join(lines) + "\n"

    def run(items):
        with tempfile.NamedTemporaryFile("w", suffix=".scm", delete=False) as f:
            f.write(script(items))
        try:
            result = subprocess.run(["festival", "-b", f.name], capture_output=True, text=True, timeout=3600)
        finally:
            Path(f.name).unlink()
        found, current = {}, None
        for line in result.stdout.splitlines():
            if line.startswith("=== "):
                current = found.setdefault(int(line[4:]), [])
            elif current is not None and line.strip():
                phone, end = line.split()
                current.append((phone, float(end)))
        complete = result.returncode == 0 and len(found) == len(items)
        return found, complete

    items = list(enumerate(texts))
    found, complete = run(items)
    if not complete:  # a crash: speak every sentence alone
        found = {}
        for item in items:
            alone, ok = run([item])
            if ok:
                found.update(alone)
    return [found.get(i) for i in range(len(texts))]


def audio_path(corpus_dir, speaker, index):
    """Where make_demo.py keeps an utterance's audio: committed Ogg, or generated FLAC."""
    name = utterance_id(speaker, index)
    return (corpus_dir / "audio" / speaker / f"{name}.ogg" if is_committed(index)
            else corpus_dir / "audio_train" / speaker / f"{name}.flac")


def label_batch(corpus_dir, speaker, indices, sentences, fill_audio):
    """{utterance id: phone ids} for the sentences `indices` in one voice, and the number left out."""
    texts = [normalize(sentences[i]) for i in indices]
    paths = [audio_path(corpus_dir, speaker, i) for i in indices]
    with tempfile.TemporaryDirectory() as tmp:
        missing = fill_audio and any(not p.is_file() for p in paths)
        segments = festival_segments(VOICES[speaker], texts, wav_dir=tmp if missing else None)
        labels, left_out = {}, 0
        for k, (index, path, segs) in enumerate(zip(indices, paths, segments)):
            try:
                if not path.is_file() and missing and segs is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_audio(path, load_audio(Path(tmp) / f"{k}.wav", SAMPLE_RATE), SAMPLE_RATE)
                rate, n_samples = audio_info(path) if path.is_file() else (None, None)
            except AudioError:
                rate = None
            if rate is None or not segs or abs(segs[-1][1] - n_samples / rate) > LENGTH_TOLERANCE:
                left_out += 1
                continue
            n_frames = math.ceil(n_samples * SAMPLE_RATE / rate / HOP)
            labels[utterance_id(speaker, index)] = frame_labels(segs, n_frames)
    return labels, left_out


def load_phones(folder):
    """(phone ids uint8, manifest rows with offset and length as ints, info dict) of a labels folder."""
    folder = Path(folder)
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = [dict(row, offset=int(row["offset"]), length=int(row["length"])) for row in csv.DictReader(f)]
    return np.load(folder / "phones.npy"), rows, json.loads((folder / "info.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences of sentences.txt")
    parser.add_argument("--voices", nargs="+", default=list(VOICES), choices=list(VOICES))
    parser.add_argument("--corpus_dir", type=Path, default=DEMO_DIR, help="the demo corpus (make_demo.py's)")
    parser.add_argument("--out_dir", type=Path, default=DEMO_DIR / "phones", help="where the labels go")
    parser.add_argument("--fill_audio", action="store_true",
                        help="speak and keep the audio of utterances the corpus has none of (train audio is "
                             "git-ignored: make_demo.py or this makes it)")
    args = parser.parse_args()
    sentences_path = args.corpus_dir / "sentences.txt"
    if not sentences_path.is_file():
        sys.exit(f"error: {sentences_path} not found (python dataset/compose_sentences.py makes it)")
    sentences = [s.strip() for s in sentences_path.read_text(encoding="utf-8").splitlines() if s.strip()]
    count = len(sentences) if args.limit is None else min(args.limit, len(sentences))
    parts = args.out_dir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    batches = [(speaker, start) for speaker in args.voices for start in range(0, count, BATCH)]
    left_out = 0
    for speaker, start in tqdm(batches, desc="phone labels", unit="batch"):
        part = parts / f"{speaker}-{start:06d}.npz"
        if part.is_file():
            continue
        labels, dropped = label_batch(args.corpus_dir, speaker, list(range(start, min(start + BATCH, count))),
                                      sentences, args.fill_audio)
        left_out += dropped
        names = sorted(labels)

        def save(tmp):
            np.savez(tmp, names=np.array(names), dropped=dropped,
                     **{"labels": np.concatenate([labels[n] for n in names]) if names else np.zeros(0, np.uint8),
                        "lengths": np.array([len(labels[n]) for n in names], dtype=np.int64)})

        write_atomic(part, save)
    # Join every part this folder holds (earlier runs' too), voice by voice and in sentence order.
    arrays, rows, offset, dropped_total = [], [], 0, 0
    for speaker, start in batches:
        with np.load(parts / f"{speaker}-{start:06d}.npz") as part:
            dropped_total += int(part["dropped"])
            chunks = np.split(part["labels"], np.cumsum(part["lengths"])[:-1]) if len(part["names"]) else []
            for name, chunk in zip(part["names"], chunks):
                rows.append({"speaker": speaker, "id": str(name), "offset": offset, "length": len(chunk)})
                arrays.append(chunk)
                offset += len(chunk)
    phones = np.concatenate(arrays) if arrays else np.zeros(0, np.uint8)
    write_atomic(args.out_dir / "phones.npy", lambda tmp: np.save(tmp, phones))
    text = io.StringIO()
    writer = csv.DictWriter(text, ["speaker", "id", "offset", "length"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(args.out_dir / "manifest.csv", lambda tmp: Path(tmp).write_text(text.getvalue(), encoding="utf-8"))
    info = {"phones": PHONES, "hop": HOP, "sample_rate": SAMPLE_RATE, "sentences": count, "voices": args.voices}
    write_atomic(args.out_dir / "info.json", lambda tmp: Path(tmp).write_text(json.dumps(info, indent=1) + "\n"))
    print(f"{len(rows)} utterances labelled, {dropped_total} left out (no audio, or its length disagrees), "
          f"{len(phones):,} frames: {args.out_dir}")


if __name__ == "__main__":
    main()
