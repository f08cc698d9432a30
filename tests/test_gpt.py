"""Tests for the TTS GPT (model/gpt.py) and its token layout (model/sequence.py): target alignment, the KV
cache against full recomputation, causality, overfitting a few utterances, GQA, presets, sampling and
classifier-free guidance.
Tiny configs on the CPU; the whole file runs in seconds."""
import pytest
import torch
import torch.nn.functional as F

from dataset.readers import DEMO_DIR
from dataset.speech_tokens import open_codes, select
from model.batched import generate_rows
from model.gpt import GPT, PRESETS, GPTConfig, KVCache
from model.sampling import sample_next
from model.sequence import (IGNORE, PAD, SPEECH_START, START, TEXT_VOCAB_SIZE, build_example, collate,
                            encode_text, speaker_id, spoken_ids, without_text)
from tokenizer.text import normalize

SPEECH_VOCAB = 64
TV = TEXT_VOCAB_SIZE  # speech code c is input id TV + c
END = SPEECH_VOCAB


def tiny_model(seed=0, **overrides):
    torch.manual_seed(seed)
    settings = dict(speech_vocab_size=SPEECH_VOCAB, n_layer=2, n_head=4, n_kv_head=2, d_model=64,
                    max_seq_len=128)
    return GPT(GPTConfig(**{**settings, **overrides})).eval()


def assert_targets_are_next_tokens(ids, targets):
    """Every position with a target predicts the token after it (or END after the last), never its own."""
    for p in range(len(ids)):
        if targets[p] == IGNORE:
            continue
        expected = int(ids[p + 1]) - TV if p + 1 < len(ids) else END
        assert int(targets[p]) == expected, f"position {p}"
    assert int(targets[-1]) == END


# 1. Alignment

def test_targets_without_prompt():
    text = encode_text("Hi!")
    ids, targets = build_example(text, [5, 9, 2], TV, speaker=0, speech_vocab_size=SPEECH_VOCAB)
    assert ids.tolist() == [START, speaker_id(0), *text, SPEECH_START, TV + 5, TV + 9, TV + 2]
    speech_start = ids.tolist().index(SPEECH_START)
    assert targets[:speech_start].tolist() == [IGNORE] * speech_start  # START, speaker, text
    assert targets[speech_start:].tolist() == [5, 9, 2, END]  # SPEECH_START -> 5, 5 -> 9, 9 -> 2, 2 -> END
    assert (targets[speech_start + 1:] != ids[speech_start + 1:] - TV).all()  # never the current token
    assert_targets_are_next_tokens(ids, targets)


def test_targets_with_prompt():
    prompt_text, text = encode_text("ok."), encode_text("go")
    ids, targets = build_example(text, [5, 9, 2], TV, prompt_text_ids=prompt_text, prompt_codes=[7, 8],
                                 speech_vocab_size=SPEECH_VOCAB)
    assert ids.tolist() == [START, *prompt_text, *text, SPEECH_START, TV + 7, TV + 8, TV + 5, TV + 9, TV + 2]
    last_prompt = ids.tolist().index(TV + 8)
    assert (targets[:last_prompt] == IGNORE).all()  # START, prompt text, text, SPEECH_START, prompt code 7
    assert targets[last_prompt:].tolist() == [5, 9, 2, END]
    assert_targets_are_next_tokens(ids, targets)


def test_forward_does_not_shift_targets_again():
    """The loss at position p compares logits[p] with targets[p]: the layout has already shifted them."""
    model = tiny_model()
    ids, targets = build_example(encode_text("abc"), [5, 9, 2], TV, speech_vocab_size=SPEECH_VOCAB)
    logits, loss = model(ids[None], targets[None])
    keep = targets != IGNORE
    torch.testing.assert_close(loss, F.cross_entropy(logits[0][keep], targets[keep]))


def test_encode_text_and_collate():
    text = encode_text("Café — naïve 日本 Dr. Smith paid $5")
    assert all(0 <= t < 256 for t in text)
    assert bytes(text).decode("utf-8") == "café, naïve 日本 doctor smith paid five dollars."
    examples = [build_example([1, 2], [3], TV, speech_vocab_size=SPEECH_VOCAB),
                build_example([1, 2, 3, 4], [3, 4, 5], TV, speech_vocab_size=SPEECH_VOCAB)]
    ids, targets = collate(examples)
    assert ids.shape == targets.shape == (2, 9)
    assert ids[0, 5:].tolist() == [PAD] * 4 and targets[0, 5:].tolist() == [IGNORE] * 4
    assert torch.equal(ids[1], examples[1][0]) and torch.equal(targets[1], examples[1][1])


