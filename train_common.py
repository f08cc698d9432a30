"""
Small pieces every training script shares: device and precision choice, seeding, RNG state for exact
resumes, atomic checkpoint writes, and a CSV log. Nothing here knows about a particular model.
"""
import contextlib
import csv
import os
import random
from pathlib import Path

import numpy as np
import torch


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
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj, path):
    """torch.save to a temp file in the same folder, then rename: a crash mid-write never leaves a
    truncated checkpoint under the real name (the rename is atomic on one filesystem)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    """A training checkpoint (it holds optimizer and RNG state, so not weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no checkpoint to resume at {path}")
    return torch.load(path, map_location="cpu", weights_only=False)


class CSVLog:
    """Append rows of numbers to a CSV file; the header is written once, when the file is new."""

    def __init__(self, path, fields):
        self.path, self.fields = Path(path), list(fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.is_file():
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(self.fields)

    def write(self, **row):
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])
