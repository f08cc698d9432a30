"""Tests for lab/train_dpo.py: the sentence sample, pairs from judged tries, sequence log-probabilities against
the model's own loss, the DPO loss and what it learns, resumable tries, and a whole tiny run (with a
stand-in for the recogniser) that resumes exactly."""
import math
import shutil

import pytest
import torch

from lab import eval as eval_module
from lab import train_dpo
from infer import TTS
from model.batched import score
from model.gpt import GPT, GPTConfig
from model.sequence import TEXT_VOCAB_SIZE, build_example, collate, encode_text

from conftest import CODEBOOK


def test_pick_sentences_is_a_fixed_sample_whatever_the_row_order():
    rows = [{"id": f"{s}_{n}", "speaker": s, "text": f"text {s} {n}"}
            for s in ("a", "b") for n in range(1, 30)]
    picked = train_dpo.pick_sentences(rows, ["a", "b"], 5)
    assert train_dpo.pick_sentences(rows[::-1], ["a", "b"], 5) == picked
    assert [s for s, _, _ in picked] == ["a"] * 5 + ["b"] * 5
    more = train_dpo.pick_sentences(rows, ["a", "b"], 5, offset=5)
    assert not {i for _, i, _ in picked} & {i for _, i, _ in more}
    assert train_dpo.natural_key("a_9") < train_dpo.natural_key("a_10")


def test_make_pairs_takes_the_best_and_worst_try_beyond_the_margin():
    def record(*cers):
        tries = [{"codes": [k], "cer": c} for k, c in enumerate(cers)]
        return {"speaker": "kal", "text": "t", "tries": tries}

    def codes(pairs):
        return [(speaker, text, chosen["codes"], rejected["codes"]) for speaker, text, chosen, rejected in pairs]

    records = [record(0.3, 0.1, 0.5, 0.1), record(0.2, 0.25), record(0.0, 0.0)]
    pairs = train_dpo.make_pairs(records, margin=0.1)
    assert codes(pairs) == [("kal", "t", [1], [2])]  # the first of two equal best; the others are too close
    # a difference of exactly the margin is enough
    assert len(train_dpo.make_pairs([record(0.25, 0.375)], margin=0.125)) == 1
    assert train_dpo.make_pairs([record(0.25, 0.25)], margin=0.0) == []  # equal tries teach nothing
    # all_pairs: every two tries far enough apart, the better one chosen
    every = train_dpo.make_pairs([record(0.3, 0.1, 0.5, 0.1)], margin=0.15, all_pairs=True)
    assert sorted((c[0], r[0]) for _, _, c, r in codes(every)) == [(0, 2), (1, 0), (1, 2), (3, 0), (3, 2)]
    # A try stopped at the length bound is never chosen over one the model ended, whatever its CER
    stopped = record(0.1, 0.3, 0.6)
    stopped["tries"][0]["ended"] = False
    assert codes(train_dpo.make_pairs([stopped], margin=0.1)) == [("kal", "t", [1], [2])]
    assert codes(train_dpo.make_pairs([stopped], 0.1, all_pairs=True)) == [("kal", "t", [1], [2])]



def test_a_stopped_try_has_no_end_target():
    chosen, stopped = {"codes": [3, 4, 5]}, {"codes": [6, 7, 8], "ended": False}
    (_, ended_targets), (_, stopped_targets) = train_dpo.pair_examples([("kal", "t", chosen, stopped)],
                                                                       {"kal": 0}, 512, CODEBOOK)[0]
    assert ended_targets[-4:].tolist() == [3, 4, 5, CODEBOOK]  # the codes, then END
    assert stopped_targets[-1].item() == train_dpo.IGNORE and stopped_targets[-4:-1].tolist() == [6, 7, 8]


