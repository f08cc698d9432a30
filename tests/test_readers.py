"""
Tests for dataset/readers.py: each corpus layout is built on the fly in tmp_path with tiny sine-wave
files (0.2-0.5 s at assorted rates), then read back. Durations come from the file headers, so they
are exact up to the float division: checked to 1 ms.
"""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dataset.readers import (Corpus, CorpusError, Utterance, read_corpus, read_demo, read_folder,
                             read_libritts, read_ljspeech)

MS = 1e-3  # duration tolerance: the header gives n_samples / rate exactly; 1 ms is one 16 kHz-ish frame


def write_tone(path, seconds, rate, channels=1, subtype=None, freq=440.0):
    """A sine of `seconds` at `rate` into path (folders created); returns the exact duration."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * rate))
    x = 0.5 * np.sin(2 * np.pi * freq * np.arange(n, dtype=np.float64) / rate)
    if channels > 1:
        x = np.stack([x] + [np.zeros(n)] * (channels - 1), axis=1)
    sf.write(path, x, rate, subtype=subtype)
    return n / rate


def by_id(corpus):
    return {u.id: u for u in corpus}


def assert_one_line(message):
    assert "\n" not in message and message.strip(), repr(message)


# -----------------------------------------------------------------------------------------------------
# Demo layout


@pytest.fixture
def demo(tmp_path):
    root = tmp_path / "demo"
    root.mkdir()
    rows = [("kal_0001", "kal", "test", "Hello there.", "audio", 0.3, 16000),
            ("kal_0002", "kal", "train", "A  second   one.", "audio_train", 0.25, 16000),
            ("ked_0001", "ked", "val", "Third line.", "audio", 0.4, 22050),
            ("ked_0002", "ked", "train", "Never generated.", None, 0, 0)]
    durations = {}
    for id, speaker, split, text, folder, seconds, rate in rows:
        if folder:
            durations[id] = write_tone(root / folder / speaker / f"{id}.flac", seconds, rate)
    lines = ["id|speaker|split|text"] + ["|".join(r[:4]) for r in rows]
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root, durations


def test_read_demo(demo):
    root, durations = demo
    corpus = read_demo(root)
    assert isinstance(corpus, Corpus)
    assert corpus.name.startswith("demo")
    utts = by_id(corpus)
    assert set(utts) == {"kal_0001", "kal_0002", "ked_0001"}
    assert len(corpus) == 3
    u = utts["kal_0001"]
    assert isinstance(u, Utterance)
    assert (u.speaker, u.split, u.text) == ("kal", "test", "Hello there.")
    assert u.audio_path == root / "audio" / "kal" / "kal_0001.flac"
    assert utts["kal_0002"].audio_path == root / "audio_train" / "kal" / "kal_0002.flac"
    assert utts["kal_0002"].text == "A second one."  # whitespace collapsed
    assert (utts["ked_0001"].speaker, utts["ked_0001"].split) == ("ked", "val")
    for id, d in durations.items():
        assert abs(utts[id].duration - d) < MS, id
    # the row without audio is counted and named, not fatal
    assert len(corpus.skipped) == 1
    assert "ked_0002" in corpus.skipped[0]
    assert_one_line(corpus.skipped[0])
    assert "skipped 1" in corpus.summary()


def test_read_demo_filters(demo):
    root, _ = demo
    assert {u.id for u in read_demo(root, splits={"train"})} == {"kal_0002"}
    assert {u.id for u in read_demo(root, splits=["test", "val"])} == {"kal_0001", "ked_0001"}
    assert {u.id for u in read_demo(root, speakers={"ked"})} == {"ked_0001"}
    assert {u.id for u in read_demo(root, speakers={"kal"}, splits={"test"})} == {"kal_0001"}
    # filtered-out rows are not "skipped": only the ked train row without audio is
    assert read_demo(root, speakers={"kal"}).skipped == []
    with pytest.raises(CorpusError):  # nothing left after filtering
        read_demo(root, speakers={"nobody"})


def test_read_demo_wrong_header(demo):
    root, _ = demo
    text = (root / "metadata.csv").read_text(encoding="utf-8")
    (root / "metadata.csv").write_text(text.replace("id|speaker|split|text", "id|text|speaker|split"),
                                       encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_demo(root)
    assert_one_line(str(info.value))
    assert "header" in str(info.value)


def test_read_demo_missing_metadata(tmp_path):
    with pytest.raises(CorpusError):
        read_demo(tmp_path)


# -----------------------------------------------------------------------------------------------------
# LJSpeech layout


@pytest.fixture
def ljspeech(tmp_path):
    root = tmp_path / "LJSpeech-1.1"
    d1 = write_tone(root / "wavs" / "LJ001-0001.wav", 0.3, 22050, subtype="PCM_16")
    d2 = write_tone(root / "wavs" / "LJ001-0002.wav", 0.2, 22050, subtype="PCM_16")
    write_tone(root / "wavs" / "LJ009-9999.wav", 0.2, 22050)  # not listed in metadata
    (root / "metadata.csv").write_text(
        "LJ001-0001|Raw text 1.|Normalized text one.\n"
        "LJ001-0002|Only raw text 2.|\n"  # empty normalized column: the raw text is used
        "LJ001-0003|Missing 3.|Missing three.\n",  # no wav
        encoding="utf-8")
    return root, {"LJ001-0001": d1, "LJ001-0002": d2}


def test_read_ljspeech(ljspeech):
    root, durations = ljspeech
    corpus = read_ljspeech(root)
    assert corpus.name.startswith("ljspeech")
    utts = by_id(corpus)
    assert set(utts) == {"LJ001-0001", "LJ001-0002"}
    assert utts["LJ001-0001"].text == "Normalized text one."  # normalized column, not the raw one
    assert utts["LJ001-0002"].text == "Only raw text 2."
    assert {u.speaker for u in corpus} == {"ljspeech"}
    for id, d in durations.items():
        assert abs(utts[id].duration - d) < MS
    assert utts["LJ001-0001"].audio_path == root / "wavs" / "LJ001-0001.wav"
    skipped = corpus.skipped
    assert len(skipped) == 2, skipped
    assert any("LJ001-0003" in s and "transcript without audio" in s for s in skipped), skipped
    assert any("LJ009-9999" in s and "audio without transcript" in s for s in skipped), skipped
    for s in skipped:
        assert_one_line(s)


# -----------------------------------------------------------------------------------------------------
# LibriTTS layout


@pytest.fixture
def libritts(tmp_path):
    root = tmp_path / "LibriTTS" / "train-clean-100"
    chapter = root / "19" / "198"
    d1 = write_tone(chapter / "19_198_000000_000000.wav", 0.3, 24000, subtype="PCM_16")
    (chapter / "19_198_000000_000000.normalized.txt").write_text("Normalized words.", encoding="utf-8")
    (chapter / "19_198_000000_000000.original.txt").write_text("ORIGINAL words!", encoding="utf-8")
    d2 = write_tone(root / "26" / "495" / "26_495_000004_000000.wav", 0.25, 24000)
    (root / "26" / "495" / "26_495_000004_000000.normalized.txt").write_text("Other speaker.",
                                                                            encoding="utf-8")
    write_tone(chapter / "19_198_000001_000000.wav", 0.2, 24000)  # transcript not UTF-8
    (chapter / "19_198_000001_000000.normalized.txt").write_bytes(b"\xff\xfe bad")
    write_tone(chapter / "19_198_000002_000000.wav", 0.2, 24000)  # no transcript at all
    (chapter / "19_198_000002_000000.original.txt").write_text("only the original", encoding="utf-8")
    return root, {"19_198_000000_000000": d1, "26_495_000004_000000": d2}


def test_read_libritts(libritts):
    root, durations = libritts
    corpus = read_libritts(root)
    assert corpus.name.startswith("libritts")
    utts = by_id(corpus)
    assert set(utts) == set(durations)
    u = utts["19_198_000000_000000"]
    assert u.speaker == "19" and utts["26_495_000004_000000"].speaker == "26"
    assert u.text == "Normalized words."  # .original.txt ignored
    for id, d in durations.items():
        assert abs(utts[id].duration - d) < MS
    skipped = corpus.skipped
    assert len(skipped) == 2, skipped
    assert any("19_198_000001_000000.normalized.txt" in s and "UTF-8" in s for s in skipped), skipped
    assert any("19_198_000002_000000.wav" in s and "audio without transcript" in s
               for s in skipped), skipped


# -----------------------------------------------------------------------------------------------------
# Plain folder layout


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "mine"
    durations = {
        "x": write_tone(root / "spk_a" / "x.wav", 0.3, 16000, subtype="PCM_16"),
        "y": write_tone(root / "spk_b" / "y.flac", 0.4, 44100),
    }
    (root / "spk_a" / "x.txt").write_text("Words of x.\n", encoding="utf-8")
    (root / "spk_b" / "y.txt").write_text("Words of y.", encoding="utf-8")
    (root / "spk_a" / "z.mp3").write_bytes(b"ID3 not really an mp3")
    (root / "spk_a" / "z.txt").write_text("Words of z.", encoding="utf-8")
    (root / "spk_b" / "empty.wav").write_bytes(b"")
    (root / "spk_b" / "empty.txt").write_text("Nothing here.", encoding="utf-8")
    (root / "spk_b" / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    (root / "spk_b" / "corrupt.txt").write_text("Garbage.", encoding="utf-8")
    return root, durations


def test_read_folder(folder):
    root, durations = folder
    corpus = read_folder(root)
    assert corpus.name.startswith("folder")
    utts = by_id(corpus)
    assert set(utts) == {"x", "y"}
    assert (utts["x"].speaker, utts["x"].text) == ("spk_a", "Words of x.")
    assert (utts["y"].speaker, utts["y"].text) == ("spk_b", "Words of y.")
    assert utts["y"].audio_path == root / "spk_b" / "y.flac"
    for id, d in durations.items():
        assert abs(utts[id].duration - d) < MS
    skipped = corpus.skipped
    assert len(skipped) == 3, skipped
    assert any("z.txt" in s and "unsupported extension" in s and ".mp3" in s for s in skipped), skipped
    assert any("empty.wav" in s for s in skipped), skipped
    assert any("corrupt.wav" in s for s in skipped), skipped
    for s in skipped:
        assert_one_line(s)


def test_read_folder_header_only_wav_is_skipped(tmp_path):
    write_tone(tmp_path / "s" / "ok.wav", 0.2, 16000)
    (tmp_path / "s" / "ok.txt").write_text("Fine.", encoding="utf-8")
    sf.write(tmp_path / "s" / "none.wav", np.zeros(0), 16000)  # valid header, zero frames
    (tmp_path / "s" / "none.txt").write_text("No samples.", encoding="utf-8")
    corpus = read_folder(tmp_path)
    assert [u.id for u in corpus] == ["ok"]
    assert len(corpus.skipped) == 1 and "none.wav" in corpus.skipped[0]


def test_read_folder_pairs_exact_names_and_names_what_it_cannot_pair(tmp_path):
    write_tone(tmp_path / "s" / "a.take2.wav", 0.2, 16000)  # no a.txt's audio: a.txt has none
    (tmp_path / "s" / "a.txt").write_text("Take one.", encoding="utf-8")
    write_tone(tmp_path / "s" / "b.wav", 0.2, 16000)
    write_tone(tmp_path / "s" / "b.flac", 0.2, 16000)  # two recordings of one transcript: which?
    (tmp_path / "s" / "b.txt").write_text("Which one?", encoding="utf-8")
    write_tone(tmp_path / "s" / "c.wav", 0.2, 16000)
    (tmp_path / "s" / "c.txt").symlink_to(tmp_path / "nowhere.txt")  # a transcript that cannot be read
    write_tone(tmp_path / "s" / "ok.wav", 0.2, 16000)
    (tmp_path / "s" / "ok.txt").write_text("Fine.", encoding="utf-8")
    corpus = read_folder(tmp_path)
    assert [u.id for u in corpus] == ["ok"]
    reasons = "\n".join(corpus.skipped)
    assert len(corpus.skipped) == 5, reasons
    for reason in ("a.take2.wav: audio without transcript", "a.txt: transcript without audio",
                   "b.txt: more than one audio file: b.flac, b.wav", "c.txt: cannot read the transcript",
                   "c.wav: audio without transcript"):
        assert reason in reasons, (reason, reasons)


def test_read_folder_odd_formats_are_read(tmp_path):
    # stereo, 8-bit unsigned, 24-bit and rates from 8 to 48 kHz are all usable (load_audio converts them)
    specs = {"stereo48": (48000, 2, "PCM_16", ".wav", 0.5),
             "u8_8k": (8000, 1, "PCM_U8", ".wav", 0.3),
             "pcm24_32k": (32000, 1, "PCM_24", ".flac", 0.2),
             "stereo11k": (11025, 2, "PCM_16", ".flac", 0.35),
             "ogg22k": (22050, 1, "VORBIS", ".ogg", 0.25)}
    durations = {}
    for name, (rate, channels, subtype, ext, seconds) in specs.items():
        durations[name] = write_tone(tmp_path / "spk" / f"{name}{ext}", seconds, rate, channels, subtype)
        (tmp_path / "spk" / f"{name}.txt").write_text(f"Text {name}.", encoding="utf-8")
    corpus = read_folder(tmp_path)
    assert corpus.skipped == []
    utts = by_id(corpus)
    assert set(utts) == set(specs)
    for name, d in durations.items():
        if specs[name][2] == "VORBIS":  # lossy codec: the header length may differ by a few ms
            assert abs(utts[name].duration - d) < 0.01
        else:
            assert abs(utts[name].duration - d) < MS, name


def test_read_folder_empty_transcript_is_skipped(tmp_path):
    write_tone(tmp_path / "s" / "a.wav", 0.2, 16000)
    (tmp_path / "s" / "a.txt").write_text("Words.", encoding="utf-8")
    write_tone(tmp_path / "s" / "b.wav", 0.2, 16000)
    (tmp_path / "s" / "b.txt").write_text("  \n", encoding="utf-8")
    corpus = read_folder(tmp_path)
    assert [u.id for u in corpus] == ["a"]
    assert len(corpus.skipped) == 1 and "b.wav" in corpus.skipped[0]
    assert "empty transcript" in corpus.skipped[0]


# -----------------------------------------------------------------------------------------------------
# Auto-detection and errors


@pytest.mark.parametrize("layout,prefix,n", [("demo", "demo", 3), ("ljspeech", "ljspeech", 2),
                                             ("libritts", "libritts", 2), ("folder", "folder", 2)])
def test_read_corpus_detects_layout(request, layout, prefix, n):
    root = request.getfixturevalue(layout)[0]
    corpus = read_corpus(root)
    assert corpus.name.startswith(prefix), corpus.name
    assert len(corpus) == n
    # also accepts a string path
    assert read_corpus(str(root)).name.startswith(prefix)


def test_missing_folder(tmp_path):
    for reader in (read_corpus, read_demo, read_ljspeech, read_libritts, read_folder):
        with pytest.raises(CorpusError) as info:
            reader(tmp_path / "does-not-exist")
        assert_one_line(str(info.value))
        assert "does-not-exist" in str(info.value)


def test_empty_folder(tmp_path):
    with pytest.raises(CorpusError) as info:
        read_corpus(tmp_path)
    assert_one_line(str(info.value))
    assert str(tmp_path) in str(info.value)


def test_only_bad_files(tmp_path):
    (tmp_path / "a.wav").write_bytes(np.random.default_rng(1).bytes(2000))
    (tmp_path / "a.txt").write_text("Text a.", encoding="utf-8")
    (tmp_path / "b.mp3").write_bytes(b"junk")
    (tmp_path / "b.txt").write_text("Text b.", encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_corpus(tmp_path)
    message = str(info.value)
    assert_one_line(message)
    assert "2 skipped" in message
    assert "a.wav" in message  # the first skip is named


def test_corpus_error_is_value_error():
    assert issubclass(CorpusError, ValueError)


def test_demo_text_may_hold_a_pipe_and_short_rows_are_refused(tmp_path):
    write_tone(tmp_path / "audio" / "kal" / "kal_0001.flac", 0.3, 16000)
    (tmp_path / "metadata.csv").write_text("id|speaker|split|text\nkal_0001|kal|test|A | pipe.\n")
    assert read_demo(tmp_path).utterances[0].text == "A | pipe."
    (tmp_path / "metadata.csv").write_text("id|speaker|split|text\nkal_0001|kal|test\n")
    with pytest.raises(CorpusError) as error:
        read_demo(tmp_path)
    assert_one_line(str(error.value))


def test_upper_case_extensions_are_audio(tmp_path):
    write_tone(tmp_path / "spk" / "a.WAV", 0.3, 22050)
    (tmp_path / "spk" / "a.txt").write_text("Loud extension.")
    corpus = read_folder(tmp_path)
    assert [u.text for u in corpus] == ["Loud extension."] and not corpus.skipped


def test_ljspeech_without_metadata_is_a_corpus_error(tmp_path):
    write_tone(tmp_path / "wavs" / "LJ001-0001.wav", 0.3, 22050)
    with pytest.raises(CorpusError, match="metadata.csv"):
        read_ljspeech(tmp_path)
