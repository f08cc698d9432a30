"""Tests for GPT training: the length-bucketed sampler and its DDP shards, voice prompts, LoRA, DDP
gradients against one process, and train_pretrain.py / train_sft.py end to end on fabricated codes
(a tiny codec, a tiny model, a few steps)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from dataset.encode_corpus import file_sha256
from dataset.speech_tokens import LengthBucketSampler, SpeechTokens, extend_speaker_map
from model.gpt import GPT, GPTConfig
from model.lora import LoRALinear, add_lora, merged_state_dict
from model.sequence import IGNORE, SPEECH_START, START, TEXT_VOCAB_SIZE, collate, encode_text
from tokenizer.codec import Codec
from train_common import CSVLog, cosine_lr, setup_distributed, teardown_distributed
from train_pretrain import forward_backward

from conftest import CODEBOOK, fabricate_rows, make_codes_folder

ROOT = Path(__file__).resolve().parents[1]
TINY_GPT = ["--n_layer", "2", "--d_model", "32", "--n_head", "2", "--n_kv_head", "1", "--max_seq_len", "256"]
FAST = ["--device", "cpu", "--max_tokens", "1024", "--warmup", "1", "--eval_every", "2",
        "--sample_every", "2", "--save_every", "2"]


def tiny_dataset(lengths, speakers=("kal", "slt"), prompt_prob=0.0, max_seq_len=512, text_dropout=0.0):
    rows, codes = fabricate_rows(lengths, speakers)
    speaker_map = extend_speaker_map({}, speakers)
    return SpeechTokens(codes, rows, {"codebook_size": CODEBOOK}, speaker_map, max_seq_len, prompt_prob,
                        text_dropout)


def test_time_budget_is_the_whole_runs_and_a_resume_keeps_the_schedule(monkeypatch):
    import train_common
    clock = [0.0]
    monkeypatch.setattr(train_common.time, "time", lambda: clock[0])
    budget = train_common.TimeBudget(minutes=10, max_steps=100_000, first_step=0, warm_steps=2)
    assert budget.total(0) == budget.total(1) == 100_000  # warming up: no pace yet
    totals = []
    for step in range(2, 6):  # one step a second from step 2 on
        totals.append(budget.total(step))
        clock[0] += 1.0
    assert totals[-1] == 5 + (600 - 3)  # at step 5, 597 s left at one step a second
    state = budget.state()
    assert state == {"spent": 4.0, "estimate": 602, "minutes": 10}

    # Resumed (later, at step 6): the saved estimate holds while warming up, and only 596 s are left.
    clock[0] = 1000.0
    resumed = train_common.TimeBudget(minutes=10, max_steps=100_000, first_step=6, warm_steps=2, saved=state)
    assert resumed.total(6) == resumed.total(7) == 602
    for step in range(8, 12):  # two seconds a step now
        total = resumed.total(step)
        clock[0] += 2.0
    assert total == 11 + int((596 - 6) / 2)
    assert train_common.TimeBudget(None, 50, 0, saved=state).total(30) == 50  # no budget: max_steps

    # A run resumed after its end has nothing left, unless it is given more minutes than it had.
    finished = dict(state, estimate=602)
    over = train_common.TimeBudget(minutes=10, max_steps=100_000, first_step=602, saved=finished)
    assert over.over and over.total(602) == 602
    longer = train_common.TimeBudget(minutes=20, max_steps=100_000, first_step=602, warm_steps=2, saved=finished)
    assert not longer.over and longer.total(602) == 603  # goes on; the pace decides how far
    unbudgeted = train_common.TimeBudget(None, 50, 0).state()  # a run without --max_minutes, resumed
    assert train_common.TimeBudget(None, 80, 50, saved=unbudgeted).total(50) == 80
    assert not train_common.TimeBudget(5, 80, 50, saved=unbudgeted).over
    # The time a resumed run logs goes on from what the interrupted one had spent, budget or none.
    assert train_common.TimeBudget(None, 80, 50, saved=dict(unbudgeted, spent=100.0)).state()["spent"] >= 100


def test_held_out_validation_keeps_speakers_apart_when_ids_repeat(tmp_path):
    """A corpus without a val split (spk1/001.wav beside spk2/001.wav): validation holds out utterances
    by speaker and id, so every utterance lands in exactly one of the two sets."""
    import argparse

    from dataset.speech_tokens import load_data
    folder = make_codes_folder(tmp_path / "codes", n_utterances=40)
    lines = (folder / "manifest.csv").read_text().splitlines()
    fields = [line.split("|") for line in lines[1:]]
    lines = lines[:1] + ["|".join([f"{i // 2:03d}", f[1], "train", *f[3:]]) for i, f in enumerate(fields)]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")  # ids 000, 000, 001, 001, ...: kal, slt
    args = argparse.Namespace(data=folder, split="train", speakers=None, max_utterances=None,
                              val_utterances=4, prompt_prob=0.0, text_dropout=0.0)
    train_set, val_set = load_data(args, max_seq_len=512)
    assert len(val_set) == 2 and len(train_set) + len(val_set) == 40


def run_script(script, *args):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def tiny_gpt(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(speech_vocab_size=CODEBOOK, n_layer=2, n_head=2, n_kv_head=1, d_model=32,
                         max_seq_len=128))


# 1. Data: bucketed batches, DDP shards, voice prompts

def padding_share(batches, dataset):
    padded = sum(len(b) * max(dataset.length(*item) for item in b) for b in batches)
    return 1 - sum(dataset.length(*item) for b in batches for item in b) / padded


def test_sampler_covers_every_example_once_in_batches_of_similar_length():
    dataset = tiny_dataset(np.random.default_rng(0).integers(10, 300, 400))
    sampler = LengthBucketSampler(dataset, max_tokens=2000, batch_size=32, seed=3, pool_size=128)
    epochs = [sampler.epoch_batches(epoch) for epoch in range(2)]
    for batches in epochs:
        assert sorted(i for b in batches for i, _ in b) == list(range(len(dataset)))
        for b in batches:
            assert len(b) <= 32 and len(b) * max(dataset.length(*item) for item in b) <= 2000
        # Same batch sizes, random contents: a large share of padding. Bucketed: little.
        shuffled = np.random.default_rng(0).permutation([item for b in batches for item in b]).tolist()
        random_batches, start = [], 0
        for b in batches:
            random_batches.append(shuffled[start: start + len(b)])
            start += len(b)
        assert padding_share(batches, dataset) < 0.1
        assert padding_share(random_batches, dataset) > 0.3
    assert epochs[0] != epochs[1]  # a new order every epoch, fixed by the seed
    assert LengthBucketSampler(dataset, 2000, 32, seed=3, pool_size=128).epoch_batches(1) == epochs[1]

    # Iterating goes on across epochs, and `start` skips what a resumed run has already used.
    sequence = epochs[0] + epochs[1]
    for start in (0, 5, len(epochs[0]) + 2):
        resumed = iter(LengthBucketSampler(dataset, 2000, 32, seed=3, pool_size=128, start=start))
        assert [next(resumed) for _ in range(3)] == sequence[start: start + 3]


def test_ddp_shards_are_disjoint_and_cover_everything():
    dataset = tiny_dataset(np.random.default_rng(1).integers(10, 300, 301), prompt_prob=0.3)
    whole = LengthBucketSampler(dataset, max_tokens=1500, seed=7).epoch_batches(4)
    shards = [LengthBucketSampler(dataset, max_tokens=1500, seed=7, rank=rank, world_size=3).epoch_batches(4)
              for rank in range(3)]
    # The batches of one process, dealt out evenly.
    assert sorted(map(str, whole)) == sorted(str(b) for shard in shards for b in shard)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    indices = [i for shard in shards for b in shard for i, _ in b]
    assert sorted(indices) == list(range(len(dataset)))  # disjoint and complete


def test_voice_prompts_are_same_speaker_utterances_without_loss():
    lengths = [12, 30, 7, 25, 18, 9, 40, 15, 22, 11]
    dataset = tiny_dataset(lengths, prompt_prob=1.0)
    rng = np.random.default_rng(0)
    end = CODEBOOK
    for index in range(len(dataset)):
        prompt = dataset.draw_prompt(index, rng)
        row, prompt_row = dataset.rows[index], dataset.rows[prompt]
        assert prompt != index and prompt_row["speaker"] == row["speaker"]
        ids, targets = dataset[(index, prompt)]
        codes, prompt_codes = dataset.speech_codes(index), dataset.speech_codes(prompt)
        # No speaker token: the prompt alone carries the voice.
        assert ids.tolist() == [START, *encode_text(prompt_row["text"]), *encode_text(row["text"]), SPEECH_START,
                                *(TEXT_VOCAB_SIZE + c for c in prompt_codes + codes)]
        learned = len(ids) - len(codes) - 1  # the last prompt code: it predicts the first code to learn
        assert (targets[:learned] == IGNORE).all()  # text, prompt text and prompt codes: no loss
        assert targets[learned:].tolist() == codes + [end]
        assert len(ids) == dataset.length(index, prompt)
    plan = LengthBucketSampler(dataset, max_tokens=400, seed=0).epoch_batches(0)
    assert all(prompt is not None for b in plan for _, prompt in b)

    plain = tiny_dataset(lengths, prompt_prob=0.0)
    assert all(plain.draw_prompt(i, rng) is None for i in range(len(plain)))
    plan = LengthBucketSampler(plain, max_tokens=400, seed=0).epoch_batches(0)
    assert all(prompt is None for b in plan for _, prompt in b)
    ids, targets = plain[3]
    assert len(ids) == plain.lengths[3] and (targets != IGNORE).sum() == len(plain.speech_codes(3)) + 1

    # A prompt never pushes an example past max_seq_len; utterances too long on their own are left out.
    short = tiny_dataset([12, 200, 30, 40, 5], prompt_prob=1.0, max_seq_len=60)
    assert short.dropped == 1 and len(short) == 4
    drawn = [(i, short.draw_prompt(i, rng)) for i in range(len(short)) for _ in range(20)]
    assert all(short.length(*item) <= 60 for item in drawn)
    assert {prompt is None for _, prompt in drawn} == {True, False}  # some pairs fit, some don't


def test_text_dropout_leaves_out_both_texts_and_keeps_the_loss():
    lengths = [12, 30, 7, 25, 18, 9, 40, 15, 22, 11] * 3
    dataset = tiny_dataset(lengths, prompt_prob=0.5, text_dropout=0.3)
    rng = np.random.default_rng(0)
    items = [dataset.draw(i, rng) for i in range(len(dataset)) for _ in range(10)]
    dropped = [item for item in items if len(item) == 3]
    assert 0.15 < len(dropped) / len(items) < 0.45
    assert any(prompt is not None for _, prompt, _ in dropped) and any(prompt is None for _, prompt, _ in dropped)
    for item in dropped:
        index, prompt, _ = item
        ids, targets = dataset[item]
        assert (ids >= 256).all()  # no byte of either text is left
        full_ids, full_targets = dataset[(index, prompt)]
        assert len(ids) == dataset.length(*item) == len(full_ids) - len(dataset.text_ids[index]) - (
            0 if prompt is None else len(dataset.text_ids[prompt]))
        # The same speech and the same loss positions, only the text gone.
        assert ids.tolist() == [t for t in full_ids.tolist() if t >= 256]
        assert [t for t in targets.tolist() if t != IGNORE] == [t for t in full_targets.tolist() if t != IGNORE]
    # Switched off, it draws nothing: the batches of runs before text dropout stay the same.
    plain = tiny_dataset(lengths, prompt_prob=0.5)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert [plain.draw(i, rng_a) for i in range(len(plain))] == [(i, plain.draw_prompt(i, rng_b))
                                                                 for i in range(len(plain))]
    plan = LengthBucketSampler(dataset, max_tokens=400, seed=0).epoch_batches(0)
    assert any(len(item) == 3 for b in plan for item in b)
    assert all(len(b) * max(dataset.length(*item) for item in b) <= 400 or len(b) == 1 for b in plan)


def test_speech_per_byte_leaves_out_short_texts_unless_there_are_only_short_ones():
    rows, codes = fabricate_rows([100, 40, 30], ("kal",))
    rows[0]["text"], rows[1]["text"], rows[2]["text"] = "Hi.", "A sentence long enough.", "Another one, long enough too."
    data = SpeechTokens(codes, rows, {"codebook_size": CODEBOOK}, {"kal": 0}, 512, 0.0)
    long_rates = [40 / len(encode_text(rows[1]["text"])), 30 / len(encode_text(rows[2]["text"]))]
    assert np.allclose(data.speech_per_byte(), long_rates)  # "Hi." (33 codes a byte) is left out
    assert np.allclose(data.speech_per_byte(min_bytes=1000), [100 / 3] + long_rates)  # none that long: all


def test_cosine_schedule():
    assert cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert cosine_lr(55, 100, 10, 1.0) == pytest.approx(0.55)  # halfway down from 1 to 0.1
    assert cosine_lr(100, 100, 10, 1.0) == pytest.approx(0.1)
    # A run shorter than twice its warm-up warms up over its first half, then reaches the peak and decays.
    short = [cosine_lr(s, 6, 200, 1.0) for s in range(7)]
    assert short[:4] == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0]) and 1.0 > short[4] > short[5] > short[6]
    assert short[6] == pytest.approx(0.1)
    assert cosine_lr(0, 1, 200, 1.0) == pytest.approx(1.0)


# 2. LoRA

def test_lora_trains_only_the_low_rank_matrices_and_merges_exactly():
    torch.manual_seed(0)
    linear = nn.Linear(16, 12, bias=False)
    wrapped = LoRALinear(linear, rank=4, alpha=8.0)
    x = torch.randn(5, 16)
    assert torch.equal(wrapped(x), linear(x))  # B starts at zero: the pretrained layer, unchanged

    model = add_lora(tiny_gpt(), rank=4, alpha=8.0)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert len(trainable) == 2 * 6 * 2  # A and B of query, key_value, proj, gate, up, down in 2 blocks
    assert all(name.endswith(("lora_a", "lora_b")) for name in trainable)
    with pytest.raises(ValueError, match="LoRA layers already"):  # a second call would freeze the first
        add_lora(model, rank=4, alpha=8.0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    ids, targets = collate([tiny_dataset([20, 30, 25])[i] for i in range(3)])
    optimizer = model.configure_optimizers(0.1, 1e-2, (0.9, 0.95), "cpu")
    for _ in range(3):
        _, loss = model(ids, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) == (name not in trainable), name

    layer = model.blocks[1].mlp.up
    merged = nn.Linear(layer.base.in_features, layer.base.out_features, bias=False)
    merged.weight.data = layer.merged_weight().detach()
    torch.testing.assert_close(merged(x.new_ones(3, 32)), layer(x.new_ones(3, 32)), atol=1e-6, rtol=0)
    plain = GPT(model.cfg)
    plain.load_state_dict(merged_state_dict(model))  # strict: exactly a plain GPT's keys
    with torch.no_grad():
        torch.testing.assert_close(plain(ids)[0], model(ids)[0], atol=1e-5, rtol=0)


# 3. DDP: two processes give the gradient of the whole batch

def ddp_worker(rank, port, rank_batches, out_file):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed = setup_distributed("cpu")
    model = DistributedDataParallel(tiny_gpt())
    loss, _ = forward_backward(model, rank_batches[rank], distributed.device, distributed.world_size)
    if rank == 0:
        torch.save({"loss": loss, "grads": {n: p.grad for n, p in model.module.named_parameters()}}, out_file)
    teardown_distributed()


def test_ddp_gradients_equal_one_process_on_the_concatenated_batch(tmp_path):
    dataset = tiny_dataset([20, 35, 8, 50, 14, 27, 41, 9, 30])
    examples = [dataset[i] for i in range(len(dataset))]
    # Each rank: two micro-batches (gradient accumulation) with different numbers of target tokens.
    rank_batches = [[collate(examples[0:2]), collate(examples[2:5])],
                    [collate(examples[5:6]), collate(examples[6:9])]]
    for attempt in range(3):  # a free port may be taken by another process before the workers bind it
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            mp.spawn(ddp_worker, args=(port, rank_batches, tmp_path / "ddp.pt"), nprocs=2, join=True)
            break
        except Exception as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    ddp = torch.load(tmp_path / "ddp.pt")

    model = tiny_gpt()
    _, loss = model(*collate(examples))  # the mean over every target token of both ranks
    loss.backward()
    assert ddp["loss"] == pytest.approx(loss.item(), abs=1e-5)
    for name, p in model.named_parameters():
        torch.testing.assert_close(ddp["grads"][name], p.grad, atol=1e-5, rtol=0, msg=name)


# 4. The scripts, end to end

@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A fabricated codes folder and two steps of train_pretrain.py on it."""
    root = tmp_path_factory.mktemp("training")
    codes, out = make_codes_folder(root / "codes"), root / "pretrain"
    result = run_script("train_pretrain.py", "--data", codes, "--out_dir", out, "--max_steps", 2,
                        *TINY_GPT, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    return codes, out


def test_pretrain_writes_checkpoints_log_and_samples_and_resumes(pretrained):
    codes, out = pretrained
    for name in ("last.pt", "model.pt", "log.csv", "samples/step000002.wav", "samples/reference.wav"):
        assert (out / name).is_file(), name
    model = torch.load(out / "model.pt", weights_only=True)  # inference file: plain data only
    assert model["speaker_map"] == {"kal": 0, "slt": 1}
    assert model["codes_info"]["codec_sha256"] == file_sha256(codes / "codec.pt")
    assert all(v.dtype == torch.float16 for v in model["state_dict"].values())
    GPT(GPTConfig(**model["config"])).load_state_dict(model["state_dict"])

    # Resumed with other flags: today's weight decay holds, and a changed batch shape is named.
    result = run_script("train_pretrain.py", "--data", codes, "--out_dir", out, "--max_steps", 4, "--resume",
                        *TINY_GPT, *FAST, "--grad_accum", 2, "--weight_decay", 0.3)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed at step 2" in result.stdout
    assert "note: --grad_accum 2, the interrupted run's 1" in result.stdout
    last = torch.load(out / "last.pt", weights_only=True)  # resume state: plain data too
    assert last["step"] == 4 and [g["weight_decay"] for g in last["optimizer"]["param_groups"]] == [0.3, 0.0]
    log = (out / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,lr,loss,val_loss")
    assert [line.split(",")[0] for line in log[1:]] == ["1", "2", "3", "4"]
    seconds = [float(line.split(",")[-1]) for line in log[1:]]
    assert seconds == sorted(seconds)  # the resumed run's time goes on (TimeBudget's test checks it exactly)


def test_a_resumed_run_goes_on_exactly_as_an_uninterrupted_one(pretrained, tmp_path, monkeypatch):
    """Interrupted after step 2 and resumed, a run makes the same steps 3 and 4 as one that was never
    stopped: same losses, same weights. Dropout draws random numbers at every step, so this also checks
    that the random state comes back exactly where it was."""
    import runpy

    import train_common
    codes, _ = pretrained
    real_save = train_common.atomic_save

    def keeping_save(obj, path):  # keep a copy of last.pt as it was after step 2
        real_save(obj, path)
        if Path(path).name == "last.pt" and obj["step"] == 2:
            shutil.copy(path, tmp_path / "step2.pt")

    monkeypatch.setattr(train_common, "atomic_save", keeping_save)
    flags = ["--data", codes, "--max_steps", 4, "--dropout", 0.2, *TINY_GPT, *FAST, "--sample_every", 0]

    def pretrain(out_dir, *extra):
        argv = ["train_pretrain.py", *map(str, flags), "--out_dir", str(out_dir), *extra]
        monkeypatch.setattr(sys, "argv", argv)
        runpy.run_path(str(ROOT / "train_pretrain.py"), run_name="__main__")

    pretrain(tmp_path / "a")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "step2.pt", tmp_path / "b" / "last.pt")
    pretrain(tmp_path / "b", "--resume")

    def losses(folder):
        rows = [line.split(",") for line in (folder / "log.csv").read_text().splitlines()[1:]]
        return {row[0]: row[2] for row in rows}  # step -> training loss

    a, b = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert list(b) == ["3", "4"] and b == {step: a[step] for step in b}
    a, b = (torch.load(tmp_path / run / "last.pt", weights_only=True) for run in "ab")
    assert a["step"] == b["step"] == 4
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_train_pretrain_under_torchrun_resumes_every_process_where_it_was(pretrained, tmp_path):
    """The script itself under torchrun, 2 CPU processes on gloo: interrupted after step 2 and resumed, it
    makes the same steps 3 and 4 as a run never stopped. Each process draws its own dropout masks, so
    last.pt must give each its own random state back (with the first process's state everywhere the
    losses of steps 3 and 4 differ)."""
    codes, _ = pretrained
    launcher = tmp_path / "launch.py"  # train_pretrain.py, keeping a copy of last.pt as it was after step 2
    launcher.write_text(
        "import runpy, shutil, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import train_common\n"
        "real_save = train_common.atomic_save\n"
        "def keeping_save(obj, path):\n"
        "    real_save(obj, path)\n"
        "    if Path(path).name == 'last.pt' and obj['step'] == 2:\n"
        "        shutil.copy(path, Path(path).with_name('step2.pt'))\n"
        "train_common.atomic_save = keeping_save\n"
        f"runpy.run_path({str(ROOT / 'train_pretrain.py')!r}, run_name='__main__')\n")
    flags = ["--data", codes, "--max_steps", 4, "--dropout", 0.2, *TINY_GPT, *FAST, "--sample_every", 0]

    def torchrun(out_dir, *extra):
        result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                 "--nproc_per_node=2", str(launcher), *map(str, flags), "--out_dir",
                                 str(out_dir), *extra], cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "2 process(es) on cpu" in torchrun(tmp_path / "a")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "step2.pt", tmp_path / "b" / "last.pt")
    assert len(torch.load(tmp_path / "b" / "last.pt", weights_only=True)["rng"]) == 2  # one per process
    assert "resumed at step 2" in torchrun(tmp_path / "b", "--resume")

    def losses(folder):
        rows = [line.split(",") for line in (folder / "log.csv").read_text().splitlines()[1:]]
        return {row[0]: row[2] for row in rows}  # step -> training loss (the mean over both processes)

    a, b = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert list(b) == ["3", "4"] and b == {step: a[step] for step in b}
    a, b = (torch.load(tmp_path / run / "last.pt", weights_only=True) for run in "ab")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