def test_sequence_logprobs_are_minus_the_models_loss_per_example():
    """Two examples of different lengths in one padded batch: each row's summed log-probability over its
    targets equals minus the model's own cross-entropy on that example alone, times its target count."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(speech_vocab_size=CODEBOOK, n_layer=2, n_head=2, n_kv_head=1, d_model=32)).eval()
    examples = [build_example(encode_text("one"), [3, 4, 5, 6], TEXT_VOCAB_SIZE, speaker=0,
                              speech_vocab_size=CODEBOOK),
                build_example(encode_text("and two"), [7, 8], TEXT_VOCAB_SIZE, speaker=1,
                              speech_vocab_size=CODEBOOK)]
    ids, targets = collate(examples)
    with torch.no_grad():
        logp, counts = train_dpo.sequence_logprobs(model, ids, targets)
        for row, (example_ids, example_targets) in enumerate(examples):
            _, loss = model(example_ids[None], example_targets[None])
            assert counts[row] == len(example_targets) - (example_targets < 0).sum()
            assert abs(logp[row].item() + loss.item() * counts[row].item()) < 1e-4


def test_dpo_starts_at_log_2_and_learns_to_prefer_the_chosen_try():
    torch.manual_seed(0)
    model = GPT(GPTConfig(speech_vocab_size=CODEBOOK, n_layer=2, n_head=2, n_kv_head=1, d_model=32)).eval()
    gen = torch.Generator().manual_seed(1)
    pairs = [("kal", f"sentence {i}", {"codes": torch.randint(CODEBOOK, (12,), generator=gen).tolist()},
              {"codes": torch.randint(CODEBOOK, (12,), generator=gen).tolist()}) for i in range(4)]
    examples = train_dpo.pair_examples(pairs, {"kal": 0}, model.cfg.max_seq_len, CODEBOOK)
    reference = train_dpo.reference_logprobs(model, examples, 2, torch.device("cpu"))  # (4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(15):
        chosen, rejected, _ = train_dpo.batch_logprobs(model, examples, torch.device("cpu"))
        loss, margin = train_dpo.dpo_loss(chosen, rejected, reference[:, 0], reference[:, 1], beta=0.1)
        if step == 0:  # the model is its own reference: no margin yet
            assert torch.allclose(loss, torch.full_like(loss, math.log(2)), atol=1e-5)
        optimizer.zero_grad()
        loss.mean().backward()
        optimizer.step()
    assert loss.mean() < 0.5 * math.log(2) and bool((margin > 0).all())
    # the margin is the chosen try's gain over the rejected one's, against the reference
    gain = (chosen - reference[:, 0]) - (rejected - reference[:, 1])
    assert torch.allclose(margin, 0.1 * gain)


class StandInPool:
    """In place of eval.recognizer_pool: 'hears' try 0 of every sentence as nothing and the others as
    their text, so each sentence makes one pair (try 1 chosen, try 0 rejected)."""

    def __init__(self, texts):
        self.texts, self.heard = texts, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, function, files):
        self.heard += [f.name for f in files]
        return ["" if f.stem.endswith("_0") else self.texts[f.stem.rsplit("_", 1)[0]] for f in files]


def manifest_texts(codes):
    rows = [line.split("|") for line in (codes / "manifest.csv").read_text().splitlines()[1:]]
    return {row[0]: row[5] for row in rows}


def run_main(monkeypatch, pool, checkpoint, codes, out_dir, *extra):
    monkeypatch.setattr(eval_module, "recognizer_pool", lambda n: pool)
    train_dpo.main(["--init_from", str(checkpoint), "--data", str(codes), "--out_dir", str(out_dir),
                    "--sentences", "3", "--tries", "2", "--val_sentences", "1", "--batch_size", "2",
                    "--lr", "1e-3", "--warmup", "1", "--device", "cpu", *extra])


def test_tries_match_best_of_candidates_and_are_not_spoken_twice(corpus, tmp_path, monkeypatch):
    checkpoint, codes = corpus
    texts = manifest_texts(codes)
    pool = StandInPool(texts)
    run_main(monkeypatch, pool, checkpoint, codes, tmp_path, "--max_steps", "1")
    records = train_dpo.read_jsonl(tmp_path / "tries.jsonl")
    assert len(records) == 6 and len(pool.heard) == 12  # 3 sentences x 2 voices, 2 tries each
    tts = TTS.load(checkpoint)
    for record in records[:2]:
        prefixes, parts = tts.prepare(record["text"], record["speaker"], None, 5000)
        tries = train_dpo.candidates(tts, prefixes[0], parts[0], 2, seed=record["seed"])
        assert [t["codes"] for t in record["tries"]] == tries
        assert [t["cer"] for t in record["tries"]] == [1.0, 0.0]
    # A crash cut the last line short: it is dropped, and only that sentence is spoken again.
    path = tmp_path / "tries.jsonl"
    path.write_text(path.read_text()[:-20])
    pool.heard = []
    run_main(monkeypatch, pool, checkpoint, codes, tmp_path, "--max_steps", "1")
    assert pool.heard == [f"{records[-1]['id']}_{k}.wav" for k in range(2)]
    assert train_dpo.read_jsonl(path) == records
    # Tries of another model in the same folder are refused, not mixed in; so is a last.pt of another script
    other = tmp_path / "other.pt"
    shutil.copy(checkpoint, other)
    other.write_bytes(other.read_bytes() + b"\0")  # another file (another sha256), the same weights
    with pytest.raises(SystemExit, match="tries of another model"):
        run_main(monkeypatch, pool, other, codes, tmp_path, "--max_steps", "1")
    torch.save({"model": {}, "optimizer": {}, "step": 1, "rng": [], "args": {"lr": 1.0}}, tmp_path / "last.pt")
    with pytest.raises(SystemExit, match="not a last.pt of lab/train_dpo.py"):
        run_main(monkeypatch, pool, checkpoint, codes, tmp_path, "--max_steps", "1", "--resume")


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(corpus, tmp_path, monkeypatch):
    checkpoint, codes = corpus
    texts = manifest_texts(codes)
    # uninterrupted: 6 steps, checkpoints at 3 and 6; keep a copy of the one at step 3
    saved = {}
    real_save = train_dpo.atomic_save

    def keeping_save(obj, path):
        real_save(obj, path)
        if path.name == "last.pt" and obj["step"] == 3:
            saved["step3"] = tmp_path / "step3.pt"
            shutil.copy(path, saved["step3"])

    monkeypatch.setattr(train_dpo, "atomic_save", keeping_save)
    run_main(monkeypatch, StandInPool(texts), checkpoint, codes, tmp_path / "a", "--max_steps", "6",
             "--eval_every", "3")
    # interrupted after step 3, then resumed
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "tries.jsonl", tmp_path / "b" / "tries.jsonl")
    shutil.copy(saved["step3"], tmp_path / "b" / "last.pt")
    run_main(monkeypatch, StandInPool(texts), checkpoint, codes, tmp_path / "b", "--max_steps", "6",
             "--eval_every", "3", "--resume")
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = (tmp_path / "b" / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["4", "5", "6"]
    # the tuned model is a plain GPT checkpoint that infer.py loads, and it prefers the chosen tries
    tuned = TTS.load(tmp_path / "a" / "model.pt")
    records = train_dpo.read_jsonl(tmp_path / "a" / "tries.jsonl")
    base = TTS.load(checkpoint)
    gains = []
    for record in records:
        prefixes, _ = base.prepare(record["text"], record["speaker"], None, 5000)
        chosen, rejected = record["tries"][1]["codes"], record["tries"][0]["codes"]
        gains.append((score(tuned.model, prefixes[0], chosen) - score(base.model, prefixes[0], chosen))
                     - (score(tuned.model, prefixes[0], rejected) - score(base.model, prefixes[0], rejected)))
    assert sum(g > 0 for g in gains) >= len(gains) - 1


def test_without_pairs_or_recogniser_it_says_so_in_one_line(corpus, tmp_path, monkeypatch):
    checkpoint, codes = corpus

    class Deaf(StandInPool):
        def map(self, function, files):
            return ["" for _ in files]  # every try equally bad: no pair

    with pytest.raises(SystemExit, match="0 pairs"):
        run_main(monkeypatch, Deaf({}), checkpoint, codes, tmp_path / "deaf")

    def missing(n):
        raise ImportError("pocketsphinx is not installed: pip install -r requirements-extra.txt")

    monkeypatch.setattr(eval_module, "recognizer_pool", missing)
    with pytest.raises(SystemExit, match="needs the recogniser"):
        train_dpo.main(["--init_from", str(checkpoint), "--data", str(codes),
                        "--out_dir", str(tmp_path / "x"), "--device", "cpu"])
