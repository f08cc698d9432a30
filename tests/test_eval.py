"""lab/eval.py: word and character error rates (against jiwer), the recogniser, STOI, `lab/eval.py codec`."""
import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dataset.audio import load_audio
from lab.eval import (Recognizer, character_error_rate, normalize_for_wer, stoi_score, word_edits,
                  word_error_rate)
from tokenizer.codec import Codec, CodecConfig

ROOT = Path(__file__).resolve().parents[1]
TINY = CodecConfig(encoder_channels=8, encoder_max_channels=16, codebook_size=32, codebook_dim=8,
                   decoder_dim=32, decoder_intermediate=64, decoder_layers=2)

# (reference, hypothesis): already lower-case words, so jiwer's own transform sees the same words as ours
PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),  # identical
    ("the cat sat on the mat", ""),  # empty hypothesis: all deletions
    ("the cat sat", "the big fat cat sat down"),  # insertions
    ("the cat sat on the mat", "a cat sat in the hat"),  # substitutions
    ("one two three four five", "two three five six"),  # deletions, a substitution, an insertion
    ("go go go", "go"),  # repeated words
    ("she said hello", "hello she said"),  # reordering
    ("don't stop", "do not stop"),
]


def test_word_error_rate_matches_jiwer_per_utterance_and_corpus():
    jiwer = pytest.importorskip("jiwer")
    for reference, hypothesis in PAIRS:
        assert abs(word_error_rate([reference], [hypothesis]) - jiwer.wer(reference, hypothesis)) < 1e-12
    references, hypotheses = [r for r, _ in PAIRS], [h for _, h in PAIRS]
    # corpus level: total edits over total reference words, not the mean of per-utterance rates
    assert abs(word_error_rate(references, hypotheses) - jiwer.wer(references, hypotheses)) < 1e-12


def test_character_error_rate_matches_jiwer_per_utterance_and_corpus():
    jiwer = pytest.importorskip("jiwer")
    for reference, hypothesis in PAIRS:
        assert abs(character_error_rate(reference, hypothesis) - jiwer.cer(reference, hypothesis)) < 1e-12
    references, hypotheses = [r for r, _ in PAIRS], [h for _, h in PAIRS]
    assert abs(character_error_rate(references, hypotheses) - jiwer.cer(references, hypotheses)) < 1e-12


def test_character_error_rate_by_hand():
    assert character_error_rate("the cat", "the cat") == 0
    assert character_error_rate("the cat", "the hat") == 1 / 7  # one letter of 7 characters
    assert character_error_rate("the cat", "thecat") == 1 / 7  # the missing space counts
    assert character_error_rate("The CAT!", "the cat") == 0  # normalised like the WER
    assert character_error_rate(["ab", "cd"], ["ab", ""]) == 2 / 4  # corpus level: summed edits
    # one wrong sound: the WER charges a whole word, the CER one character
    assert word_error_rate("tell me the time", "sell me the time") == 0.25
    assert character_error_rate("tell me the time", "sell me the time") == 1 / 16
    with pytest.raises(ValueError):
        character_error_rate(["!"], ["a"])  # no reference characters after normalisation


def test_word_edits_and_rates_by_hand():
    assert word_edits([], []) == 0
    assert word_edits("a b c".split(), []) == 3
    assert word_edits([], "a b".split()) == 2
    assert word_edits("a b c d".split(), "a x c d".split()) == 1
    assert word_edits("a b c".split(), "b c d".split()) == 2  # delete a, insert d
    assert word_error_rate("the cat sat down", "the cat sat down") == 0
    assert word_error_rate("the cat sat down", "the dog sat down") == 0.25
    assert word_error_rate(["a b", "c d e f"], ["a b", "x"]) == 4 / 6
    with pytest.raises(ValueError):
        word_error_rate(["a"], ["a", "b"])


def test_normalization_makes_written_and_spoken_forms_equal():
    assert normalize_for_wer("I paid $5.") == ["i", "paid", "five", "dollars"]
    assert word_error_rate("I paid $5.", "i paid five dollars") == 0
    assert normalize_for_wer("Don't say 'well-known', Dr. Lee!") == ["don't", "say", "well", "known",
                                                                     "doctor", "lee"]
    assert normalize_for_wer("  ...  ") == []


def test_stoi_is_one_for_identical_audio_and_lower_for_noisy():
    pytest.importorskip("pystoi")
    t = torch.arange(16000) / 16000
    syllables = 0.5 + 0.5 * torch.sin(2 * math.pi * 4 * t)  # a 4 Hz envelope, like speech
    speechy = torch.sin(2 * math.pi * 200 * t) * syllables
    noisy = speechy + 0.5 * torch.randn(16000, generator=torch.Generator().manual_seed(0))
    assert stoi_score(speechy, speechy, 16000) > 0.99
    assert stoi_score(speechy, torch.cat([noisy, torch.zeros(500)]), 16000) < 0.9  # lengths differ: trimmed


