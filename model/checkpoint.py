"""
Reading checkpoints without running what they may carry, and a trained GPT from one.

    from model.checkpoint import load_gpt
    model, saved = load_gpt("checkpoints/gpt.pt")   # the GPT in fp32, and the checkpoint's other entries

A torch checkpoint is a pickle, and unpickling can run any code a file carries; `safe_load` reads only
tensors and plain data, and refuses the rest with a CheckpointError that says what it found. The training
scripts write these files (train_common.py); everything here only reads them.
"""
import pickle
import re
from pathlib import Path, PosixPath, WindowsPath

import numpy as np
import torch

from model.gpt import GPT, GPTConfig


class CheckpointError(ValueError):
    """A file that is not a checkpoint this project can read, explained in one line."""


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
            raise CheckpointError(f"{path} holds a {refused.group(1)} object, which only a full unpickle "
                                  f"could build, and that can run code: refused") from None
        if isinstance(e, pickle.UnpicklingError):  # bytes the unpickler cannot read at all
            raise CheckpointError(f"{path} is not a readable checkpoint (not a file torch.save wrote)") \
                from None
        first_line = next((line for line in str(e).splitlines() if line.strip()), "")[:200]
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: "
                              f"{first_line})") from None


def load_checkpoint(path):
    """A training checkpoint (last.pt: weights, optimizer and RNG state, step, flags)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume at {path}")
    checkpoint = safe_load(path)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} is not a checkpoint of this project")
    return checkpoint


def load_gpt(path):
    """(GPT in fp32, checkpoint dict) from a model.pt or a last.pt of train_pretrain.py / train_sft.py."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no model at {path} (train_pretrain.py writes out/pretrain/model.pt)")
    checkpoint = safe_load(path)
    if not isinstance(checkpoint, dict) or not {"config", "speaker_map", "codes_info"} <= checkpoint.keys():
        raise CheckpointError(f"{path} is not a GPT checkpoint of train_pretrain.py or train_sft.py")
    model = GPT(GPTConfig(**checkpoint["config"]))
    state = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint["model"]
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError:
        raise CheckpointError(f"{path}: weights of another model (a LoRA run's last.pt? use its model.pt)") \
            from None
    return model, checkpoint
