"""
What the training scripts share.

The first part knows no particular model: device and precision choice, seeding, RNG state for exact
resumes, atomic checkpoint writes, a CSV log. train_tokenizer.py uses it.

The second part is the GPT's training loop, shared by train_pretrain.py and train_sft.py, which only
build a model and its data and call train_gpt: the command-line flags both take, data loading, the
learning-rate schedule, DDP, gradient accumulation, validation, sample wavs and checkpoints.
"""
import argparse
import atexit
import contextlib
import csv
import math
import os
import pickle
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path, PosixPath, WindowsPath

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from dataset.audio import save_audio
from dataset.encode_corpus import codec_fits, same_tokens
from dataset.readers import DEMO_DIR
from dataset.speech_tokens import LengthBucketSampler, SpeechTokens, extend_speaker_map, open_codes, select
from model.gpt import GPT, GPTConfig
from model.lora import merged_state_dict
from model.sequence import IGNORE, PAD, START, collate
from tokenizer.codec import Codec


def pick_device(name="auto"):
    """'auto' takes CUDA when present, else the CPU. Unknown or unavailable devices exit with one line."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SystemExit(f"error: unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda asked for, but this machine has no CUDA GPU")
    return device


def autocast(device):
    """bf16 autocast on a GPU (no loss scaling needed, unlike fp16); plain fp32 on the CPU, where bf16
    matmuls are not faster on most machines."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state():
    """Every generator's state as tensors and plain Python values, so last.pt loads with weights_only."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                      int(has_gauss), float(cached)),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys).astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj, path):
    """torch.save to a temp file in the same folder, then rename: a crash mid-write never leaves a
    truncated checkpoint under the real name (the rename is atomic on one filesystem). fsync first: else
    after a power cut the rename may be on disk and the data not, an empty file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def plain_args(args):
    """argparse values as plain data (paths as text): what a checkpoint keeps of a run's flags."""
    def plain(value):
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return str(value) if isinstance(value, Path) else value
    return {key: plain(value) for key, value in vars(args).items()}


# Besides tensors and Python's plain types, checkpoints of earlier versions of this project hold numpy's RNG
# state (an array) and paths among the flags: data, which unpickling only builds, never runs.
SAFE_GLOBALS = [np.ndarray, np.dtype, type(np.dtype(np.uint32)), PosixPath, WindowsPath,
                (np._core if hasattr(np, "_core") else np.core).multiarray._reconstruct]


def safe_load(path):
    """torch.load with weights_only=True: tensors, plain data and SAFE_GLOBALS only. A full unpickle can
    run any code a file carries, so a checkpoint holding any other object is refused, in one line."""
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or refused: torch raises many kinds
        refused = re.search(r"GLOBAL (\S+) was not an allowed global", str(e))
        if refused:
            raise SystemExit(f"error: {path} holds a {refused.group(1)} object, which only a full unpickle "
                             f"could build, and that can run code: refused") from None
        if isinstance(e, pickle.UnpicklingError):  # bytes the unpickler cannot read at all
            raise SystemExit(f"error: {path} is not a readable checkpoint (not a file torch.save wrote)") from None
        first_line = next((line for line in str(e).splitlines() if line.strip()), "")[:200]
        raise SystemExit(f"error: {path} is not a readable checkpoint ({type(e).__name__}: "
                         f"{first_line})") from None


def load_checkpoint(path):
    """A training checkpoint (last.pt: weights, optimizer and RNG state, step, flags)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no checkpoint to resume at {path}")
    checkpoint = safe_load(path)
    if not isinstance(checkpoint, dict):
        raise SystemExit(f"error: {path} is not a checkpoint of this project")
    return checkpoint


class CSVLog:
    """Append rows of numbers to a CSV file whose first column is the step. A run that starts (or
    resumes) at `start_step` drops the rows after it, left by an interrupted run or an earlier one in the
    same folder, so every step appears once."""

    def __init__(self, path, fields, start_step=0):
        self.path, self.fields = Path(path), list(fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        if self.path.is_file():
            with open(self.path, newline="") as f:
                rows = [r for r in list(csv.reader(f))[1:]
                        if r and r[0].isdigit() and int(r[0]) <= start_step]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows([self.fields] + rows)
        os.replace(tmp, self.path)

    def write(self, **row):
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])


# -----------------------------------------------------------------------------------------------------
# The GPT's training loop (train_pretrain.py, train_sft.py)


class HelpWithDefaults(argparse.HelpFormatter):
    """Adds '(default: x)' to a flag's help unless x is None, False (a switch; 0 is False too) or
    SUPPRESS (--help), or the help speaks of its default already."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or "default" in action.help:
            return action.help
        return action.help + " (default: %(default)s)"