@pytest.fixture(scope="module")
def recognizer():
    pytest.importorskip("pocketsphinx")
    return Recognizer()


def test_recognizer_survives_silence(recognizer):
    heard = recognizer.transcribe(torch.zeros(16000))
    assert isinstance(heard, str) and len(heard.split()) <= 1  # nothing, or one stray word, never a crash


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="Festival not installed")
def test_recognizer_understands_festival(recognizer, tmp_path):
    text = "hello world, this is a test"
    (tmp_path / "text.txt").write_text(text + "\n")
    subprocess.run(["text2wave", "-eval", "(voice_kal_diphone)", str(tmp_path / "text.txt"),
                    "-o", str(tmp_path / "speech.wav")], check=True, capture_output=True)
    heard = recognizer.transcribe(load_audio(tmp_path / "speech.wav"))
    assert word_error_rate(text, heard) < 0.6, heard


def installed(name):
    return importlib.util.find_spec(name) is not None


def run_eval(*args):
    return subprocess.run([sys.executable, "lab/eval.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True)


def test_codec_command_end_to_end(tmp_path):
    torch.manual_seed(0)
    Codec(TINY).save(tmp_path / "codec.pt")
    wav_dir, out_dir = tmp_path / "wavs", tmp_path / "out"
    wav_dir.mkdir()
    lengths = {"spoken": 16000, "hummed": 12345}  # 12345 is no multiple of the hop: the output is trimmed
    for name, n_samples in lengths.items():
        t = np.arange(n_samples) / 16000
        wav = 0.3 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
        sf.write(wav_dir / f"{name}.wav", wav, 16000)
    (wav_dir / "spoken.txt").write_text("a test sentence\n")
    (wav_dir / "broken.wav").write_bytes(b"not audio at all")
    asr = ["--asr", "--asr_workers", "1"] if installed("pocketsphinx") else []
    result = run_eval("codec", "--wav_dir", wav_dir, "--out_dir", out_dir, "--codec", tmp_path / "codec.pt",
                      "--device", "cpu", *asr)
    assert result.returncode == 0, result.stderr
    for name, n_samples in lengths.items():
        samples, rate = sf.read(out_dir / f"{name}.wav")
        assert rate == 16000 and len(samples) == n_samples
    assert "broken.wav" in result.stdout  # skipped, and named
    assert result.stdout.strip().splitlines()[-1].startswith("all ")  # the table comes last

    report = json.loads((out_dir / "report.json").read_text())
    assert report["codec"] == str(tmp_path / "codec.pt") and report["device"] == "cpu"
    assert "codec" in report["command"]
    assert len(report["skipped"]) == 1 and "broken.wav" in report["skipped"][0]
    overall = report["metrics"]["all"]
    assert overall["utterances"] == 2 and len(report["utterances"]) == 2
    assert math.isfinite(overall["mel_distance"]) and overall["mel_distance"] > 0
    assert 0 < overall["codebook_usage"] <= 1 and 1 <= overall["codes_perplexity"] <= TINY.codebook_size
    assert report["timing"]["real_time_factor"] > 0
    if installed("pystoi"):
        assert -1 <= overall["stoi"] <= 1
    if asr:  # only the utterance with a transcript is judged
        assert overall["wer_resynthesis"] is not None and overall["wer_original"] is not None
        judged = report["utterances"][1]
        assert overall["cer_resynthesis"] == character_error_rate(judged["text"], judged["heard_resynthesis"])
        assert [u.get("heard_original") is not None for u in report["utterances"]] == [False, True]

    # --limit keeps the folder's first readable files; --speakers has no voices to pick there
    limited = run_eval("codec", "--wav_dir", wav_dir, "--out_dir", tmp_path / "one", "--codec",
                       tmp_path / "codec.pt", "--limit", "1")
    assert limited.returncode == 0, limited.stderr
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    assert [u["id"] for u in report["utterances"]] == ["hummed"]
    voices = run_eval("codec", "--wav_dir", wav_dir, "--out_dir", tmp_path / "voices", "--codec",
                      tmp_path / "codec.pt", "--speakers", "kal")
    assert voices.returncode != 0 and voices.stderr.startswith("error:") and "--speakers" in voices.stderr


def test_codec_command_fails_in_one_line(tmp_path):
    (tmp_path / "wavs").mkdir()
    Codec(TINY).save(tmp_path / "codec.pt")
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "a.wav", np.zeros(1600), 16000)
    (tmp_path / "a_file").write_text("")
    # no codec, no folder, no audio in the folder, an --out_dir that is a file
    for codec, wav_dir, out in (("missing.pt", "wavs", "out"), ("codec.pt", "missing", "out"),
                                ("codec.pt", "wavs", "out"), ("codec.pt", "audio", "a_file")):
        result = run_eval("codec", "--wav_dir", tmp_path / wav_dir, "--out_dir", tmp_path / out,
                          "--codec", tmp_path / codec)
        assert result.returncode != 0
        assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1


def write_report(folder, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps({"utterances": records}))
    return folder


def test_paired_bootstrap_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    from lab.eval import paired_bootstrap
    rng = np.random.default_rng(0)
    original = rng.integers(0, 4, size=150)
    errors_a = original + rng.integers(0, 4, size=150)
    errors_b = np.maximum(errors_a - rng.integers(0, 2, size=150), 0)
    ratio_a, ratio_b, low, high, b_lower = paired_bootstrap(errors_a, errors_b, original, samples=20_000)
    assert ratio_a == errors_a.sum() / original.sum() and ratio_b == errors_b.sum() / original.sum()

    def difference(a, b, o):
        return (b.sum() - a.sum()) / o.sum()

    reference = scipy_stats.bootstrap((errors_a, errors_b, original), difference, paired=True,
                                      vectorized=False, n_resamples=20_000, method="percentile",
                                      random_state=np.random.default_rng(1)).confidence_interval
    assert abs(low - reference.low) < 0.02 and abs(high - reference.high) < 0.02
    assert high < 0 and b_lower == 1.0  # B never has more errors: every draw favours it


def test_compare_command(tmp_path):
    texts = [f"the {w} sat on the mat" for w in ("cat", "dog", "bird", "cow", "hen", "fox")]
    originals = [t.replace("sat", "sad") for t in texts]  # one word wrong in every original
    system_a = [dict(speaker="kal", text=t, heard=t.replace("the ", "", 1).replace("mat", "hat"),
                     heard_original=o) for t, o in zip(texts, originals)]  # two words wrong
    system_b = [dict(r, heard=t) for r, t in zip(system_a, texts)]  # nothing wrong
    a = write_report(tmp_path / "a", system_a)
    b = write_report(tmp_path / "b", system_b[:5])  # B spoke five of the six
    result = run_eval("compare", a, b / "report.json")
    assert result.returncode == 0, result.stderr
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("all"))
    # ratio A = 10 errors / 5 in the originals, B = 0 / 5; on every draw B is lower
    assert row[1:] == ["5", "2.000", "0.000", "-2.000", "-2.000", "-2.000", "100%"]
    assert "5 sentences in both (A has 6, B 5)" in result.stdout
    same = run_eval("compare", a, a)
    row = next(line.split() for line in same.stdout.splitlines() if line.startswith("all"))
    assert row[1:] == ["6", "2.000", "2.000", "+0.000", "+0.000", "+0.000", "0%"]
    # Codec reports name the transcript heard_resynthesis. With no originals' transcripts in either
    # report, WERs are compared instead of ratios.
    codec = write_report(tmp_path / "c", [dict(speaker="kal", text=t, heard_resynthesis=t) for t in texts])
    plain = write_report(tmp_path / "p", [dict(r, heard_original=None) for r in system_a])
    result = run_eval("compare", plain, codec)
    assert "no transcripts of the originals" in result.stdout
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("all"))
    assert row[2:4] == [f"{12 / 36:.3f}", "0.000"]  # WER of A: 2 of 6 words in each of 6 sentences
    result = run_eval("compare", codec, a)  # the originals' transcripts of either report serve
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("all"))
    assert "ratio =" in result.stdout and row[2:4] == ["0.000", "2.000"]

    perfect = write_report(tmp_path / "f", [dict(r, heard_original=r["text"]) for r in system_a])
    row = next(line.split() for line in run_eval("compare", perfect, b).stdout.splitlines()
               if line.startswith("all"))
    assert row[1:] == ["5"] + ["n/a"] * 6  # originals without an error: no ratio to compare

    other = write_report(tmp_path / "d", [dict(speaker="ked", text="Something else.", heard="something")])
    untranscribed = write_report(tmp_path / "e", [dict(speaker="kal", text=texts[0])])
    for first, second in ((a, other), (a, untranscribed), (a, tmp_path / "missing")):
        result = run_eval("compare", first, second)
        assert result.returncode != 0
        assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1