# 2. KV cache

def greedy_by_full_forward(model, prefix, n_tokens):
    """The reference: rerun the whole sequence for every new token, END forbidden."""
    ids, codes = prefix, []
    for _ in range(n_tokens):
        logits = model(ids)[0][0, -1].clone()
        logits[END] = float("-inf")
        code = int(logits.argmax())
        codes.append(code)
        ids = torch.cat([ids, torch.tensor([[TV + code]])], dim=1)
    return codes


@pytest.mark.parametrize("step", [0.0, 3.5])  # plain and text-aligned rotary positions
def test_cached_greedy_generation_matches_full_forward(step):
    model = tiny_model(seed=1, text_position_step=step)
    # At init (std 0.02) the logits hardly depend on context, and a cache bug such as a wrong position
    # offset still picks the same argmax; larger weights make attention decide the tokens.
    with torch.no_grad():
        for matrix in (param for param in model.parameters() if param.dim() >= 2):
            matrix.mul_(10)
    prefix = torch.tensor([[START, *encode_text("hello there"), SPEECH_START]])
    cached = model.generate(prefix, max_new_tokens=30, temperature=0, min_new_tokens=30)
    assert cached.tolist() == greedy_by_full_forward(model, prefix, 30)


@pytest.mark.parametrize("step", [0.0, 3.5])
def test_cached_logits_match_full_forward(step):
    """A prefill, single steps, and multi-token chunks on a non-empty cache (they need the explicit mask);
    the cache's buffers grow on the way, once by a single step (64 -> 128 positions), once by a chunk."""
    model = tiny_model(seed=2, text_position_step=step, max_seq_len=256)
    ids = torch.cat([torch.randint(0, TV, (2, 12)), TV + torch.randint(0, SPEECH_VOCAB, (2, 188))], dim=1)
    full_logits, _ = model(ids)
    kv_cache, pieces = KVCache(model.cfg.n_layer), []
    for start, end in [(0, 10), (10, 11), (11, 12), (12, 17), (17, 63), (63, 64), (64, 65), (65, 100),
                       (100, 150), (150, 200)]:
        pieces.append(model(ids[:, start:end], kv_cache=kv_cache)[0])
    assert kv_cache.length == 200 and kv_cache.keys[0].shape[2] == 256
    torch.testing.assert_close(torch.cat(pieces, dim=1), full_logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("step, cfg_scale", [(0.0, 1.0), (3.5, 1.0), (3.5, 2.0)])
def test_rows_of_a_batch_speak_what_each_speaks_alone(step, cfg_scale):
    """generate_rows with prefixes of different lengths (left-padded, the pads masked), each row with its
    own lengths and generator: code for code what generate_stream says for that prefix alone, sampled."""
    model = tiny_model(seed=5, text_position_step=step, max_seq_len=256)
    with torch.no_grad():  # as in the cache test: make attention decide the tokens
        for matrix in (param for param in model.parameters() if param.dim() >= 2):
            matrix.mul_(10)
    prefixes = [torch.tensor([START, speaker_id(i % 2), *encode_text(text), SPEECH_START])
                for i, text in enumerate(["hi", "a longer sentence to say", "mid length"])]
    most, fewest = [40, 25, 60], [5, 25, 0]
    sampling = dict(temperature=1.0, top_k=20, ras_window=6, cfg_scale=cfg_scale)
    alone = [list(model.generate_stream(prefix[None], most[i], min_new_tokens=fewest[i],
                                        generator=torch.Generator().manual_seed(i), **sampling))
             for i, prefix in enumerate(prefixes)]
    together = [[] for _ in prefixes]
    for codes in generate_rows(model, prefixes, most, fewest,
                               generators=[torch.Generator().manual_seed(i) for i in range(3)], **sampling):
        for row, code in zip(together, codes):
            row += [] if code is None else [code]
    assert together == alone
    assert len(alone[1]) == 25 and len({len(codes) for codes in alone}) > 1  # rows end at different steps


def test_a_batch_ends_its_rows_where_the_longest_prefix_fills_max_seq_len():
    """Rows share the padded length: beside a prefix of 61 tokens a short one gets 64 - 61 + 1 codes, as
    many as the long one (the last code is never fed back), and not the 60 it would get alone."""
    model = tiny_model(max_seq_len=64)
    long, short = torch.randint(0, 256, (61,)), torch.tensor([START, *encode_text("hi"), SPEECH_START])
    lengths = [0, 0]
    for codes in generate_rows(model, [long, short], [60, 60], [60, 60], temperature=0):
        lengths = [n + (code is not None) for n, code in zip(lengths, codes)]
    assert lengths == [4, 4]
    assert len(model.generate(short[None], max_new_tokens=60, temperature=0, min_new_tokens=60)) == 60


def test_rotary_positions_plain_and_aligned_to_the_text():
    ids = torch.tensor([[START, speaker_id(0), *spoken_ids("abc"), SPEECH_START, TV + 5, TV + 9, TV + 5]])
    assert tiny_model().positions(ids).tolist() == [list(range(9))]  # plain: the sequence index
    # Aligned: byte j at 2.5 j (START and the speaker at 0), SPEECH_START at -1, code k at k.
    assert tiny_model(text_position_step=2.5).positions(ids).tolist() == [[0, 0, 0, 2.5, 5, -1, 0, 1, 2]]
    # With a voice prompt the bytes (prompt text, then text) and the codes (prompt codes, then speech)
    # each count on: the prompt is simply the start of the same alignment.
    prompted = torch.tensor([[START, *spoken_ids("ab"), *spoken_ids("c"), SPEECH_START, TV + 1, TV + 2]])
    assert tiny_model(text_position_step=2.0).positions(prompted).tolist() == [[0, 0, 2, 4, -1, 0, 1]]


# 3. Causality

@pytest.mark.parametrize("step", [0.0, 3.5])
def test_future_tokens_do_not_change_earlier_logits(step):
    model = tiny_model(seed=3, text_position_step=step)
    ids = torch.randint(0, TV + SPEECH_VOCAB, (1, 30))
    changed = ids.clone()
    changed[0, 20:] = (changed[0, 20:] + 7) % (TV + SPEECH_VOCAB)
    before, after = model(ids)[0], model(changed)[0]
    torch.testing.assert_close(after[:, :20], before[:, :20], atol=1e-6, rtol=0)
    assert not torch.allclose(after[:, 20:], before[:, 20:])


# 4. Learning

def test_tiny_model_overfits_three_demo_utterances():
    """Three real utterances of the demo corpus (their normalised text, their codes from the shipped
    codec): learnt to near-zero speech loss, then spoken again greedily, code for code, ending on END."""
    codes, rows, info = open_codes(DEMO_DIR / "codes")
    rows = sorted(select(rows, "val", ["kal"]), key=lambda r: int(r["length"]))[:3]  # about 100 codes each
    utterances = [(encode_text(normalize(r["text"])),
                   codes[int(r["offset"]):int(r["offset"]) + int(r["length"])].astype(int).tolist()) for r in rows]
    vocab = info["codebook_size"]
    ids, targets = collate([build_example(text, speech, TV, speech_vocab_size=vocab)
                            for text, speech in utterances])
    model = tiny_model(seed=4, speech_vocab_size=vocab, max_seq_len=256).train()
    optimizer = model.configure_optimizers(weight_decay=0.0, lr=3e-3, betas=(0.9, 0.95), device_type="cpu")
    for _ in range(150):
        _, loss = model(ids, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    model.eval()
    correct = total = 0
    for text, speech in utterances:
        generated = model.generate(torch.tensor([[START, *text, SPEECH_START]]), max_new_tokens=len(speech) + 20,
                                   temperature=0)
        assert len(generated) == len(speech)  # stopped by END, not by max_new_tokens
        correct += sum(int(g == c) for g, c in zip(generated.tolist(), speech))
        total += len(speech)
    assert correct / total >= 0.95


# 5. Grouped-query attention and presets

@pytest.mark.parametrize("n_kv_head", [1, 2, 4])
def test_grouped_query_attention(n_kv_head):
    model = tiny_model(n_kv_head=n_kv_head)
    ids = torch.randint(0, TV + SPEECH_VOCAB, (2, 16))
    kv_cache = KVCache(model.cfg.n_layer)
    logits, _ = model(ids, kv_cache=kv_cache)
    assert logits.shape == (2, 16, SPEECH_VOCAB + 1)
    keys, _ = kv_cache.update(0, torch.zeros(2, n_kv_head, 0, 16), torch.zeros(2, n_kv_head, 0, 16))
    assert keys.shape == (2, n_kv_head, 16, 16)  # the cache shrinks with fewer kv heads


@pytest.mark.parametrize("name, low, high", [("cpu", 4e6, 6e6), ("gpu", 25e6, 35e6), ("large", 90e6, 110e6)])
def test_preset_sizes(name, low, high):
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = GPT(GPTConfig(**PRESETS[name]))
    n_params = model.num_parameters()
    flops = model.estimate_flops_per_token()
    print(f"{name}: {n_params / 1e6:.2f} M parameters, {flops / 1e6:.0f} MFLOPs per training token")
    assert low <= n_params <= high


def test_bad_shapes_are_refused_and_frozen_weights_cost_less():
    for bad in (dict(d_model=30, n_head=4), dict(d_model=32, n_head=4, n_kv_head=3), dict(d_model=28, n_head=4)):
        with pytest.raises(ValueError):  # heads that do not divide, groups that do not, odd head size (7)
            GPTConfig(**{**dict(n_layer=1, n_kv_head=2), **bad})
    model = GPT(GPTConfig(n_layer=2, d_model=32, n_head=2, n_kv_head=1, max_seq_len=64))
    trained = model.estimate_flops_per_token(64)
    attention = 12 * 2 * 32 * 64
    model.requires_grad_(False)  # as LoRA's frozen base: forward and input gradient only
    assert model.estimate_flops_per_token(64) - attention == pytest.approx((trained - attention) * 4 / 6)


# 6. Sampling

def sampled_set(logits, n=400, **options):
    generator = torch.Generator().manual_seed(0)
    return {sample_next(logits, generator=generator, **options) for _ in range(n)}


def test_top_k_keeps_exactly_k():
    logits = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0, 4.0])
    assert sampled_set(logits, top_k=2, temperature=2.0) in ({3, 4}, {3, 5})
    assert sampled_set(logits, top_k=1) == {3}


