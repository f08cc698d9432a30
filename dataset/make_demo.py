"""
Regenerate the embedded demo corpus: every sentence of dataset/demo/sentences.txt spoken by every
voice with the Festival speech synthesizer, resampled to 16 kHz and stored as FLAC.

    python dataset/make_demo.py                    # all three voices (two to three hours on 2 cores)
    python dataset/make_demo.py --voices kal       # just one voice
    python dataset/make_demo.py --voices kal ked slt awb=cmu_us_awb_cg   # add another Festival voice
    python dataset/make_demo.py --skip_encoded     # after the corpus grew: only what codes/ lacks
    python dataset/make_demo.py --lines my.txt --out_dir out/my_refs   # originals of any lines, for lab/eval.py

What it writes:
- dataset/demo/metadata.csv       `id|speaker|split|text`, one utterance a line (committed)
- dataset/demo/audio/{voice}/*.ogg        val and test audio, plus the first few train sentences
                                          (committed; Ogg Vorbis keeps them within 25 MB)
- dataset/demo/audio_train/{voice}/*.flac  the rest of train (git-ignored, regenerate with this script)

Festival is given the normalised text (tokenizer/text.py: numbers, times and prices spelled out), the
same text the GPT reads, so text and audio always agree on how "1999" or "$12.50" was said.

Splits are by sentence, so a val or test sentence is never heard in train, in any voice: the first
TEST_SENTENCES lines of sentences.txt are test, the next VAL_SENTENCES val, the rest train
(sentences.txt is already in a random order, see dataset/compose_sentences.py).

The script is resumable and idempotent: an utterance whose file exists is skipped (unless its sentence
changed since metadata.csv was written: then it is spoken again), files appear
atomically (written to a temp name, then renamed), and the same text gives the same samples (the same
bytes for FLAC; an Ogg file differs only in its random stream serial number). Festival
occasionally crashes on a sentence: that one is retried once, then skipped, counted and named.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from tqdm import tqdm

from dataset.audio import SAMPLE_RATE, AudioError, load_audio, save_audio
from dataset.compose_sentences import write_lines
from dataset.files import write_atomic
from tokenizer.text import normalize

DEMO_DIR = Path(__file__).resolve().parent / "demo"
VOICES = {"kal": "kal_diphone", "ked": "ked_diphone", "slt": "cmu_us_slt_arctic_hts"}
TEST_SENTENCES = 120
VAL_SENTENCES = 60
COMMITTED_TRAIN_SENTENCES = 30  # per voice, about 1.5 minutes: voice prompts and notebook examples
INSTALL = ("sudo apt-get install -y festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts")


def split_of(index):
    """Split of the sentence on line `index` (0-based) of sentences.txt."""
    if index < TEST_SENTENCES:
        return "test"
    return "val" if index < TEST_SENTENCES + VAL_SENTENCES else "train"


def is_committed(index):
    """Whether the sentence's audio belongs in the committed folder rather than the generated one."""
    return index < TEST_SENTENCES + VAL_SENTENCES + COMMITTED_TRAIN_SENTENCES


def utterance_id(speaker, index):
    return f"{speaker}_{index + 1:04d}"


def parse_voices(names):
    """['kal', 'awb=cmu_us_awb_cg'] -> {'kal': 'kal_diphone', 'awb': 'cmu_us_awb_cg'}"""
    voices = {}
    for name in names:
        short, _, festival_name = name.partition("=")
        if not festival_name and short not in VOICES:
            sys.exit(f"error: unknown voice {short!r}: use one of {sorted(VOICES)} or NAME=festival_voice")
        voices[short] = festival_name or VOICES[short]
    return voices