def positive(text):
    """argparse type of a learning rate: a clear error for 0 or less, which would train nothing."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def at_least_one(text):
    """argparse type of the flags a step count divides by, or that a run needs at least one of: a clear
    error for 0 instead of a ZeroDivisionError (or an empty set) later."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_training_args(parser, lr_default):
    """The flags both GPT scripts take. Each script then sets its own defaults (parser.set_defaults);
    lr_default says in words how it picks the learning rate."""
    parser.formatter_class = HelpWithDefaults
    add = parser.add_argument
    add("--data", type=Path, default=DEMO_DIR / "codes", help="an encoded corpus (codes-*.npy, manifest.csv, "
        "info.json) made by dataset/encode_corpus.py (default: the demo's, dataset/demo/codes)")
    add("--split", default="train", help="manifest split to train on (train, val, test, or all)")
    add("--speakers", nargs="+", default=None, help="train only on these speakers (none given: all)")
    add("--max_utterances", type=at_least_one, default=None, help="train on a fixed random subset of this many")
    add("--val_utterances", type=at_least_one, default=200,
        help="at most this many validation utterances (the 'val' split of the same speakers, or training "
             "utterances held out when the corpus has no val split)")
    add("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (under torchrun: cpu or cuda)")
    add("--out_dir", type=Path, default=None, help="checkpoints, log.csv and samples/")
    add("--resume", action="store_true", help="continue from out_dir/last.pt at its step")
    add("--max_steps", type=int, default=None, help="optimizer steps in total")
    add("--max_minutes", type=float, default=None,
        help="a time budget for the run: stop after this many minutes, at fewer than --max_steps steps if "
             "need be, with the learning-rate schedule ending then (none: train all --max_steps); a resumed "
             "run spends the minutes left")
    add("--max_tokens", type=int, default=None,
        help="tokens per micro-batch and process, counting padding (default: 4096 on a CPU, 16384 on a GPU)")
    add("--batch_size", type=int, default=64, help="at most this many utterances per micro-batch")
    add("--grad_accum", type=at_least_one, default=1, help="micro-batches per optimizer step")
    add("--lr", type=positive, default=None, help=f"peak learning rate (default: {lr_default})")
    add("--warmup", type=int, default=None, help="steps of linear learning-rate warm-up")
    add("--weight_decay", type=float, default=0.1, help="AdamW weight decay on matrices and embeddings")
    add("--grad_clip", type=float, default=1.0, help="clip the gradient norm to this (0: no clipping)")
    add("--prompt_prob", type=float, default=0.3,
        help="probability that a training example starts with a voice prompt of the same speaker")
    add("--text_dropout", type=float, default=0.1,
        help="probability that a training example loses its text, so that the model also learns to speak "
             "unconditioned: what classifier-free guidance (infer.py --cfg_scale) needs")
    add("--compile", action="store_true", help="torch.compile the model (worth it on a GPU)")
    add("--eval_every", type=at_least_one, default=250, help="steps between validation losses")
    add("--sample_every", type=int, default=1000, help="steps between sample wavs (0: none)")
    add("--save_every", type=at_least_one, default=250, help="steps between checkpoints")
    add("--peak_flops", type=float, default=None,
        help="peak FLOP/s of one GPU, or of the whole CPU, for MFU (default: the GPU's data-sheet bf16 peak, "
             "312e12 for a card not in train_common.GPU_PEAK_BF16; 175e9 on a CPU)")
    add("--seed", type=int, default=1337, help="seed for weights, batches and prompts")