def test_top_p_keeps_smallest_set_reaching_p():
    logits = torch.tensor([0.4, 0.05, 0.3, 0.2, 0.05]).log()
    assert sampled_set(logits, top_p=0.8) == {0, 2, 3}  # 0.4 + 0.3 < 0.8 <= 0.4 + 0.3 + 0.2
    assert sampled_set(logits, top_p=0.65) == {0, 2}
    assert sampled_set(logits, top_p=0.3) == {0}


def test_kept_tokens_are_drawn_in_proportion_to_their_renormalised_probabilities():
    """Not only which tokens survive top-k / top-p and temperature, but how often each is drawn."""
    probs = torch.tensor([0.4, 0.05, 0.3, 0.2, 0.05])
    generator = torch.Generator().manual_seed(1)
    for options, kept in (({"top_k": 3}, [0, 2, 3]), ({"top_p": 0.65}, [0, 2]),
                          ({"temperature": 0.5, "top_k": 2}, [0, 2])):
        n = 20_000
        counts = torch.bincount(torch.tensor([sample_next(probs.log(), generator=generator, **options)
                                              for _ in range(n)]), minlength=5).float() / n
        expected = torch.zeros(5)
        expected[kept] = probs[kept] ** (1 / options.get("temperature", 1.0))  # p^(1/T), renormalised
        expected /= expected.sum()
        assert (counts - expected).abs().max() < 0.015, (options, counts, expected)


