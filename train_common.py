"""
What the training scripts share: the plumbing around their loops, no loop itself.

Device and precision, seeding and RNG state for exact resumes, atomic checkpoint writes, a CSV log, the
learning-rate schedule and time budget, DDP set-up, and the GPT's checkpoints. The GPT's training loop
and the flags it takes are in train_pretrain.py (train_sft.py runs the same loop); the codec's are in
train_tokenizer.py.
"""
import argparse
import atexit
import contextlib
import csv
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from dataset.files import write_atomic
from model.lora import merged_state_dict


class DeviceError(ValueError):
    """A device name that is unknown, or names hardware this machine lacks."""


def pick_device(name="auto"):
    """'auto' takes CUDA when present, else the CPU. Unknown or unavailable devices raise DeviceError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {name} asked for, but this machine has no CUDA GPU")
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
    """torch.save, all at once or not at all (dataset/files.py): an interrupted run never leaves a
    truncated checkpoint under the real name."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: torch.save(obj, tmp))


def plain_args(args):
    """argparse values as plain data (paths as text): what a checkpoint keeps of a run's flags."""
    def plain(value):
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return str(value) if isinstance(value, Path) else value
    return {key: plain(value) for key, value in vars(args).items()}


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
        def write(tmp):
            with open(tmp, "w", newline="") as f:
                csv.writer(f).writerows([self.fields] + rows)
        write_atomic(self.path, write)

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

    def total(self, step, device=None, world_size=1):
        """The steps the run will take in all, as estimated at `step`. Under DDP every process calls it and
        takes the first process's figure, so that all of them stop at the same step."""
        if world_size > 1:
            estimate = torch.tensor(self.total(step), device=device)
            dist.broadcast(estimate, 0)
            return int(estimate)
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


