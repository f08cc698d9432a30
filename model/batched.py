"""
Speaking several prefixes at once, for infer.py's --best_of, --batch_size and --text_file: the batched
counterpart of GPT.generate_stream (model/gpt.py), and the score that picks the best of several tries.

    for codes in generate_rows(model, prefixes, max_new_tokens, min_new_tokens): ...  # a code per row a step
    spoken = sample_rows(model, [(prefix, most, fewest, seed), ...], sampling, batch_size)  # [(codes, cut)]
    score(model, prefix, codes)  # mean log-probability per token: how likely the model finds a try

A step of several rows costs far less than as many steps of one (`python lab/bench.py tts --rows 1 8`
measures it), because the weights are read once for all of them.
"""
import torch

from model.gpt import KVCache
from model.sampling import repetition_aware, sample_next
from model.sequence import TEXT_VOCAB_SIZE, left_pad, padded_mask, without_text


@torch.inference_mode()
def generate_rows(model, prefixes, max_new_tokens, min_new_tokens, temperature=1.0, top_k=None, top_p=None,
                  ras_window=0, ras_max_repeats=3, cfg_scale=1.0, generators=None):
    """Speak several prefixes at once, one row of the batch each: prefixes a list of 1-D id tensors,
    usually [START] [speaker?] text [SPEECH_START]; max_new_tokens, min_new_tokens and generators one per
    row, the other arguments GPT.generate_stream's. Yields, step by step, a list with each row's new code
    (an int), or None for a row that has ended; stops when all have. A row ends at END, at its
    max_new_tokens, or when the batch reaches max_seq_len: the rows share the longest prefix's length.

    Every row samples with its own generator, so it speaks what it would speak alone, with one caveat.
    Shorter prefixes are padded on the left and masked (sequence.left_pad); rotary positions make the shift
    harmless, but it changes the order of some float sums: a padded row's logits differ from its own alone
    by about 1e-6, which now and then tips a sample the other way (rows of equal length come out
    identical). With guidance each prefix also runs without its text, in the batch's second half."""
    B, guided = len(prefixes), cfg_scale != 1.0
    rows = list(prefixes) + ([without_text(prefix[None])[0] for prefix in prefixes] if guided else [])
    ids, key_mask = left_pad(rows)  # (B or 2B, T0)
    kv_cache = KVCache(model.cfg.n_layer)
    # The last code is never fed back, so the padded prefix plus all but one new code must fit.
    limits = [min(m, model.cfg.max_seq_len - ids.shape[1] + 1) for m in max_new_tokens]
    generators = generators or [None] * B
    logits, _ = model(ids, kv_cache=kv_cache, mask=padded_mask(key_mask, ids.shape[1]))  # (B or 2B, T0, V)
    spoken, ended, step = [[] for _ in range(B)], [limit < 1 for limit in limits], 0
    while not all(ended):
        step_logits = logits[:B, -1].float()  # (B, V)
        if guided:
            plain = logits[B:, -1].float()  # (B, V)
            step_logits = plain + cfg_scale * (step_logits - plain)
        codes = [None] * B
        for row in range(B):
            if ended[row]:
                continue
            next_logits = step_logits[row].clone()  # (V,)
            if step < min_new_tokens[row]:
                next_logits[model.end_token] = float("-inf")
            code = sample_next(next_logits, temperature, top_k, top_p, generators[row])
            if ras_window and code != model.end_token:
                code = repetition_aware(next_logits, code, spoken[row][-ras_window:], ras_max_repeats,
                                        temperature, generators[row])
            if code == model.end_token:
                ended[row] = True
                continue
            codes[row] = code
            spoken[row].append(code)
            ended[row] = step + 1 >= limits[row]
        yield codes
        step += 1
        if not all(ended):  # an ended row is fed code 0: what it computes is never read
            fed = [0 if code is None else code for code in codes] * (2 if guided else 1)
            key_mask = None if key_mask is None else torch.nn.functional.pad(key_mask, (0, 1), value=True)
            next_ids = model.cfg.text_vocab_size + torch.tensor(fed, device=ids.device)[:, None]  # (B or 2B, 1)
            logits, _ = model(next_ids, kv_cache=kv_cache, mask=padded_mask(key_mask, 1))  # (B or 2B, 1, V)


def sample_rows(model, rows, sampling, batch_size):
    """[(codes, cut)] for rows [(prefix (1, T0), most codes, fewest codes, seed)], batch_size at a time
    (generate_rows), each sampled with a generator of its own seed; sampling: generate_rows' keyword
    arguments. cut: the row reached its length bound (the model did not end it), which a padded batch can
    reach sooner than the row alone would."""
    results = []
    for first in range(0, len(rows), batch_size):
        batch = rows[first:first + batch_size]
        generators = [torch.Generator(prefix.device).manual_seed(seed) for prefix, _, _, seed in batch]
        codes = [[] for _ in batch]
        for step in generate_rows(model, [prefix[0] for prefix, _, _, _ in batch], [most for _, most, _, _ in batch],
                                  [fewest for _, _, fewest, _ in batch], generators=generators, **sampling):
            for row, code in zip(codes, step):
                if code is not None:
                    row.append(code)
        longest = max(prefix.shape[1] for prefix, _, _, _ in batch)
        limits = [min(most, model.cfg.max_seq_len - longest + 1) for _, most, _, _ in batch]
        results += [(row, len(row) >= limit) for row, limit in zip(codes, limits)]
    return results


@torch.inference_mode()
def score(model, prefix, codes):
    """Mean log-probability per token that the model gives codes (a list) and END after prefix (1, T0),
    without guidance: how likely the model finds a try it sampled. Higher is more likely; it is minus the
    training loss of the same example, so it does not grow or shrink with the length."""
    ids = torch.tensor([prefix[0].tolist() + [TEXT_VOCAB_SIZE + c for c in codes]], device=prefix.device)
    targets = torch.tensor(codes + [model.end_token], device=prefix.device)
    # A try cut off at max_seq_len has no position left to predict its END from: score its codes only.
    keep = model.cfg.max_seq_len
    ids, targets = ids[:, :keep], targets[: keep - prefix.shape[1] + 1]
    logits, _ = model(ids)  # (1, T, V)
    logp = logits[0, prefix.shape[1] - 1:].float().log_softmax(-1)  # (len(targets), V)
    return logp.gather(1, targets[:, None]).mean().item()


def best_try(model, prefix, tries):
    """The try [(codes, cut), ...] to speak: one the model ended beats one cut off at the length bound
    (still talking, or looping) whatever their scores; among those, the highest score; max keeps the first
    of equals, and one try needs no scoring."""
    if len(tries) == 1:
        return tries[0]
    return max(tries, key=lambda t: (not t[1], score(model, prefix, t[0])))
