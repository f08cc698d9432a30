"""
Picking the next speech code from the GPT's logits (model/gpt.py, GPT.generate_stream): temperature,
top-k, top-p, and repetition-aware sampling.
"""
import torch


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Pick the next token id from logits (V,). temperature 0 is greedy. top_k keeps the k most likely
    tokens; top_p (nucleus) keeps the smallest set of most likely tokens whose probability reaches p."""
    if temperature == 0:
        return int(logits.argmax())
    logits = logits.float() / temperature
    if top_k is not None:
        # Scattering the top-k indices keeps exactly k, even when several logits tie at the k-th value.
        keep = torch.topk(logits, min(top_k, logits.numel())).indices
        logits = torch.full_like(logits, float("-inf")).scatter(0, keep, logits[keep])
    if top_p is not None:
        probs, order = logits.softmax(-1).sort(descending=True)
        # A token stays while the mass of the tokens above it is still short of p.
        mass_above = probs.cumsum(0) - probs
        logits[order[mass_above >= top_p]] = float("-inf")
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


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
