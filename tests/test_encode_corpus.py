"""Encoding a corpus to tokens: the stored codes equal what the codec says, and the job resumes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dataset import encode_corpus
from dataset.audio import load_audio
from dataset.encode_corpus import load_codes
from tokenizer.codec import Codec, CodecConfig

ROOT = Path(__file__).resolve().parents[1]
TINY = CodecConfig(encoder_channels=8, encoder_max_channels=16, codebook_size=32, codebook_dim=8,
                   decoder_dim=32, decoder_intermediate=64, decoder_layers=2)


def make_corpus(tmp_path, lengths, seed=0):
    """A tiny codec (tmp_path/codec.pt) and a one-speaker corpus of noise utterances u0, u1, ... of these
    lengths in samples (tmp_path/corpus/spk). Returns (codec path, speaker folder, numpy generator)."""
    torch.manual_seed(0)
    codec_path = tmp_path / "codec.pt"
    Codec(TINY).save(codec_path)
    corpus = tmp_path / "corpus" / "spk"
    corpus.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i, n_samples in enumerate(lengths):
        sf.write(corpus / f"u{i}.wav", 0.3 * rng.standard_normal(n_samples), 16000)
        (corpus / f"u{i}.txt").write_text(f"Sentence {i}.")
    return codec_path, corpus, rng


def test_encode_corpus_stores_the_codec_tokens_and_resumes(tmp_path):
    codec_path, corpus, rng = make_corpus(tmp_path, [3000, 4800, 7001])
    codec = Codec.load(codec_path)
    (corpus / "broken.wav").write_bytes(b"not audio at all")
    (corpus / "broken.txt").write_text("Lost.")
    out = tmp_path / "codes"
    command = [sys.executable, str(ROOT / "dataset" / "encode_corpus.py"), "--data", str(tmp_path / "corpus"),
               "--codec", str(codec_path), "--out_dir", str(out), "--part_size", "2"]
    subprocess.run(command, check=True, capture_output=True)
    codes, rows, info = load_codes(out)
    assert codes.dtype == np.uint16 and info["codebook_size"] == 32
    assert [r["id"] for r in rows] == ["u0", "u1", "u2"]  # broken.wav skipped
    for row in rows:
        expected = codec.encode(load_audio(corpus / f"{row['id']}.wav")).numpy()
        assert np.array_equal(codes[row["offset"]: row["offset"] + row["length"]], expected)
    assert [r["length"] for r in rows] == [10, 15, 22]  # ceil(samples / 320)
    assert not (out / "parts").exists()

    # Resume: a part left by an interrupted run is reused as it is, not recomputed, if it holds the same
    # utterances. Plant part 0 (u0, u1) with recognisable codes for u1, part 1 with the right lengths but
    # another utterance's id, and remove the finished manifest.
    planted = np.full(15, 7, dtype=np.uint16)
    (out / "parts").mkdir()
    np.savez(out / "parts" / "part00000.npz", codes=np.concatenate([codes[:10], planted]),
             lengths=np.array([10, 15]), ids=np.array(["spk/u0", "spk/u1"]))
    np.savez(out / "parts" / "part00001.npz", codes=np.full(22, 3, dtype=np.uint16), lengths=np.array([22]),
             ids=np.array(["spk/u1"]))
    (out / "manifest.csv").unlink()
    subprocess.run(command, check=True, capture_output=True)
    resumed, rows, _ = load_codes(out)
    assert np.array_equal(resumed[10:25], planted)  # part 0 came from disk
    assert np.array_equal(resumed[25:], codes[25:])  # part 1 (u2) was encoded again, identically
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "already encoded" in result.stdout and not (out / "parts").exists()  # nothing done, nothing left

    # Growth: a new utterance joins the corpus. What the folder already holds from this codec is kept
    # (plant recognisable codes for u2 to see that), and only the new utterance is encoded.
    codes, rows, _ = load_codes(out)
    assert shard_names(out) == ["codes-000.npy"]
    np.save(out / "codes-000.npy", np.concatenate([codes[:25], np.full(22, 9, dtype=np.uint16)]))
    sf.write(corpus / "u3.wav", 0.3 * rng.standard_normal(2000), 16000)
    (corpus / "u3.txt").write_text("Sentence 3.")
    subprocess.run(command, check=True, capture_output=True)
    grown, rows, _ = load_codes(out)
    assert [r["id"] for r in rows] == ["u0", "u1", "u2", "u3"]
    assert np.array_equal(grown[:25], resumed[:25]) and np.array_equal(grown[25:47], np.full(22, 9))
    assert np.array_equal(grown[47:], codec.encode(load_audio(corpus / "u3.wav")).numpy())
    assert shard_names(out) == ["codes-000.npy", "codes-001.npy"]  # a new file; the old one as it was

    # Audio that is not here (a fresh clone holds only the committed part of the demo audio) does not
    # make its codes disappear: with nothing new to encode the folder stays as it is; with something new
    # (make_demo.py --skip_encoded makes audio for new sentences only) they keep their place and the new
    # utterance follows them; dropping them takes --drop_missing.
    (corpus / "u1.wav").rename(tmp_path / "u1.wav")
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "already encoded" in result.stdout and "1 of them without audio here" in result.stdout
    assert np.array_equal(load_codes(out)[0], grown)
    sf.write(corpus / "u4.wav", 0.3 * rng.standard_normal(2500), 16000)
    (corpus / "u4.txt").write_text("Sentence 4.")
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "keeping the codes of 1 utterances" in result.stdout
    kept, rows, _ = load_codes(out)
    assert [r["id"] for r in rows] == ["u0", "u1", "u2", "u3", "u4"]
    assert np.array_equal(kept[:len(grown)], grown)
    assert np.array_equal(kept[len(grown):], codec.encode(load_audio(corpus / "u4.wav")).numpy())
    (tmp_path / "u1.wav").rename(corpus / "u1.wav")
    (corpus / "u4.wav").unlink()
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "1 of them without audio here" in result.stdout and np.array_equal(load_codes(out)[0], kept)
    subprocess.run(command + ["--drop_missing"], check=True, capture_output=True)  # u4 gone
    dropped, rows, _ = load_codes(out)
    assert [r["id"] for r in rows] == ["u0", "u1", "u2", "u3"] and np.array_equal(dropped, grown)
    assert shard_names(out) == ["codes-000.npy", "codes-001.npy"]  # u4's file went with it
    (corpus / "u4.txt").unlink()

    # A new decoder (train_tokenizer.py --decoder_only) makes the same codes: nothing is encoded again,
    # and info.json names the new file. A changed encoder means other codes: everything is encoded anew.
    new_decoder = Codec.load(codec_path)
    new_decoder.decoder.head.bias.data += 1
    new_decoder.save(codec_path)
    assert new_decoder.tokens_sha256() == info["tokens_sha256"]
    np.save(out / "codes-001.npy", np.full(len(grown) - 47, 5, dtype=np.uint16))
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "already encoded" in result.stdout
    kept, _, new_info = load_codes(out)
    assert np.array_equal(kept[47:], np.full(len(grown) - 47, 5))  # planted codes untouched
    assert new_info["tokens_sha256"] == info["tokens_sha256"] and new_info["codec_sha256"] != info["codec_sha256"]
    new_encoder = Codec.load(codec_path)
    new_encoder.encoder.input.bias.data += 1
    new_encoder.save(codec_path)
    subprocess.run(command, check=True, capture_output=True)
    recoded, _, recoded_info = load_codes(out)
    assert recoded_info["tokens_sha256"] != info["tokens_sha256"]
    assert np.array_equal(recoded[47:], new_encoder.encode(load_audio(corpus / "u3.wav")).numpy())
    assert shard_names(out) == ["codes-000.npy"]

    # A changed transcript (an edited sentences.txt, spoken anew): that utterance is encoded again.
    np.save(out / "codes-000.npy", np.concatenate([np.full(10, 4, dtype=np.uint16), recoded[10:]]))
    (corpus / "u0.txt").write_text("Another sentence.")
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    assert "1 utterances have another text" in result.stdout
    codes, rows, _ = load_codes(out)
    assert [(r["id"], r["text"]) for r in rows] == [("u1", "Sentence 1."), ("u2", "Sentence 2."),
                                                   ("u3", "Sentence 3."), ("u0", "Another sentence.")]
    assert np.array_equal(codes[:len(recoded) - 10], recoded[10:])  # the others kept
    assert np.array_equal(codes[-10:], new_encoder.encode(load_audio(corpus / "u0.wav")).numpy())


def shard_names(folder):
    return sorted(path.name for path in folder.glob("codes-*"))


def test_codes_files_are_split_and_grow_by_new_files(tmp_path, monkeypatch):
    monkeypatch.setattr(encode_corpus, "SHARD_CODES", 10)
    codes = np.arange(25, dtype=np.uint16)
    assert encode_corpus.write_codes(tmp_path, codes, keep=0) == []
    assert [len(np.load(tmp_path / name)) for name in shard_names(tmp_path)] == [10, 10, 5]
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in shard_names(tmp_path)}
    (tmp_path / "manifest.csv").write_text("stands for the manifest of the 25 codes\n")
    grown = np.arange(32, dtype=np.uint16)
    assert encode_corpus.write_codes(tmp_path, grown, keep=25) == []
    assert shard_names(tmp_path) == ["codes-000.npy", "codes-001.npy", "codes-002.npy", "codes-003.npy"]
    assert all((tmp_path / name).stat().st_mtime_ns == t for name, t in before.items())  # not rewritten
    assert np.array_equal(np.concatenate([np.load(tmp_path / n) for n in shard_names(tmp_path)]), grown)
    assert (tmp_path / "manifest.csv").is_file()  # growth leaves the manifest until the new one replaces it
    # Codes kept up to the middle of a file (an utterance dropped there): everything is written again,
    # and the file left over is returned for deletion. The manifest, which describes the old files, goes
    # first.
    unused = encode_corpus.write_codes(tmp_path, grown[:20], keep=15)
    assert unused == [tmp_path / "codes-002.npy", tmp_path / "codes-003.npy"]
    assert np.array_equal(np.load(tmp_path / "codes-001.npy"), grown[10:20])
    assert not (tmp_path / "manifest.csv").exists()


def test_codes_shorter_than_the_manifest_are_a_clear_error(tmp_path):
    np.save(tmp_path / "codes-000.npy", np.zeros(5, dtype=np.uint16))
    (tmp_path / "manifest.csv").write_text("id|speaker|split|offset|length|text\nu0|spk|train|0|9|Hi.\n")
    (tmp_path / "info.json").write_text("{}")
    with pytest.raises(ValueError, match="end before manifest.csv does: delete manifest.csv"):
        load_codes(tmp_path)
    # A folder encoded before the codes were split into files:
    (tmp_path / "codes-000.npy").rename(tmp_path / "codes.npy")
    with pytest.raises(ValueError, match="rename codes.npy to codes-000.npy"):
        load_codes(tmp_path)


def test_a_crash_while_the_codes_are_rewritten_leaves_no_stale_manifest(tmp_path, monkeypatch):
    """--drop_missing of the first utterance rewrites the codes file the manifest points into. If the run
    dies before the new manifest is written, the next run must not pair the old manifest with the new
    codes: it assembles the folder again from the parts."""
    codec_path, corpus, _ = make_corpus(tmp_path, [3200, 4800, 6400], seed=1)
    out = tmp_path / "codes"
    argv = ["encode_corpus.py", "--data", str(tmp_path / "corpus"), "--codec", str(codec_path),
            "--out_dir", str(out), "--part_size", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    encode_corpus.main()
    codes, rows, _ = load_codes(out)
    expected = {row["id"]: codes[row["offset"]: row["offset"] + row["length"]].copy() for row in rows}

    (corpus / "u0.wav").unlink()
    (corpus / "u0.txt").unlink()
    write_atomic = encode_corpus.write_atomic

    def crash_at_the_manifest(path, write):
        if path.name == "manifest.csv":
            raise KeyboardInterrupt("the run dies here")
        write_atomic(path, write)

    monkeypatch.setattr(encode_corpus, "write_atomic", crash_at_the_manifest)
    monkeypatch.setattr(sys, "argv", argv + ["--drop_missing"])
    with pytest.raises(KeyboardInterrupt):
        encode_corpus.main()
    assert not (out / "manifest.csv").exists()  # removed before its codes changed
    monkeypatch.setattr(encode_corpus, "write_atomic", write_atomic)
    monkeypatch.setattr(sys, "argv", argv)
    encode_corpus.main()
    codes, rows, _ = load_codes(out)
    assert [row["id"] for row in rows] == ["u1", "u2"]
    for row in rows:
        assert np.array_equal(codes[row["offset"]: row["offset"] + row["length"]], expected[row["id"]])
    assert not (out / "parts").exists()


def test_same_file_names_in_two_speakers_folders_are_two_utterances(tmp_path):
    """A folder corpus of spk1/001.wav and spk2/001.wav: the ids repeat, the utterances do not."""
    codec_path, spk1, rng = make_corpus(tmp_path, [3200])
    spk2 = spk1.parent / "spk2"
    spk2.mkdir()
    sf.write(spk2 / "u0.wav", 0.3 * rng.standard_normal(4800), 16000)
    (spk2 / "u0.txt").write_text("Another sentence.")
    out = tmp_path / "codes"
    command = [sys.executable, str(ROOT / "dataset" / "encode_corpus.py"), "--data", str(tmp_path / "corpus"),
               "--codec", str(codec_path), "--out_dir", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    codec = Codec.load(codec_path)
    codes, rows, _ = load_codes(out)
    assert [(r["speaker"], r["id"], r["length"]) for r in rows] == [("spk", "u0", 10), ("spk2", "u0", 15)]
    for row, folder in zip(rows, (spk1, spk2)):
        expected = codec.encode(load_audio(folder / "u0.wav")).numpy()
        assert np.array_equal(codes[row["offset"]: row["offset"] + row["length"]], expected)
    sf.write(spk2 / "u1.wav", 0.3 * rng.standard_normal(2000), 16000)  # growth keeps both
    (spk2 / "u1.txt").write_text("A third one.")
    subprocess.run(command, check=True, capture_output=True)
    grown, rows, _ = load_codes(out)
    assert [(row["speaker"], row["id"]) for row in rows] == [("spk", "u0"), ("spk2", "u0"), ("spk2", "u1")]
    assert np.array_equal(grown[:25], codes)
