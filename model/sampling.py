"""
Picking the next speech code from the GPT's logits (model/gpt.py, GPT.generate_stream): temperature,
top-k, top-p, and repetition-aware sampling; and a check of the settings before any sampling starts.
"""
import math

import torch


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Pick the next token id from logits (V,), an int; or one for each row of logits (N, V), a tensor (N,).
    temperature 0 is greedy. top_k keeps the k most likely tokens; top_p (nucleus) keeps the smallest set
    of most likely tokens whose probability reaches p."""
    if temperature == 0:
        picked = logits.argmax(-1)
        return int(picked) if logits.dim() == 1 else picked
    logits = logits.float() / temperature
    if top_k is not None:
        # Scattering the top-k indices keeps exactly k, even when several logits tie at the k-th value.
        keep = torch.topk(logits, min(top_k, logits.shape[-1])).indices
        logits = torch.full_like(logits, float("-inf")).scatter(-1, keep, logits.gather(-1, keep))
    if top_p is not None:
        probs, order = logits.softmax(-1).sort(-1, descending=True)
        # A token stays while the mass of the tokens above it is still short of p.
        mass_above = probs.cumsum(-1) - probs
        dropped = torch.zeros_like(mass_above, dtype=torch.bool).scatter(-1, order, mass_above >= top_p)
        logits = logits.masked_fill(dropped, float("-inf"))
    picked = torch.multinomial(logits.softmax(-1).reshape(-1, logits.shape[-1]), 1, generator=generator)
    return int(picked) if logits.dim() == 1 else picked[:, 0]


def repetition_aware(logits, code, recent, max_repeats, temperature=1.0, generator=None):
    """Repetition-aware sampling: `code`, sampled from logits (V,), stands unless it already occurs
    max_repeats times in `recent` (the last few codes); then a code is drawn again from the whole
    distribution (no top-k / top-p) without it, because a code the nucleus keeps choosing is how a model
    falls into a loop it cannot leave. CosyVoice 2 (after VALL-E 2) redraws from the whole distribution
    too, but keeps the repeated code in it; leaving it out makes every redraw break the run."""
    if recent.count(code) < max_repeats:
        return code
    logits = logits.clone()
    logits[code] = float("-inf")
    return sample_next(logits, temperature, generator=generator)


def check_sampling(temperature, top_k=None, top_p=None, cfg_scale=None, best_of=1, seed=0, batch_size=1):
    """A ValueError, in one line, for settings that leave no distribution to sample from (or no try)."""
    problems = [
        (not (math.isfinite(temperature) and temperature >= 0), f"temperature {temperature}: use 0 (greedy) "
         "or a larger finite number"),
        (top_k is not None and top_k < 1, f"top_k {top_k} < 1: keep at least one token"),
        (top_p is not None and not 0 < top_p <= 1, f"top_p {top_p} outside (0, 1]"),
        (cfg_scale is not None and not (math.isfinite(cfg_scale) and cfg_scale >= 0),
         f"cfg_scale {cfg_scale}: give a number from 0; 1 is no guidance, more pushes toward the text"),
        (best_of < 1, f"best_of {best_of} < 1: speak each part at least once"),
        (temperature == 0 and best_of > 1, "best_of needs sampling: at temperature 0 all tries are one greedy one"),
        (batch_size < 1, f"batch_size {batch_size} < 1: sample at least one try at a time"),
        # parts and tries add to the seed; a torch.Generator takes 64 bits
        (not -2 ** 62 < seed < 2 ** 62, f"seed {seed} outside -2**62 to 2**62"),
    ]
    for wrong, message in problems:
        if wrong:
            raise ValueError(message)
