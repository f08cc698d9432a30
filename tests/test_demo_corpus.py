"""The embedded demo corpus: its text, its metadata, its committed audio, and the script that makes it."""
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from dataset import compose_sentences as compose
from dataset import make_demo
from dataset.readers import DEMO_DIR, read_demo, read_demo_metadata
from dataset.stats import distinct_words

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = (DEMO_DIR / "sentences.txt").read_text(encoding="utf-8").splitlines()
METADATA = read_demo_metadata(DEMO_DIR / "metadata.csv")
needs_festival = pytest.mark.skipif(shutil.which("text2wave") is None, reason="Festival not installed")


def test_sentences_meet_the_corpus_brief():
    assert len(SENTENCES) >= 2000
    assert len({s.lower() for s in SENTENCES}) == len(SENTENCES), "duplicate sentences"
    # Every batch has sentences of 3 to 25 words except the short one, of 1 to 3 (texts like "Hi."), which
    # holds the short hand-written replies (where no earlier batch has them) and as many one-word sentences as two-word ones, or more.
    start = compose.SHORT_BATCH * compose.BATCH
    short = SENTENCES[start:start + compose.BATCH]
    lengths = [len(s.split()) for s in SENTENCES[:start] + SENTENCES[start + compose.BATCH:]]
    assert min(lengths) >= 3 and max(lengths) <= 25
    short_lengths = [len(s.split()) for s in short]
    assert len(short) == compose.BATCH and max(short_lengths) <= compose.SHORT_MAX_WORDS
    assert short_lengths.count(1) >= short_lengths.count(2) > 0 and set(compose.SHORT_HANDWRITTEN) <= set(SENTENCES)
    assert len(distinct_words(SENTENCES)) >= 3000
    assert sum(s.endswith("?") for s in SENTENCES) >= 100
    assert sum(s.endswith("!") for s in SENTENCES) >= 50
    assert sum(any(c.isdigit() for c in s) for s in SENTENCES) >= 100
    assert all(s.isascii() and "-" not in s for s in SENTENCES), "characters that trip Festival"


def test_check_keeps_short_sentences_in_the_short_batch():
    assert compose.check_corpus(SENTENCES) == []
    start = compose.SHORT_BATCH * compose.BATCH
    long_one = next(i for i, s in enumerate(SENTENCES) if len(s.split()) > compose.SHORT_MAX_WORDS)
    swapped = SENTENCES.copy()
    swapped[long_one], swapped[start] = swapped[start], swapped[long_one]
    problems = "; ".join(compose.check_corpus(swapped))
    assert "1 sentences of under 3 words outside the short batch" in problems
    assert f"1 sentences of over {compose.SHORT_MAX_WORDS} words in the short batch" in problems