class CodeOnUnpickling:
    """Unpickling this creates a file: a stand-in for a checkpoint crafted to run code when loaded."""
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_checkpoints_that_would_run_code_are_refused_for_gpt_resume_and_codec(pretrained, tmp_path):
    codes, out = pretrained
    marker = tmp_path / "ran"
    gpt = torch.load(out / "model.pt", weights_only=True)
    torch.save({**gpt, "extra": CodeOnUnpickling(marker)}, tmp_path / "model.pt")  # a GPT in every other way
    last = torch.load(out / "last.pt", weights_only=True)
    (tmp_path / "run").mkdir()
    torch.save({**last, "extra": CodeOnUnpickling(marker)}, tmp_path / "run" / "last.pt")
    Codec.load().save(tmp_path / "codec.pt")
    codec = torch.load(tmp_path / "codec.pt", weights_only=True)
    torch.save({**codec, "extra": CodeOnUnpickling(marker)}, tmp_path / "codec.pt")
    for command in (["infer.py", "--text", "Hello.", "--checkpoint", tmp_path / "model.pt",
                     "--out", tmp_path / "a.wav"],
                    ["train_sft.py", "--init_from", tmp_path / "model.pt", "--out_dir", tmp_path / "sft"],
                    ["train_pretrain.py", "--data", codes, "--resume", "--out_dir", tmp_path / "run", *TINY_GPT,
                     *FAST]):
        result = run_script(*command)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert "refused" in result.stderr.strip().splitlines()[-1]
    with pytest.raises(ValueError, match="not a codec saved by Codec.save"):
        Codec.load(tmp_path / "codec.pt")
    assert not marker.exists()  # nothing ran