def cosine_lr(step, max_steps, warmup, lr, min_ratio=0.1):
    """Linear warm-up to lr over `warmup` steps, then a cosine decay to min_ratio * lr at max_steps.
    Warm-up because Adam's moment estimates start out from a few noisy gradients: full-size steps on
    them can push a transformer somewhere it never recovers from."""
    # A run shorter than twice its warm-up warms up over its first half only: a run that is all warm-up
    # would never train at the peak, nor decay from it.
    warmup = min(warmup, max_steps // 2)
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class TimeBudget:
    """--max_minutes: from the pace after the first `warm_steps` steps (past start-up: compilation,
    data-loader workers), re-estimate at every step how many steps fit in the budget, so that a schedule
    computed from `total(step)` ends when the time does. Without a budget, total() is max_steps.

    The budget is the whole run's: `saved`, the state() stored in the checkpoint of an interrupted run,
    makes a resumed run spend only the minutes left, and keeps the schedule where it was (the saved
    estimate) until the pace is known again, rather than jumping back towards the peak learning rate."""

    def __init__(self, minutes, max_steps, first_step, warm_steps=20, saved=None):
        saved = saved or {}
        self.budgeted, self.max_steps, self.minutes = bool(minutes), max_steps, minutes
        self.spent_before = saved.get("spent", 0.0)  # also what log.csv's seconds go on from
        self.seconds = (minutes or 0) * 60 - self.spent_before
        self.estimate = min(max_steps, saved.get("estimate") or max_steps)
        # A run that had reached its estimate is over, unless it is resumed with more minutes than it had.
        self.over = (self.budgeted and bool(saved) and first_step >= self.estimate
                     and minutes <= (saved.get("minutes") or 0))
        self.first_step, self.warm = first_step, warm_steps
        self.start, self.pace_start = time.time(), None

    def total(self, step):
        if not self.budgeted:
            return self.max_steps
        if self.over:  # resumed after its end: nothing left
            return step
        if step >= self.first_step + self.warm and self.pace_start is None:  # the pace is taken from here on
            self.pace_start, self.pace_step = time.time(), step
        if self.pace_start is None or step == self.pace_step:  # no pace yet: the last estimate, and go on
            return max(self.estimate, step + 1)
        pace = (time.time() - self.pace_start) / (step - self.pace_step)
        left = self.seconds - (time.time() - self.start)
        self.estimate = min(self.max_steps, step + max(1, int(left / pace)))
        return self.estimate

    def state(self):
        """What a checkpoint keeps for a resumed run: seconds spent so far, the current estimate, the budget."""
        return {"spent": self.spent_before + time.time() - self.start, "estimate": self.estimate,
                "minutes": self.minutes}


@dataclass
class Distributed:
    """Where this process stands in a DDP job (a single process is rank 0 of 1)."""
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self):  # only this process prints, logs, samples and saves
        return self.rank == 0


def setup_distributed(device_name="auto"):
    """A plain process, or one of a torchrun job: torchrun sets RANK, LOCAL_RANK and WORLD_SIZE (and
    MASTER_ADDR/MASTER_PORT, which init_process_group reads). GPU processes talk through nccl, each on
    GPU LOCAL_RANK; CPU processes through gloo. The group is torn down when the process exits."""
    device = pick_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if world_size == 1:
        return Distributed(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world_size)
    atexit.register(teardown_distributed)
    return Distributed(rank, local_rank, world_size, device)


def teardown_distributed():
    if dist.is_initialized():
        # Wait for every process first: one that tears gloo down while another still has work in flight
        # (saving a checkpoint, say) can abort the other.
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(tensor, world_size):
    """The sum of `tensor` over all processes (itself in a single process)."""
    if world_size > 1:
        dist.all_reduce(tensor)
    return tensor


def check_same_codec(expected, found, what):
    """Codes of different codecs mean different sounds: never train a model on another codec's codes."""
    if not same_tokens(expected, found):
        expected, found = str(expected.get("codec_sha256")), str(found.get("codec_sha256"))
        raise SystemExit(f"error: {what} was trained on codes of another codec "
                         f"(codec sha256 {expected[:12]}..., the data's {found[:12]}...)")