def test_temperature_zero_is_argmax():
    logits = torch.randn(65, generator=torch.Generator().manual_seed(5))
    assert sample_next(logits, temperature=0) == int(logits.argmax())
    rows = torch.randn(4, 65, generator=torch.Generator().manual_seed(6))
    assert sample_next(rows, temperature=0).tolist() == rows.argmax(-1).tolist()


def test_rows_are_sampled_each_from_its_own_kept_tokens():
    """logits (N, V): one token per row, each within that row's top-k and top-p, as the row alone gives."""
    rows = torch.tensor([[0.4, 0.05, 0.3, 0.2, 0.05], [0.05, 0.05, 0.1, 0.1, 0.7], [0.2] * 5]).log()
    generator = torch.Generator().manual_seed(2)
    drawn = torch.stack([sample_next(rows, top_p=0.65, generator=generator) for _ in range(400)])  # (400, 3)
    assert drawn.shape == (400, 3)
    kept = [set(drawn[:, i].tolist()) for i in range(3)]
    assert kept == [sampled_set(rows[i], top_p=0.65) for i in range(3)]
    assert kept[:2] == [{0, 2}, {4}] and len(kept[2]) == 4  # five of 0.2: 0.6 < 0.65 needs a fourth
    drawn = torch.stack([sample_next(rows, top_k=2, generator=generator) for _ in range(400)])
    kept = [set(drawn[:, i].tolist()) for i in range(3)]
    assert kept[0] == {0, 2}
    assert kept[1] in ({2, 4}, {3, 4})  # 0.7 and one of the two tied at 0.1
    assert len(kept[2]) == 2  # five equal: any two, but only two


