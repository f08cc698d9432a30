"""
LoRA (Hu et al., 2021): fine-tune a weight matrix W (out × in) through a small low-rank update instead.

    y = W x + (alpha / r) · B A x            A (r × in), B (out × r), r ≪ in, out

W stays frozen; only A and B learn, r · (in + out) numbers instead of in · out. The bet is that what a
fine-tune changes lives in a few directions: a new voice is a small change to a model that already
speaks. B starts at zero, so the wrapped layer first computes exactly what the pretrained one did; A
starts random, so B gets a useful gradient from the first step. Dividing by r keeps the update's size
roughly the same when r changes, so alpha needs no retuning.

After training, W + (alpha / r) B A is one ordinary matrix again: merged_state_dict folds every update
into its base weight, so the saved model loads into a plain GPT and inference needs no LoRA code.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank update of rank `rank`."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base.requires_grad_(False)
        # A is initialised like an nn.Linear weight (kaiming uniform), B with zeros: the LoRA paper's choice.
        like = dict(device=base.weight.device, dtype=base.weight.dtype)  # beside the weight they update
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, **like))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, **like))
        self.scale = alpha / rank

    def forward(self, x):  # (..., in) -> (..., out)
        # Two thin matmuls (in -> r -> out) instead of forming the full (out × in) update each step.
        return self.base(x) + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)

    def merged_weight(self):  # (out, in)
        return self.base.weight + self.scale * self.lora_b @ self.lora_a


def add_lora(model, rank, alpha):
    """Freeze every parameter of a GPT, then wrap each linear layer of attention and MLP in LoRALinear:
    afterwards only the A and B matrices train. Embeddings, norms and the head stay as pretrained."""
    if any(isinstance(module, LoRALinear) for module in model.modules()):
        # a second call would freeze the first adapters and find no plain linear layer left to wrap
        raise ValueError("the model has LoRA layers already: merge them first (merged_state_dict)")
    model.requires_grad_(False)
    for block in model.blocks:
        for parent in (block.attention, block.mlp):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.Linear):
                    setattr(parent, name, LoRALinear(child, rank, alpha))
    return model


def merged_state_dict(model):
    """The state dict of `model` with every LoRALinear folded into a plain linear layer's keys
    (`x.base.weight`, `x.lora_a`, `x.lora_b` -> `x.weight`); a model without LoRA comes back as is."""
    state = model.state_dict()
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            del state[f"{name}.lora_a"], state[f"{name}.lora_b"]
            for key in [k for k in state if k.startswith(f"{name}.base.")]:
                state[f"{name}.{key[len(name) + len('.base.'):]}"] = state.pop(key)
            state[f"{name}.weight"] = module.merged_weight().detach()
    return state