def test_safe_load_takes_older_plain_data_and_names_what_it_refuses(tmp_path):
    from model.checkpoint import CheckpointError, safe_load
    state = np.random.get_state()  # what last.pt held before it kept numpy's state as a tensor
    torch.save({"rng": {"numpy": state}, "args": {"out_dir": Path("out/x")}}, tmp_path / "old.pt")
    loaded = safe_load(tmp_path / "old.pt")
    assert np.array_equal(loaded["rng"]["numpy"][1], state[1]) and loaded["args"]["out_dir"] == Path("out/x")
    (tmp_path / "notes.json").write_text('{"step": 3}')
    torch.save({"run": CodeOnUnpickling(tmp_path / "ran")}, tmp_path / "crafted.pt")
    for name, message in (("notes.json", "is not a readable checkpoint (not a file torch.save wrote)"),
                          ("crafted.pt", "holds a io.open object, which only a full unpickle could build")):
        with pytest.raises(CheckpointError, match=re.escape(message)):
            safe_load(tmp_path / name)
    assert not (tmp_path / "ran").exists()


def test_bad_resume_and_zero_step_flags_are_one_line_errors(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"half a checkpoint")
    unreadable = f"error: {tmp_path / 'last.pt'} is not a readable checkpoint"
    cases = ((["--out_dir", tmp_path, "--resume"], unreadable),
             (["--eval_every", 0], "--eval_every: must be at least 1, got 0"),
             (["--grad_accum", 0], "--grad_accum: must be at least 1, got 0"),
             (["--lr", 0], "--lr: must be above 0, got 0"))  # once silently replaced by the default
    for extra, message in cases:
        result = run_script("train_pretrain.py", "--data", tmp_path / "no_codes", "--device", "cpu", *extra)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert message in result.stderr.strip().splitlines()[-1]