def synthesize(text, festival_voice, out_path):
    """Speak `text` with Festival into out_path (16 kHz, format from the extension). Returns None, or
    an error line."""
    with tempfile.TemporaryDirectory() as tmp:
        text_file, wav_file = Path(tmp) / "text.txt", Path(tmp) / "speech.wav"
        text_file.write_text(text + "\n", encoding="utf-8")
        command = ["text2wave", "-eval", f"({'voice_' + festival_voice})", str(text_file), "-o", str(wav_file)]
        error = None
        for _ in range(2):  # Festival sometimes segfaults on a sentence; one retry, then give up
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode == 0 and wav_file.is_file() and wav_file.stat().st_size > 44:
                break
            error = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        else:
            return error
        try:
            wav = load_audio(wav_file, SAMPLE_RATE)  # slt speaks at 32 kHz: resampled here
        except AudioError as e:
            return str(e)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_audio(out_path, wav, SAMPLE_RATE)
    return None


def check_festival(voices):
    """Exit with the install command if text2wave or a voice is missing."""
    if shutil.which("text2wave") is None:
        sys.exit(f"error: Festival's text2wave is not installed. Install it with: {INSTALL}")
    for short, festival_voice in voices.items():
        with tempfile.TemporaryDirectory() as tmp:
            error = synthesize("Hello.", festival_voice, Path(tmp) / "check.flac")
        if error is not None:
            sys.exit(f"error: Festival voice {festival_voice!r} ({short}) does not work ({error}). "
                     f"Install the voices with: {INSTALL}")