def test_end_is_masked_below_min_new_tokens():
    model = tiny_model(seed=6)
    # Make END overwhelmingly likely at every step, so only the mask can hold it off.
    model.speech_head.register_forward_hook(lambda module, inputs, logits: logits + 100 * F.one_hot(
        torch.tensor(END), SPEECH_VOCAB + 1))
    prefix = torch.tensor([[START, *encode_text("hi"), SPEECH_START]])
    assert len(model.generate(prefix, max_new_tokens=20, temperature=0)) == 0
    assert len(model.generate(prefix, max_new_tokens=20, temperature=0, min_new_tokens=7)) == 7
    generator = torch.Generator().manual_seed(0)
    assert len(model.generate(prefix, max_new_tokens=20, min_new_tokens=7, top_k=5, generator=generator)) == 7
    assert len(model.generate(prefix, max_new_tokens=5, temperature=0, min_new_tokens=7)) == 5


# 7. Classifier-free guidance

def test_without_text_is_the_text_dropout_layout():
    """Taking the bytes out of a prefix gives what build_example makes with no text and no prompt text."""
    text, prompt_text = encode_text("Read me."), encode_text("A prompt.")
    for speaker, prompt in [(1, None), (None, [3, 7, 7, 1])]:
        ids, _ = build_example(text, [], TV, speaker=speaker, prompt_text_ids=prompt and prompt_text,
                               prompt_codes=prompt, speech_vocab_size=SPEECH_VOCAB)
        bare, _ = build_example([], [], TV, speaker=speaker, prompt_codes=prompt, speech_vocab_size=SPEECH_VOCAB)
        assert without_text(ids).tolist() == bare.tolist()
        assert without_text(ids[None]).tolist() == [bare.tolist()]


@pytest.mark.parametrize("step", [0.0, 3.5])
def test_guided_generation_matches_full_forward(step):
    """Cached guided greedy decoding against the formula computed from two full forward passes (no cache)
    per step: the prefix with its text and the same prefix without it, each followed by the codes so far."""
    model = tiny_model(seed=3, text_position_step=step)
    with torch.no_grad():  # as in the cache test: make attention decide the tokens
        for matrix in (param for param in model.parameters() if param.dim() >= 2):
            matrix.mul_(10)
    prefix = torch.tensor([[START, speaker_id(0), *encode_text("guide me"), SPEECH_START]])
    bare = torch.tensor([[START, speaker_id(0), SPEECH_START]])
    scale, n = 2.5, 25
    codes = []
    for _ in range(n):
        tail = torch.tensor([[TV + c for c in codes]], dtype=torch.long).view(1, -1)
        conditioned = model(torch.cat([prefix, tail], 1))[0][0, -1]
        plain = model(torch.cat([bare, tail], 1))[0][0, -1]
        logits = plain + scale * (conditioned - plain)
        logits[END] = float("-inf")
        codes.append(int(logits.argmax()))
    guided = model.generate(prefix, max_new_tokens=n, temperature=0, min_new_tokens=n, cfg_scale=scale)
    assert guided.tolist() == codes
    # Guidance changes the choices (else the comparison above could pass with guidance ignored), and
    # scale 1 is plain decoding.
    assert guided.tolist() != greedy_by_full_forward(model, prefix, n)
    assert model.generate(prefix, max_new_tokens=n, temperature=0, min_new_tokens=n, cfg_scale=1.0).tolist() \
        == greedy_by_full_forward(model, prefix, n)


def test_without_text_takes_one_prefix():
    prefix = torch.tensor([START, speaker_id(0), *spoken_ids("hi."), SPEECH_START])
    assert without_text(prefix).tolist() == [START, speaker_id(0), SPEECH_START]
    assert without_text(prefix[None]).tolist() == [[START, speaker_id(0), SPEECH_START]]
    with pytest.raises(ValueError, match="one prefix"):
        without_text(torch.stack([prefix, prefix]))