def test_time_budget_ends_the_schedule_early_and_best_pt_keeps_the_lowest_validation_loss(pretrained,
                                                                                           tmp_path):
    codes, _ = pretrained
    out = tmp_path / "budget"
    result = run_script("train_pretrain.py", "--data", codes, "--out_dir", out, "--max_steps", 100_000,
                        "--max_minutes", 0.1, "--device", "cpu", "--max_tokens", 1024, "--warmup", 1,
                        "--eval_every", 5, "--sample_every", 0, "--save_every", 1000, *TINY_GPT)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split(",") for line in (out / "log.csv").read_text().splitlines()[1:]]
    steps = len(rows)
    # More than 20 steps on any machine: the budget takes its pace after 20 steps and cannot end before.
    assert 20 < steps < 100_000 and rows[-1][0] == str(steps)
    assert float(rows[-1][1]) == pytest.approx(1e-4, rel=0.1)  # the cosine reached its end, 0.1 x 1e-3
    last = torch.load(out / "last.pt", weights_only=True)
    assert last["step"] == steps
    val = {int(r[0]): float(r[3]) for r in rows if r[3]}
    best_step = min(val, key=val.get)
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["step"] == best_step and best["val_loss"] == pytest.approx(val[best_step], abs=1e-4)
    assert last["best_val"] == pytest.approx(val[best_step], abs=1e-4)
    GPT(GPTConfig(**best["config"])).load_state_dict(best["state_dict"])


