"""Tests for lab/teacher_forced_codes.py: the guided logits of a padded batch against one position at a
time, and a whole tiny run: which utterances, their lengths, the share left true, the files it writes."""
import json
import sys

import numpy as np
import pytest
import torch

from lab import teacher_forced_codes as tf
from dataset.encode_corpus import load_codes
from dataset.speech_tokens import SpeechTokens
from model.gpt import GPT, GPTConfig
from model.sequence import SPEECH_START

from conftest import CODEBOOK, make_codes_folder


def test_guided_logits_of_a_padded_batch_match_one_position_at_a_time():
    torch.manual_seed(3)
    model = GPT(GPTConfig(speech_vocab_size=CODEBOOK, n_layer=2, n_head=2, n_kv_head=1, d_model=32,
                          max_seq_len=256)).eval()
    rows = [dict(id="a", speaker="kal", split="train", offset=0, length=7, text="A longer first sentence."),
            dict(id="b", speaker="kal", split="train", offset=7, length=3, text="Hi.")]
    data = SpeechTokens(np.arange(10, dtype=np.uint16) % CODEBOOK, rows, {"codebook_size": CODEBOOK},
                        {"kal": 0}, 256)
    examples = [(data[i][0], data[(i, None, True)][0]) for i in range(2)]
    with torch.no_grad():
        for scale in (1.0, 1.5):
            got = tf.speech_logits(model, examples, scale)
            for (ids, plain), logits in zip(examples, got):
                start, plain_start = [int((x == SPEECH_START).nonzero()[0]) for x in (ids, plain)]
                n_codes = len(ids) - start - 1
                assert logits.shape == (n_codes, CODEBOOK + 1)  # the codes and END
                for t in range(n_codes):  # the position after SPEECH_START and the first t true codes
                    with_text = model(ids[None, : start + 1 + t])[0][0, -1]
                    without = model(plain[None, : plain_start + 1 + t])[0][0, -1]
                    expected = with_text if scale == 1.0 else without + scale * (with_text - without)
                    torch.testing.assert_close(logits[t], expected, atol=1e-4, rtol=1e-4)


def run(monkeypatch, checkpoint, codes, out_dir, *extra):
    monkeypatch.setattr(sys, "argv", ["lab/teacher_forced_codes.py", "--checkpoint", str(checkpoint), "--codes",
                                      str(codes), "--out_dir", str(out_dir), *extra])
    tf.main()
    return load_codes(out_dir)


def test_a_run_writes_each_train_utterance_at_its_length(corpus, tmp_path, monkeypatch):
    checkpoint, codes_folder = corpus
    true_codes, true_rows, _ = load_codes(codes_folder)
    train = [r for r in true_rows if r["split"] == "train"]
    codes, rows, info = run(monkeypatch, checkpoint, codes_folder, tmp_path / "a")
    assert [(r["id"], r["length"], r["text"]) for r in rows] == [(r["id"], r["length"], r["text"]) for r in train]
    assert codes.dtype == np.uint16 and len(codes) == sum(r["length"] for r in train) and codes.max() < CODEBOOK
    made = info["teacher_forced"]
    assert made["cfg_scale"] == 1.5 and made["clean_fraction"] == 0.0  # the model's guidance: it has text dropout
    assert 0 <= made["same_as_true"] < 0.5  # an untrained model: near chance (1 in 32)
    assert info["codebook_size"] == CODEBOOK

    again, _, _ = run(monkeypatch, checkpoint, codes_folder, tmp_path / "b")
    assert np.array_equal(again, codes)  # the same seed, the same codes

    kept, rows, _ = run(monkeypatch, checkpoint, codes_folder, tmp_path / "c", "--clean_fraction", "1")
    assert np.array_equal(kept, np.concatenate([true_codes[r["offset"]: r["offset"] + r["length"]] for r in train]))

    _, rows, _ = run(monkeypatch, checkpoint, codes_folder, tmp_path / "d", "--limit", "2")
    assert [r["id"] for r in rows] == [r["id"] for r in tf.first_per_speaker(train, 2)] == ["u0", "u1", "u2", "u3"]


def test_bad_arguments_stop_with_one_line(corpus, tmp_path, monkeypatch):
    checkpoint, codes_folder = corpus
    with pytest.raises(SystemExit, match="must not be the --codes folder"):
        run(monkeypatch, checkpoint, codes_folder, codes_folder)
    with pytest.raises(SystemExit, match="a share, from 0 to 1"):
        run(monkeypatch, checkpoint, codes_folder, tmp_path / "x", "--clean_fraction", "2")
    with pytest.raises(SystemExit, match="top_k 0"):
        run(monkeypatch, checkpoint, codes_folder, tmp_path / "x", "--top_k", "0")
    with pytest.raises(SystemExit, match="--batch_size must be at least 1"):
        run(monkeypatch, checkpoint, codes_folder, tmp_path / "x", "--batch_size", "0")
    with pytest.raises(SystemExit, match="no test utterance"):
        run(monkeypatch, checkpoint, codes_folder, tmp_path / "y", "--split", "test")
    other = make_codes_folder(tmp_path / "other", n_utterances=4)
    info = json.loads((other / "info.json").read_text())
    (other / "info.json").write_text(json.dumps(dict(info, tokens_sha256="of another codec",
                                                     codec_sha256="of another file")))
    with pytest.raises(SystemExit, match="codes of another codec"):
        run(monkeypatch, checkpoint, other, tmp_path / "z")
    assert not (tmp_path / "z").exists()  # nothing written