def load_data(args, max_seq_len, speaker_map=None, codes_info=None):
    """(train set, validation set) of args.data, selected by args.split, args.speakers and
    args.max_utterances. Validation: the 'val' split of the same speakers, or, for a corpus without one,
    training utterances held out. speaker_map: the map to extend (fine-tuning), or None to start one
    from the speakers here. codes_info: the info.json of the codes a model was trained on, if any."""
    codes, rows, info = open_codes(args.data)
    if codes_info is not None:
        check_same_codec(codes_info, info, "the model")
    split = None if args.split == "all" else args.split
    train_rows = select(rows, split, args.speakers, args.max_utterances)
    if not train_rows:
        raise SystemExit(f"error: {args.data}: no utterances of split {args.split!r} and speakers "
                         f"{args.speakers or 'any'} (speakers here: {sorted({r['speaker'] for r in rows})})")
    val_rows = select(rows, "val", args.speakers, args.val_utterances)
    if not val_rows or split in ("val", None):
        val_rows = select(train_rows, limit=min(args.val_utterances, max(1, len(train_rows) // 20)))
        held_out = {(r["speaker"], r["id"]) for r in val_rows}  # ids may repeat across speakers
        train_rows = [r for r in train_rows if (r["speaker"], r["id"]) not in held_out] or train_rows
    speaker_map = extend_speaker_map(speaker_map or {}, {r["speaker"] for r in train_rows + val_rows})
    train_set = SpeechTokens(codes, train_rows, info, speaker_map, max_seq_len, args.prompt_prob,
                             args.text_dropout)
    val_set = SpeechTokens(codes, val_rows, info, speaker_map, max_seq_len)
    if not len(train_set) or not len(val_set):
        raise SystemExit(f"error: every {'training' if not len(train_set) else 'validation'} utterance is "
                         f"longer than max_seq_len, {max_seq_len} tokens")
    return train_set, val_set


def load_gpt(path):
    """(GPT in fp32, checkpoint dict) from a model.pt or a last.pt of train_pretrain.py / train_sft.py."""
    if not Path(path).is_file():
        raise SystemExit(f"error: no model at {path} (train_pretrain.py writes out/pretrain/model.pt)")
    checkpoint = safe_load(path)
    if not isinstance(checkpoint, dict) or not {"config", "speaker_map", "codes_info"} <= checkpoint.keys():
        raise SystemExit(f"error: {path} is not a GPT checkpoint of train_pretrain.py or train_sft.py")
    model = GPT(GPTConfig(**checkpoint["config"]))
    state = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint["model"]
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError:
        raise SystemExit(f"error: {path}: weights of another model (a LoRA run's last.pt? use its model.pt)")
    return model, checkpoint


def gpt_metadata(model, train_set, args):
    """What every saved GPT carries besides its weights: the config, the speaker map and the codes'
    info.json (which codec to decode with)."""
    # How many speech codes a byte of text took in training (1st and 99th percentiles): infer.py bounds
    # the length of what it generates with them.
    rates = train_set.speech_per_byte()
    return {"config": asdict(model.cfg), "speaker_map": train_set.speaker_map, "codes_info": train_set.info,
            "speech_per_byte": [float(np.percentile(rates, 1)), float(np.percentile(rates, 99))],
            # > 0: the model has also learned to speak without text (classifier-free guidance works)
            "text_dropout": args.text_dropout}


def save_weights(model, train_set, args, path, **extra):
    """The inference weights (LoRA merged in) in half precision, with gpt_metadata: model.pt, best.pt.
    Stored as CPU tensors, so that a model trained on a GPU loads anywhere without a map_location."""
    weights = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in merged_state_dict(model).items()}
    atomic_save({**gpt_metadata(model, train_set, args), "state_dict": weights, **extra}, path)


# Dense bf16 peak FLOP/s from the vendors' data sheets (without sparsity), matched against the device name
# in this order (the first key it contains wins: the PCIe and NVL H100s before the SXM one).
GPU_PEAK_BF16 = {"H200 NVL": 835e12, "H200": 989e12, "H100 PCIe": 756e12, "H100 NVL": 835e12, "H100": 989e12,
                 "A100": 312e12, "L40S": 362e12, "A10G": 70e12, "RTX 4090": 165e12, "RTX 3090": 71e12,
                 "RTX A6000": 155e12}


def gpu_peak_flops(device):
    """The data-sheet bf16 peak of this GPU (GPU_PEAK_BF16), or None for a card not in the table."""
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in GPU_PEAK_BF16.items() if key in name), None)