def test_log_resumed_at_a_step_drops_the_rows_written_after_it(tmp_path):
    log = CSVLog(tmp_path / "log.csv", ["step", "loss"])
    for step in range(1, 6):  # an interrupted run got to step 5, its last checkpoint was step 3
        log.write(step=step, loss=0.5)
    log = CSVLog(tmp_path / "log.csv", ["step", "loss"], start_step=3)
    log.write(step=4, loss=0.25)
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows == ["step,loss", "1,0.5", "2,0.5", "3,0.5", "4,0.25"]
    CSVLog(tmp_path / "log.csv", ["step", "loss"])  # a fresh run in the same folder starts a fresh log
    assert (tmp_path / "log.csv").read_text().splitlines() == ["step,loss"]


def test_eval_text_scores_the_speech_with_its_own_another_and_no_text(pretrained, capsys):
    from dataset.speech_tokens import DataError
    from lab.eval import build_parser
    codes, out = pretrained
    args = build_parser().parse_args(["text", "--checkpoint", str(out / "model.pt"), "--data", str(codes)])
    means = args.run(args)
    assert "4 val utterances" in capsys.readouterr().out  # the last two of each voice
    assert all(np.isfinite(v) and v > 0 for k, v in means.items() if k != "gain")
    assert len({means["own"], means["other"], means["none"]}) == 3  # three different inputs
    assert means["gain"] == means["other"] - means["own"]
    args = build_parser().parse_args(["text", "--checkpoint", str(out / "model.pt"), "--data", str(codes),
                                      "--limit", "1"])  # no other utterance of the voice to borrow a text from
    with pytest.raises(SystemExit, match="at least two utterances of a voice"):
        args.run(args)
    # The codes of another codec: one line, not a wrong number.
    info = json.loads((codes / "info.json").read_text())
    other_codes = make_codes_folder(out.parent / "other_codes")
    (other_codes / "info.json").write_text(json.dumps({**info, "codec_sha256": "0" * 64}))
    args = build_parser().parse_args(["text", "--checkpoint", str(out / "model.pt"),
                                      "--data", str(other_codes)])
    with pytest.raises(DataError, match="another codec"):  # lab/eval.py's main makes it one line
        args.run(args)