def test_sentences_are_regenerated_byte_for_byte(tmp_path):
    out = tmp_path / "sentences.txt"
    subprocess.run([sys.executable, str(ROOT / "dataset" / "compose_sentences.py"), "--out", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (DEMO_DIR / "sentences.txt").read_bytes()


def test_a_larger_corpus_only_appends_whole_batches():
    # Growing the corpus must not move a sentence between splits: the test and val splits are the first
    # lines, so every earlier batch has to stay line for line.
    # (the first batch must hold the ~2,100 sentences that use every word list entry once)
    one, two, three = (compose.build_corpus(n, random.Random(7), batch=2150) for n in (2150, 4300, 4400))
    assert (len(one), len(two), len(three)) == (2150, 4300, 4400)
    assert two[:2150] == one and three[:4300] == two
    assert len({s.lower() for s in three}) == len(three)
    first = compose.build_corpus(compose.BATCH, random.Random(compose.SEED))
    assert SENTENCES[:len(first)] == first  # the committed corpus grew from its first batch


def test_a_corpus_file_is_never_rewritten_with_other_lines(tmp_path):
    # Audio made for the lines of sentences.txt stays: an --n that would change them is refused.
    out = tmp_path / "sentences.txt"
    out.write_text("\n".join(SENTENCES[:2300]) + "\n")
    command = [sys.executable, str(ROOT / "dataset" / "compose_sentences.py"), "--out", str(out), "--n"]
    result = subprocess.run(command + ["2250"], capture_output=True, text=True)  # reshuffles the first batch
    assert result.returncode != 0 and "would change lines already in" in result.stderr
    assert out.read_text().splitlines() == SENTENCES[:2300]  # untouched
    result = subprocess.run(command + ["2400"], capture_output=True, text=True)  # appends
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[:2300] == SENTENCES[:2300]


def test_metadata_is_every_voice_speaking_every_sentence():
    speakers = {row["speaker"] for row in METADATA}
    assert speakers == {"kal", "ked", "slt"}
    for speaker in speakers:
        assert [r["text"] for r in METADATA if r["speaker"] == speaker] == SENTENCES
    assert len({row["id"] for row in METADATA}) == len(METADATA)


def test_metadata_matches_what_make_demo_writes(tmp_path):
    make_demo.write_metadata(SENTENCES, make_demo.VOICES, tmp_path / "metadata.csv")
    assert (tmp_path / "metadata.csv").read_bytes() == (DEMO_DIR / "metadata.csv").read_bytes()


def test_speaking_one_voice_again_keeps_the_others_in_the_metadata(tmp_path):
    path = tmp_path / "metadata.csv"
    make_demo.write_metadata(SENTENCES[:30], make_demo.VOICES, path)
    before = path.read_text().splitlines()
    make_demo.write_metadata(SENTENCES[:40], {"ked": make_demo.VOICES["ked"]}, path)  # --voices ked, grown
    after = path.read_text().splitlines()
    assert [line.split("|")[1] for line in after[1:]] == ["kal"] * 30 + ["ked"] * 40 + ["slt"] * 30
    assert [line for line in after if "|ked|" not in line] == [line for line in before if "|ked|" not in line]


def test_splits_are_disjoint_by_sentence():
    by_split = {split: {r["text"] for r in METADATA if r["split"] == split} for split in ("train", "val", "test")}
    assert {r["split"] for r in METADATA} == set(by_split)
    assert not by_split["train"] & by_split["test"]
    assert not by_split["train"] & by_split["val"]
    assert not by_split["val"] & by_split["test"]
    assert len(by_split["test"]) >= 100


def test_committed_audio_covers_val_and_test_and_stays_small():
    corpus = read_demo(splits={"val", "test"})
    assert not corpus.skipped, corpus.skipped[:3]
    expected = sum(r["split"] in ("val", "test") for r in METADATA)
    assert len(corpus) == expected
    files = list((DEMO_DIR / "audio").rglob("*.ogg"))
    assert sum(f.stat().st_size for f in files) <= 25 * 2**20
    for speaker in make_demo.VOICES:  # a few train utterances per voice for prompts and notebooks
        assert len(list((DEMO_DIR / "audio" / speaker).glob("*.ogg"))) > expected // 3
    for u in corpus.utterances[::97]:
        info = sf.info(str(u.audio_path))
        assert (info.samplerate, info.channels) == (16000, 1)
        assert 0.5 < u.duration < 12, (u.audio_path, u.duration)


def test_make_demo_explains_a_missing_festival(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no text2wave on this PATH
    result = subprocess.run([sys.executable, str(ROOT / "dataset" / "make_demo.py"), "--out_dir", str(tmp_path)],
                            capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "apt-get install" in result.stderr


def test_make_demo_skip_encoded_leaves_out_train_utterances_that_have_codes(tmp_path):
    # After the corpus grows, GPT training needs audio only for the new sentences: --skip_encoded leaves
    # out train utterances whose codes the corpus's codes/ folder holds. Committed audio is planted as
    # empty files (only its presence counts here) and Festival is off the PATH, so the script stops
    # after saying how many utterances it would synthesize.
    n_committed = make_demo.TEST_SENTENCES + make_demo.VAL_SENTENCES + make_demo.COMMITTED_TRAIN_SENTENCES
    (tmp_path / "s.txt").write_text("\n".join(SENTENCES[:n_committed + 3]) + "\n", encoding="utf-8")
    out = tmp_path / "demo"
    (out / "audio" / "kal").mkdir(parents=True)
    for i in range(n_committed):
        (out / "audio" / "kal" / f"{make_demo.utterance_id('kal', i)}.ogg").touch()
    (out / "codes").mkdir()
    encoded = [n_committed, n_committed + 2]
    (out / "codes" / "manifest.csv").write_text("id|speaker|split|offset|length|text\n" + "".join(
        f"{make_demo.utterance_id('kal', i)}|kal|train|0|1|{SENTENCES[i]}\n" for i in encoded))
    command = [sys.executable, str(ROOT / "dataset" / "make_demo.py"), "--sentences", str(tmp_path / "s.txt"),
               "--out_dir", str(out), "--voices", "kal"]
    env = dict(os.environ, PATH=str(tmp_path))  # no text2wave on this PATH
    every = subprocess.run(command, capture_output=True, text=True, env=env)
    skipping = subprocess.run(command + ["--skip_encoded"], capture_output=True, text=True, env=env)
    assert "3 utterances to synthesize" in every.stdout
    assert "1 utterances to synthesize" in skipping.stdout
    # An edited sentences.txt: a committed (test) sentence and an encoded train sentence say something
    # else now, so their audio is stale: removed, and both are to be spoken again, encoded or not.
    edited = SENTENCES[:n_committed + 3]
    edited[0], edited[n_committed] = "A new first sentence.", "A new train sentence."
    (tmp_path / "s.txt").write_text("\n".join(edited) + "\n", encoding="utf-8")
    again = subprocess.run(command + ["--skip_encoded"], capture_output=True, text=True, env=env)
    assert "2 utterances have a new text" in again.stdout and "3 utterances to synthesize" in again.stdout
    assert not (out / "audio" / "kal" / f"{make_demo.utterance_id('kal', 0)}.ogg").exists()
    assert (out / "audio" / "kal" / f"{make_demo.utterance_id('kal', 1)}.ogg").exists()
    # That run stopped before speaking them (no Festival here); the next still knows both are due: the
    # codes say the old sentence, and the deleted file is missing.
    rerun = subprocess.run(command + ["--skip_encoded"], capture_output=True, text=True, env=env)
    assert "3 utterances to synthesize" in rerun.stdout


@needs_festival
def test_make_demo_reproduces_committed_audio_and_resumes(tmp_path):
    # The first sentence is a test sentence, whose audio is committed: regenerating must give the same
    # samples (Ogg files differ only in their random stream serial number).
    (tmp_path / "s.txt").write_text(SENTENCES[0] + "\n" + SENTENCES[1] + "\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "dataset" / "make_demo.py"), "--sentences", str(tmp_path / "s.txt"),
               "--out_dir", str(tmp_path / "demo"), "--voices", "kal", "slt"]
    subprocess.run(command, check=True, capture_output=True)
    for speaker in ("kal", "slt"):
        made = tmp_path / "demo" / "audio" / speaker / f"{speaker}_0001.ogg"
        committed = DEMO_DIR / "audio" / speaker / made.name
        assert (sf.read(made)[0] == sf.read(committed)[0]).all()
    first_run = {p: p.stat().st_mtime_ns for p in (tmp_path / "demo").rglob("*.ogg")}
    assert len(first_run) == 4
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "0 utterances to synthesize" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "demo").rglob("*.ogg")} == first_run


@needs_festival
def test_make_demo_lines_speaks_any_text_under_eval_names_and_resumes(tmp_path):
    # The originals lab/eval.py tts --ref_dir needs for sentences outside the corpus: line i -> {voice}/{i:03d}.wav.
    (tmp_path / "lines.txt").write_text("Nope.\n\nAt 7:15.\n", encoding="utf-8")
    out = tmp_path / "refs"
    command = [sys.executable, str(ROOT / "dataset" / "make_demo.py"), "--lines", str(tmp_path / "lines.txt"),
               "--out_dir", str(out), "--voices", "kal", "slt"]
    subprocess.run(command, check=True, capture_output=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.wav")) == [
        "kal/001.wav", "kal/003.wav", "slt/001.wav", "slt/003.wav"]  # the empty line 2 is left out
    for voice in ("kal", "slt"):
        assert sf.info(out / voice / "003.wav").duration > sf.info(out / voice / "001.wav").duration > 0.3
    (out / "kal" / "001.wav").unlink()
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "1/1" in again.stderr and (out / "kal" / "001.wav").is_file()  # only what was missing
    # An edited line is spoken again (its old file would be the reference of another text); the rest stay.
    before = sf.read(str(out / "slt" / "001.wav"))[0]
    (tmp_path / "lines.txt").write_text("Yes, please.\n\nAt 7:15.\n", encoding="utf-8")
    edited = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "2/2" in edited.stderr and len(sf.read(str(out / "slt" / "001.wav"))[0]) != len(before)


def test_make_demo_lines_errors_are_one_line(tmp_path):
    script = [sys.executable, str(ROOT / "dataset" / "make_demo.py"), "--lines"]
    for arguments, message in [([str(tmp_path / "missing.txt"), "--out_dir", str(tmp_path)], "cannot read"),
                               ([str(ROOT / "dataset" / "demo" / "sentences.txt")], "an --out_dir of its own")]:
        result = subprocess.run(script + arguments, capture_output=True, text=True, timeout=120)  # or hours
        assert result.returncode != 0 and result.stderr.count("\n") == 1 and message in result.stderr


def test_short_unseen_texts_are_short_and_never_in_the_corpus():
    # What the README's short-text figures were measured on: texts the model never trained on.
    unseen = (DEMO_DIR / "short_unseen.txt").read_text(encoding="utf-8").splitlines()
    assert len(unseen) >= 50 and all(1 <= len(line.split()) <= 3 for line in unseen)
    assert not {line.lower() for line in unseen} & {s.lower() for s in SENTENCES}
    assert all(compose.sentence_problem(line) is None for line in unseen)  # as Festival-safe as the corpus