def gather_rng_states(world_size):
    """Every process's RNG state, in rank order. Under DDP each process draws its own dropout masks, so
    each must get its own state back on --resume. Every process must call this."""
    if world_size == 1:
        return [rng_state()]
    states = [None] * world_size
    dist.all_gather_object(states, rng_state())
    return states


def save_gpt(model, optimizer, step, train_set, args, best_val=float("inf"), rng_states=None, budget=None):
    """last.pt: everything --resume needs (rng: one state per process, gather_rng_states; budget:
    TimeBudget.state()). model.pt: the weights of this step (save_weights)."""
    atomic_save({**gpt_metadata(model, train_set, args), "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "step": step, "best_val": best_val,
                 "rng": rng_states or [rng_state()], "budget": budget, "args": plain_args(args)},
                args.out_dir / "last.pt")
    save_weights(model, train_set, args, args.out_dir / "model.pt")


def forward_backward(model, batches, device, world_size=1):
    """Forward and backward over one optimizer step's micro-batches [(ids, targets), ...] on this process.
    The gradient left in the parameters is that of the mean loss over *every target token of the step,
    on every process*: what one process would get from all the micro-batches concatenated. Averaging
    each micro-batch's mean instead would over-weight micro-batches with few target tokens.
    Returns (that mean loss, non-padding input tokens of the step on all processes)."""
    counts = [int((targets != IGNORE).sum()) for _, targets in batches]
    totals = torch.tensor([sum(counts), sum(int((ids != PAD).sum()) for ids, _ in batches)],
                          dtype=torch.float64, device=device)
    n_targets, n_inputs = all_reduce_sum(totals, world_size).tolist()
    loss_sum = torch.zeros((), device=device)
    for i, (ids, targets) in enumerate(batches):
        ids, targets = ids.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        # DDP averages the gradients of all processes during backward. Between micro-batches that would
        # be wasted traffic, so only the step's last backward synchronises.
        last = i == len(batches) - 1
        with model.no_sync() if world_size > 1 and not last else contextlib.nullcontext():
            with autocast(device):
                _, loss = model(ids, targets)  # the mean over this micro-batch's target tokens
            # mean x count = this micro-batch's sum; / n_targets = its share of the step's mean. DDP then
            # divides the summed gradients by world_size, which the factor world_size undoes.
            (loss * (counts[i] * world_size / n_targets)).backward()
        loss_sum += loss.detach() * counts[i]
    return all_reduce_sum(loss_sum, world_size).item() / n_targets, n_inputs


@torch.no_grad()
def evaluate(model, loader, device, world_size=1):
    """Mean loss per target token over this process's share of the validation batches, then over all
    processes. `model` is the bare GPT: a DDP wrapper would try to synchronise buffers in forward."""
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, target tokens
    for ids, targets in loader:
        ids, targets = ids.to(device), targets.to(device)
        with autocast(device):
            _, loss = model(ids, targets)
        n_targets = (targets != IGNORE).sum()
        sums += torch.stack([loss.double() * n_targets, n_targets.double()])
    model.train()
    loss_sum, n_targets = all_reduce_sum(sums, world_size).tolist()
    return loss_sum / n_targets