def test_missing_codes_is_one_line_error(tmp_path):
    result = run_script("train_pretrain.py", "--data", tmp_path / "no_codes", "--device", "cpu")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "dataset/encode_corpus.py" in lines[0]


def test_sft_with_lora_trains_the_update_and_saves_it_merged(pretrained, tmp_path):
    codes, pretrain_out = pretrained
    init = torch.load(pretrain_out / "model.pt", weights_only=True)
    result = run_script("train_sft.py", "--init_from", pretrain_out / "model.pt", "--data", codes,
                        "--lora_rank", 4, "--lora_alpha", 8, "--max_steps", 2, "--out_dir", tmp_path, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    merged = torch.load(tmp_path / "model.pt", weights_only=True)
    assert last["speaker_map"] == merged["speaker_map"] == init["speaker_map"]
    assert merged["state_dict"].keys() == init["state_dict"].keys()
    n_lora = 0
    for key, pretrained_weight in init["state_dict"].items():
        name = key.removesuffix(".weight")
        if f"{name}.base.weight" in last["model"]:
            n_lora += 1
            base, a, b = (last["model"][f"{name}.{part}"] for part in ("base.weight", "lora_a", "lora_b"))
            assert torch.equal(base, pretrained_weight.float())  # frozen
            assert b.abs().sum() > 0  # trained
            torch.testing.assert_close(merged["state_dict"][key], (base + 8 / 4 * b @ a).half())
        else:  # embeddings, norms, head: frozen too
            assert torch.equal(last["model"][key], pretrained_weight.float())
            assert torch.equal(merged["state_dict"][key], pretrained_weight)
    assert n_lora == 2 * 6