def test_heard_words_marks_one_longest_common_subsequence():
    from itertools import combinations

    from lab.eval import heard_words
    assert heard_words("the cat sat".split(), "the cat sat".split()) == [True, True, True]
    assert heard_words("the cat sat".split(), []) == [False, False, False]
    assert heard_words("the cat sat on the mat".split(), "a cat sat in the hat".split()) == \
        [False, True, True, False, True, False]
    assert heard_words("she said hello".split(), "hello she said".split()) == [True, True, False]  # order counts
    assert heard_words("go go go".split(), ["go"]).count(True) == 1

    def longest_common(a, b):  # by brute force: the longest subsequence of a that is one of b too
        def is_subsequence(part, whole):
            it = iter(whole)
            return all(word in it for word in part)
        return next(k for k in range(len(a), -1, -1)
                    if any(is_subsequence(part, b) for part in combinations(a, k)))

    rng = np.random.default_rng(0)
    for _ in range(200):
        reference = list(rng.choice(["a", "b", "c", "d"], size=rng.integers(0, 8)))
        hypothesis = list(rng.choice(["a", "b", "c", "e"], size=rng.integers(0, 8)))
        flags = heard_words(reference, hypothesis)
        assert len(flags) == len(reference)
        heard = [w for w, f in zip(reference, flags) if f]
        assert sum(flags) == longest_common(reference, hypothesis)
        it = iter(hypothesis)
        assert all(word in it for word in heard)  # the flagged words appear in the transcript, in order