def maybe_compile(model, enabled, device):
    """torch.compile(model), or the model itself when compiling is off or fails (no compiler, an
    unsupported platform). Compilation happens at the first call, so a short call here makes a failure
    show up now, as one line, rather than inside the loop."""
    if not enabled:
        return model
    try:
        compiled = torch.compile(model)
        ids = torch.full((1, 16), START, device=device)
        with autocast(device):
            compiled(ids, torch.zeros_like(ids))
        return compiled
    except Exception as e:  # torch.compile raises many types; any of them means "train without it"
        first_line = (str(e).strip().splitlines() or [""])[0]
        print(f"warning: torch.compile failed ({type(e).__name__}: {first_line[:200]}), training without it")
        return model


def load_sample_codec(info, device):
    """The codec that made the codes (info.json names it), to decode samples; None, with one warning,
    when that file is missing or has changed since the codes were made (it would decode garbage)."""
    path = Path(info.get("codec", ""))
    if not path.is_absolute():  # dataset/encode_corpus.py stores codecs inside the repository relative to it
        path = Path(__file__).resolve().parent / path
    if not path.is_file():
        print(f"warning: no codec at {path} (the one the codes were made with): no sample wavs")
        return None
    try:
        codec = Codec.load(path, device)
    except ValueError as e:
        print(f"warning: {e}: no sample wavs")
        return None
    if not codec_fits(codec, path, info):
        print(f"warning: {path} is not the codec the codes were made with any more: no sample wavs")
        return None
    return codec


def write_sample(model, codec, val_set, folder, step, seed):
    """Speak validation sentence 0 in its speaker's voice, at temperature 0.7 with a fixed seed so that
    samples of different steps differ by the model only. The first time, also write reference.wav: the
    codec decoding the real codes, the best the GPT could do."""
    device = codec.codebook_device
    folder.mkdir(parents=True, exist_ok=True)
    real_codes = torch.tensor(val_set.speech_codes(0))
    if not (folder / "reference.wav").is_file():
        save_audio(folder / "reference.wav", codec.decode(real_codes), codec.sample_rate)
    model.eval()
    with autocast(device):
        codes = model.generate(val_set.prefix(0).to(device), max_new_tokens=2 * len(real_codes) + 50,
                               temperature=0.7, generator=torch.Generator(device).manual_seed(seed))
    model.train()
    # A model that predicts END at once gives no codes: write a frame of silence to keep the file.
    wav = codec.decode(codes) if len(codes) else torch.zeros(codec.hop_length)
    save_audio(folder / f"step{step:06d}.wav", wav, codec.sample_rate)


def note_changed_flags(checkpoint, args, world_size):
    """Print a line for each flag a resumed run changed that the interrupted run's batches or schedule
    hang on: the run goes on, but not as the uninterrupted one would have."""
    saved, today = dict(checkpoint.get("args") or {}), dict(plain_args(args), processes=world_size)
    if isinstance(checkpoint["rng"], list):  # one RNG state per process (older files hold one, whatever ran)
        saved["processes"] = len(checkpoint["rng"])
    for key in ("lr", "warmup", "max_tokens", "batch_size", "grad_accum", "processes", "seed", "prompt_prob",
                "text_dropout"):
        # (max_tokens None is the device's default: only two values given are compared)
        if saved.get(key) is not None and today.get(key) is not None and saved[key] != today[key]:
            print(f"note: --{key} {today.get(key)}, the interrupted run's {saved[key]}: it goes on from its "
                  "step, though not as the uninterrupted run would have")