def write_metadata(sentences, voices, path):
    """metadata.csv, written atomically: the order is voice by voice, sentence by sentence. The rows of
    voices already listed but not among `voices` stay as they are (`--voices kal` on a corpus of three
    voices must not make the other two disappear from it)."""
    rows = {}  # voice -> its lines, in the order the voices appear in the file
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            rows.setdefault(line.split("|")[1], []).append(line)
    for short in voices:
        rows[short] = [f"{utterance_id(short, i)}|{short}|{split_of(i)}|{s}" for i, s in enumerate(sentences)]
    lines = ["id|speaker|split|text"] + [line for voice_lines in rows.values() for line in voice_lines]
    write_atomic(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"))


def changed_texts(path, sentences, voices):
    """Ids of `voices`' utterances whose text in the metadata.csv at `path` (what their audio says) differs
    from their sentence now: a sentences.txt edited after the audio was made."""
    if not path.is_file():
        return set()
    before = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        id, _, _, text = line.split("|", 3)
        before[id] = text
    return {utterance_id(short, i) for short in voices for i, s in enumerate(sentences)
            if before.get(utterance_id(short, i), s) != s}


def encoded_texts(codes_dir):
    """{id: text} of the utterances an encoded corpus folder (dataset/encode_corpus.py) holds, the text
    their codes say; empty if it has no manifest yet."""
    manifest = codes_dir / "manifest.csv"
    if not manifest.is_file():
        return {}
    rows = (line.split("|", 5) for line in manifest.read_text(encoding="utf-8").splitlines()[1:])
    return {row[0]: row[5] for row in rows}


def speak_lines(args):
    """--lines: every line of a text file in every voice, named as lab/eval.py tts names what it speaks."""
    if args.out_dir.resolve() == DEMO_DIR.resolve():
        sys.exit("error: --lines needs an --out_dir of its own (not the demo corpus folder)")
    try:
        lines = [line.strip() for line in args.lines.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"error: cannot read {args.lines}: {e}")
    voices = parse_voices(args.voices)
    # out_dir/lines.txt records the text each file was made from: a rerun redoes the files whose line has
    # changed since (a line inserted above them renumbers them) and skips the rest.
    record = args.out_dir / "lines.txt"
    before = record.read_text(encoding="utf-8").splitlines() if record.is_file() else []
    jobs = []
    for short, festival_voice in voices.items():
        for i, line in enumerate(lines, 1):
            path = args.out_dir / short / f"{i:03d}.wav"
            if line and (not path.is_file() or i > len(before) or before[i - 1] != line):
                jobs.append((normalize(line), festival_voice, path))
    if jobs:
        check_festival(voices)
    for _, _, path in jobs:  # an older line's speech goes first, so an interrupted run cannot leave it
        path.unlink(missing_ok=True)
    write_lines(record, lines)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        errors = [f"{path} ({voice}): {error}" for (_, voice, path), error in
                  tqdm(zip(jobs, pool.map(lambda job: synthesize(*job), jobs)), total=len(jobs),
                       desc="synthesizing") if error is not None]
    if errors:
        sys.exit(f"error: Festival could not speak {len(errors)} line(s): " + "; ".join(errors))
    print(f"done: {args.out_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", nargs="+", default=list(VOICES),
                        help="voices to speak: kal, ked, slt, or NAME=festival_voice_name to add one")
    parser.add_argument("--out_dir", type=Path, default=DEMO_DIR, help="corpus folder to write")
    parser.add_argument("--sentences", type=Path, default=DEMO_DIR / "sentences.txt",
                        help="one sentence a line")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel Festival processes")
    parser.add_argument("--committed_only", action="store_true",
                        help="only the committed part (val, test and a few train sentences per voice)")
    parser.add_argument("--skip_encoded", action="store_true",
                        help="leave out train utterances whose speech tokens out_dir/codes already holds: "
                             "GPT training needs only the tokens, so a grown corpus needs audio for the new ones")
    parser.add_argument("--lines", type=Path, default=None,
                        help="instead of the corpus: speak line i of this file into OUT_DIR/{voice}/{i:03d}.wav "
                             "(1-based, lab/eval.py tts's names), the originals its --ref_dir compares with")
    args = parser.parse_args()

    if args.lines is not None:
        speak_lines(args)
        return
    if not args.sentences.is_file():
        sys.exit(f"error: {args.sentences} not found (make it with python dataset/compose_sentences.py)")
    sentences = [s.strip() for s in args.sentences.read_text(encoding="utf-8").splitlines() if s.strip()]
    voices = parse_voices(args.voices)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    changed = changed_texts(args.out_dir / "metadata.csv", sentences, voices)
    for name in changed:  # spoken from another text: speak it again (encode_corpus.py then re-encodes it)
        voice = name.rsplit("_", 1)[0]
        for stale in (args.out_dir / "audio" / voice / f"{name}.ogg",
                      args.out_dir / "audio_train" / voice / f"{name}.flac"):
            stale.unlink(missing_ok=True)
    if changed:
        print(f"{len(changed)} utterances have a new text in {args.sentences}: they are spoken again")
    write_metadata(sentences, voices, args.out_dir / "metadata.csv")
    # --skip_encoded: train utterances whose codes say today's sentence (an edited one is spoken again,
    # even after a run that stopped before speaking it)
    encoded = encoded_texts(args.out_dir / "codes") if args.skip_encoded else {}

    # Committed utterances first, so the part that lands in git is ready early.
    jobs = []
    for i in sorted(range(len(sentences)), key=lambda i: not is_committed(i)):
        if args.committed_only and not is_committed(i):
            continue
        for short, festival_voice in voices.items():
            name = utterance_id(short, i)
            if encoded.get(name) == sentences[i] and not is_committed(i):
                continue
            out_path = (args.out_dir / "audio" / short / f"{name}.ogg" if is_committed(i)
                        else args.out_dir / "audio_train" / short / f"{name}.flac")
            if not out_path.is_file():
                jobs.append((normalize(sentences[i]), festival_voice, out_path))
    print(f"{len(sentences)} sentences x {len(voices)} voices: {len(jobs)} utterances to synthesize")
    if jobs:  # a finished corpus needs no Festival: running this again is always safe
        check_festival(voices)

    failures = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = pool.map(lambda job: (job, synthesize(*job)), jobs)
        for (text, voice, out_path), error in tqdm(results, total=len(jobs), desc="synthesizing"):
            if error is not None:
                failures.append(f"{out_path.name} ({voice}): {error} | {text}")
    if failures:
        print(f"skipped {len(failures)} utterances that Festival could not speak:")
        print("\n".join("  " + f for f in failures))
    print(f"done: {args.out_dir}. Totals: python dataset/stats.py")


if __name__ == "__main__":
    main()