def test_words_command(tmp_path):
    from dataset.encode_corpus import MANIFEST_HEADER
    codes = tmp_path / "codes"
    codes.mkdir()
    train = ["the cat sat", "the cat ran", "the dog sat", "a bird flew"]  # cat 2, dog 1, bird 1, fox 0
    lines = [MANIFEST_HEADER] + [f"{v}_{i}|{v}|train|{i * 3}|3|{t}" for v in ("kal", "ked")
                                 for i, t in enumerate(train)]
    lines.append("kal_9|kal|test|0|3|the fox sat")  # test text: never counted
    (codes / "manifest.csv").write_text("\n".join(lines) + "\n")
    np.save(codes / "codes-000.npy", np.zeros(12, np.uint16))
    (codes / "info.json").write_text("{}")
    report = write_report(tmp_path / "r", [
        dict(speaker="kal", text="The cat sat.", heard="the cat sat", heard_original="the cat sat"),
        dict(speaker="kal", text="The dog ran.", heard="the ran", heard_original="the dog ran"),
        dict(speaker="kal", text="A fox flew.", heard="flew", heard_original="a flew")])

    def table(*extra):
        result = run_eval("words", report, "--data", codes, *extra)
        assert result.returncode == 0, result.stderr
        return {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
                if line[:1].isdigit()}

    # Counted over both voices: the 6, cat 4, sat 4, ran 2, dog 2, a 2, bird 2, flew 2, fox 0. The TTS
    # missed dog, a and fox; the originals missed fox only, so the excess (2 misses) is all in 1-3.
    rows = table()
    assert rows["0"] == ["1", "1.000", "1.000", "0%"]  # fox
    assert rows["1-3"] == ["4", "0.500", "0.000", "100%"]  # dog, ran, a, flew
    assert rows["4-10"] == ["4", "0.000", "0.000", "0%"]  # the, cat, sat, the
    # --first 2: each voice's first two train utterances only: the 4, cat 4, sat 2, ran 2
    rows = table("--first", "2")
    assert rows["0"] == ["4", "0.750", "0.250", "100%"]  # dog, a, fox, flew
    assert rows["1-3"] == ["2", "0.000", "0.000", "0%"] and rows["4-10"] == ["3", "0.000", "0.000", "0%"]
    # By place: word k of n is in fifth 5k // n. First: the, the, a (a missed); second: cat, dog, fox
    # (dog and fox missed, fox by the originals too); fourth: sat, ran, flew. Excess: one miss in each.
    places = {" ".join(line.split()[:2]): line.split()[2:] for line in run_eval(
        "words", report, "--data", codes).stdout.splitlines() if line.endswith("%") and "fifth" in line}
    assert places == {"first fifth": ["3", "0.333", "0.000", "50%"],
                      "second fifth": ["3", "0.667", "0.333", "50%"], "fourth fifth": ["3", "0.000", "0.000", "0%"]}
    # A codec report (heard_resynthesis) without the originals' transcripts: no comparison columns
    report = write_report(tmp_path / "c", [dict(speaker="kal", text="The dog ran.", heard_resynthesis="the ran")])
    assert table()["1-3"] == ["2", "0.500"] and table()["4-10"] == ["1", "0.000"]
    for bad in (("--first", "0"), ("--data", tmp_path / "missing")):
        result = run_eval("words", report, *bad)
        assert result.returncode != 0 and result.stderr.startswith("error:")
        assert len(result.stderr.strip().splitlines()) == 1