def train_gpt(model, train_set, val_set, args, distributed, desc="train"):
    """Train `model` on train_set with the settings of add_training_args' flags, as process
    `distributed` of a DDP job (or alone); resume from args.out_dir/last.pt with args.resume."""
    device, main, world_size = distributed.device, distributed.is_main, distributed.world_size
    raw_model = model.to(device)  # the bare GPT, for saving, evaluation and sampling
    if raw_model.cfg.speech_vocab_size != train_set.speech_vocab_size:
        raise SystemExit(f"error: the model predicts {raw_model.cfg.speech_vocab_size} codes, the data's "
                         f"codec has {train_set.speech_vocab_size}")
    optimizer = raw_model.configure_optimizers(args.weight_decay, args.lr, (0.9, 0.95), device.type)
    step, best_val = 0, float("inf")
    if args.resume:
        checkpoint = load_checkpoint(args.out_dir / "last.pt")
        needed = {"config", "model", "optimizer", "step", "rng", "codes_info", "speaker_map"}
        if not needed <= checkpoint.keys():
            raise SystemExit(f"error: {args.out_dir / 'last.pt'} is not a last.pt of train_pretrain.py or "
                             "train_sft.py")
        check_same_codec(checkpoint["codes_info"], train_set.info, args.out_dir / "last.pt")
        if checkpoint["speaker_map"] != train_set.speaker_map:
            raise SystemExit(f"error: {args.out_dir / 'last.pt'} has another speaker map: other --speakers?")
        raw_model.load_state_dict(checkpoint["model"])
        weight_decays = [group["weight_decay"] for group in optimizer.param_groups]
        optimizer.load_state_dict(checkpoint["optimizer"])
        for group, weight_decay in zip(optimizer.param_groups, weight_decays):  # today's --weight_decay
            group["weight_decay"] = weight_decay
        if main:
            note_changed_flags(checkpoint, args, world_size)
        step, best_val = checkpoint["step"], checkpoint.get("best_val", float("inf"))
        if (args.out_dir / "best.pt").is_file():  # an evaluation after the last save may have done better
            saved_best = torch.load(args.out_dir / "best.pt", map_location="cpu", weights_only=True)
            best_val = min(best_val, saved_best.get("val_loss", float("inf")))
    trainable = [p for p in raw_model.parameters() if p.requires_grad]
    model = maybe_compile(raw_model, args.compile, device)
    if world_size > 1:
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    max_tokens = args.max_tokens or (16384 if device.type == "cuda" else 4096)

    def loader(dataset, batches):
        # On a GPU, two worker processes build the next batches while the GPU trains on this one; on a
        # CPU they would only take cores from the training itself.
        workers = 2 if device.type == "cuda" else 0
        return torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=collate,
                                           pin_memory=device.type == "cuda", num_workers=workers,
                                           persistent_workers=workers > 0)

    def sampler(dataset, start=0):
        return LengthBucketSampler(dataset, max_tokens, args.batch_size, args.seed, distributed.rank,
                                   world_size, start=start)

    if not sampler(train_set).epoch_batches(0):  # fewer utterances than processes
        raise SystemExit(f"error: {len(train_set)} training utterances make no batch for each of "
                         f"{world_size} processes")
    # Each process has used grad_accum batches per step: a resumed run goes on with the next ones.
    train_batches = iter(loader(train_set, sampler(train_set, start=step * args.grad_accum)))
    val_loader = loader(val_set, sampler(val_set).epoch_batches(0))
    # MFU: achieved FLOP/s over the hardware's peak: a GPU's data-sheet bf16 figure (an A100's 312e12 for
    # a card the table lacks; --peak_flops overrides). 175e9 is fp32 on the project's 2-core reference CPU
    # machine, as measured there; CPU processes share that one machine, GPUs each bring their own peak.
    if device.type == "cuda":
        peak_flops = (args.peak_flops or gpu_peak_flops(device) or 312e12) * world_size
    else:
        peak_flops = args.peak_flops or 175e9
    codec = load_sample_codec(train_set.info, device) if main and args.sample_every else None
    if main:
        print(f"model: {raw_model.num_parameters() / 1e6:.3f} M parameters, "
              f"{sum(p.numel() for p in trainable) / 1e6:.3f} M of them trained; {raw_model.cfg}")
        print(f"data: {len(train_set)} training utterances ({sum(train_set.lengths)} tokens), "
              f"{len(val_set)} validation, {train_set.dropped + val_set.dropped} left out as longer than "
              f"{raw_model.cfg.max_seq_len} tokens; speaker map of {len(train_set.speaker_map)}")
        print(f"{world_size} process(es) on {device}, up to {max_tokens} tokens x {args.grad_accum} "
              f"micro-batches per process and step, peak lr {args.lr:g}"
              + (f"; resumed at step {step}" if step else ""))
        log = CSVLog(args.out_dir / "log.csv", ["step", "lr", "loss", "val_loss", "grad_norm", "tokens_per_s",
                                                "mfu", "seconds"], start_step=step)
    max_steps = args.max_steps
    budget = TimeBudget(args.max_minutes, args.max_steps, step,
                        saved=checkpoint.get("budget") if args.resume else None)
    progress = tqdm(total=max_steps, initial=step, desc=desc, dynamic_ncols=True, disable=not main)
    if args.resume:
        # Restored only now: setting up (data-loader iterators, a compile test) draws random numbers that
        # the uninterrupted run drew before its first step, so dropout masks go on exactly where they
        # would have (prompts and text dropout come from the batch sampler's own generator, which starts
        # again where the run stopped). Each process takes its own state; one the saving job did not
        # have (resumed with more processes) takes the first one's. (Older last.pt files hold one state,
        # not a list.)
        states = checkpoint["rng"] if isinstance(checkpoint["rng"], list) else [checkpoint["rng"]]
        set_rng_state(states[distributed.rank] if distributed.rank < len(states) else states[0])
    first_step = step
    if budget.over:
        max_steps = step
        if main:
            print(f"the run's {args.max_minutes:g} minutes were spent already: nothing to train "
                  "(a larger --max_minutes goes on)")
    while step < max_steps:
        if args.max_minutes:  # a time budget: the cosine schedule ends when the time does
            estimate = torch.tensor(budget.total(step), device=device)
            if world_size > 1:  # every process takes the main one's figure
                dist.broadcast(estimate, 0)
            max_steps = progress.total = int(estimate)
        lr = cosine_lr(step, max_steps, args.warmup, args.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_start = time.time()
        micro_batches = [next(train_batches) for _ in range(args.grad_accum)]
        loss, n_tokens = forward_backward(model, micro_batches, device, world_size)
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, args.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        # .item() waits for the GPU's queued clipping and optimizer kernels, so the step's time holds them.
        grad_norm = grad_norm.item()
        tokens_per_s = n_tokens / (time.time() - step_start)
        seq_len = sum(ids.shape[1] for ids, _ in micro_batches) / len(micro_batches)
        mfu = raw_model.estimate_flops_per_token(seq_len) * tokens_per_s / peak_flops
        row = dict(step=step, lr=f"{lr:.3e}", loss=f"{loss:.4f}", grad_norm=f"{grad_norm:.3f}",
                   tokens_per_s=f"{tokens_per_s:.0f}", mfu=f"{mfu:.4f}")
        last = step == max_steps
        if step % args.eval_every == 0 or last:
            val_loss = evaluate(raw_model, val_loader, device, world_size)
            row["val_loss"] = f"{val_loss:.4f}"
            if main:
                tqdm.write(f"step {step}: train loss {loss:.4f}, val loss {row['val_loss']}")
                if val_loss < best_val:  # best.pt: model.pt's format, at the lowest validation loss so far
                    best_val = val_loss
                    save_weights(raw_model, train_set, args, args.out_dir / "best.pt", step=step,
                                 val_loss=val_loss)
        if main:
            if codec is not None and (step % args.sample_every == 0 or last):
                write_sample(raw_model, codec, val_set, args.out_dir / "samples", step, args.seed)
            row["seconds"] = f"{budget.state()['spent']:.1f}"  # a resumed run counts on from its last save
            log.write(**row)
            progress.update(1)
            progress.set_postfix(loss=row["loss"], tok_s=row["tokens_per_s"], mfu=f"{100 * mfu:.1f}%",
                                 lr=row["lr"])
        if step % args.save_every == 0 or last:
            rng_states = gather_rng_states(world_size)  # every process takes part
            if main:
                save_gpt(raw_model, optimizer, step, train_set, args, best_val, rng_states, budget.state())
    progress.close()
    if main and step == first_step:  # resumed with nothing left: model.pt may predate last.pt's step
        save_weights(raw_model, train_set, args, args.out_dir / "model.pt")
    if main:
        print(f"done: {args.out_dir / 'model.pt'}")
