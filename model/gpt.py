"""
The TTS GPT, in one file: a decoder-only transformer that reads text tokens and continues with speech
tokens from the single-codebook codec (tokenizer/codec.py). The token layout and the targets are in
model/sequence.py.

    ids (B, T) ──► embed (text or speech table) ──► n_layer × [RMSNorm ► attention, RMSNorm ► SwiGLU]
        ──► RMSNorm ──► speech_head ──► logits (B, T, speech_vocab_size + 1)   (codes + END)

A LLaMA-style block (RMSNorm, rotary positions, grouped-query attention, SwiGLU) in nanoGPT's layout.

    model = GPT(GPTConfig(**PRESETS["cpu"]))
    logits, loss = model(ids, targets)                     # training
    codes = model.generate(prefix_ids, max_new_tokens=500)  # inference, with a KV cache

Several prefixes at once (left padding, a code per row a step, scoring tries) are in model/batched.py.

Letters in the shape comments: B batch, T time (tokens), C channels (d_model), nh query heads,
nkv key/value heads, hs head size, V speech vocabulary (codebook entries + END).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.sampling import repetition_aware, sample_next
from model.sequence import (BYTE_VALUES, IGNORE, SPEECH_START, SPEECH_VOCAB_SIZE, TEXT_VOCAB_SIZE, left_pad,
                            padded_mask, without_text)


SDPA_HAS_GQA = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 5)


@dataclass
class GPTConfig:
    text_vocab_size: int = TEXT_VOCAB_SIZE  # bytes, special tokens and speakers (model/sequence.py)
    speech_vocab_size: int = SPEECH_VOCAB_SIZE  # codebook entries; the head adds END after them
    n_layer: int = 6
    n_head: int = 4
    n_kv_head: int = 2  # < n_head: grouped-query attention, a KV cache n_head / n_kv_head times smaller
    d_model: int = 256
    max_seq_len: int = 1024  # tokens; the codec makes 50 per second, so about 20 s with the text
    dropout: float = 0.0
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    # Rotary positions of text bytes are this many apart (the training data's median speech codes per
    # byte), speech codes 1 apart, both counted from 0: see GPT.positions. 0: plain positions 0, 1, 2, ...
    text_position_step: float = 0.0

    def __post_init__(self):
        if self.d_model % self.n_head or self.n_head % self.n_kv_head or (self.d_model // self.n_head) % 2:
            raise ValueError("d_model must divide into n_head heads of even size (rotary embeddings turn "
                             "pairs), and n_head into n_kv_head groups")


# Parameter counts (checked by tests/test_gpt.py): cpu 5.28 M, gpu 31.2 M, large 103.2 M.
PRESETS = {
    "cpu": dict(n_layer=6, n_head=4, n_kv_head=2, d_model=256),
    "gpu": dict(n_layer=10, n_head=8, n_kv_head=4, d_model=512),
    "large": dict(n_layer=16, n_head=12, n_kv_head=4, d_model=768),
}


class RMSNorm(nn.Module):
    """LayerNorm without the mean subtraction and bias: as good in practice, and cheaper."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # The mean of squares in fp32: in bf16 it loses most of its digits.
        inverse_rms = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return (x * inverse_rms).type_as(x) * self.weight


def rotary(positions, head_size, theta):
    """cos and sin (..., hs/2) of the angle position * frequency, one frequency per pair, for positions
    (...) of any shape; positions need not be whole numbers."""
    frequencies = 1.0 / theta ** (torch.arange(0, head_size, 2, device=positions.device).float() / head_size)
    angles = positions.float().unsqueeze(-1) * frequencies  # (..., hs/2)
    return angles.cos(), angles.sin()


def apply_rotary(x, cos, sin):
    """Rotate each pair (x[i], x[i + hs/2]) of x (B, heads, T, hs) by its position's angle. A query at
    position m and a key at n then score by their content and m - n only: relative positions for free."""
    first, second = x.chunk(2, dim=-1)  # each (B, heads, T, hs/2)
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1).type_as(x)


class KVCache:
    """The keys and values of every position seen so far, per layer, so that generating one token costs
    one position of compute instead of the whole sequence. They live in buffers with room to spare, which
    double when full (as a Python list grows), so a step writes only its own new position. Growing by
    concatenation would copy the whole cache at every step instead, a cost that grows with the sequence."""

    def __init__(self, n_layer):
        self.keys = [None] * n_layer  # per layer (B, nkv, capacity, hs); the first filled[layer] are real
        self.values = [None] * n_layer
        self.filled = [0] * n_layer
        self.n_bytes = self.n_speech = 0  # text bytes and speech-side tokens seen (GPT.positions)

    @property
    def length(self):
        return self.filled[0]

    def update(self, layer, k, v):  # k, v (B, nkv, T, hs) -> all keys and values (B, nkv, T_past + T, hs)
        start, end = self.filled[layer], self.filled[layer] + k.shape[2]
        capacity = 0 if self.keys[layer] is None else self.keys[layer].shape[2]
        if end > capacity:
            capacity = max(end, 2 * capacity, 64)
            for buffers, new in ((self.keys, k), (self.values, v)):
                grown = new.new_empty(*new.shape[:2], capacity, new.shape[3])
                if start:
                    grown[:, :, :start] = buffers[layer][:, :, :start]
                buffers[layer] = grown
        self.keys[layer][:, :, start:end] = k
        self.values[layer][:, :, start:end] = v
        self.filled[layer] = end
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]  # views, no copy


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head = cfg.n_head, cfg.n_kv_head
        self.head_size = cfg.d_model // cfg.n_head
        self.query = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.key_value = nn.Linear(cfg.d_model, 2 * cfg.n_kv_head * self.head_size, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, mask=None, kv_cache=None, layer=0):
        """x (B, T, C); mask (B or 1, 1, T, T_past + T), True where a query may see a key, or None: causal
        for T > 1 with no cache (training, prefill), everything for one new token (GPT.forward builds the
        rest)."""
        B, T, C = x.shape
        q = self.query(x).view(B, T, self.n_head, self.head_size).transpose(1, 2)  # (B, nh, T, hs)
        kv = self.key_value(x).view(B, T, 2, self.n_kv_head, self.head_size)  # (B, T, 2, nkv, hs)
        k, v = kv.permute(2, 0, 3, 1, 4)  # each (B, nkv, T, hs)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if kv_cache is not None:
            k, v = kv_cache.update(layer, k, v)  # (B, nkv, T_past + T, hs)
        # Grouped-query attention: query head h reads key/value head h // (nh / nkv). SDPA's enable_gqa
        # (torch >= 2.5) does that without copying, which is faster both when generating and in training;
        # older torch copies each kv head to its group.
        group = self.n_head // self.n_kv_head
        gqa = {"enable_gqa": True} if group > 1 and SDPA_HAS_GQA else {}
        if group > 1 and not SDPA_HAS_GQA:
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (B, nh, T_all, hs)
        # No dropout on the attention weights (the blocks drop out on the residual branches): with
        # dropout_p > 0 a CPU's SDPA leaves its fused kernel for a much slower one.
        # Without a mask SDPA builds the causal triangle itself, and may pick its flash kernel.
        y = F.scaled_dot_product_attention(q, k, v, mask, is_causal=mask is None and T > 1, **gqa)  # (B,nh,T,hs)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class SwiGLU(nn.Module):
    """silu(gate(x)) * up(x), then down. Three matrices of 8/3 d_model keep the parameter count of the
    classic two of 4 d_model; the hidden size is rounded up to a multiple of 64 for matmul-friendly shapes."""

    def __init__(self, cfg):
        super().__init__()
        hidden = 64 * math.ceil(8 * cfg.d_model / 3 / 64)
        self.gate = nn.Linear(cfg.d_model, hidden, bias=False)
        self.up = nn.Linear(cfg.d_model, hidden, bias=False)
        self.down = nn.Linear(hidden, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    """Pre-norm: the residual stream itself is never normalised, so gradients reach early layers intact."""

    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attention = CausalSelfAttention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, cos, sin, mask=None, kv_cache=None, layer=0):
        x = x + self.dropout(self.attention(self.attention_norm(x), cos, sin, mask, kv_cache, layer))
        return x + self.dropout(self.mlp(self.mlp_norm(x)))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.end_token = cfg.speech_vocab_size
        # Two tables, as in CosyVoice: text and speech tokens mean different things, and a shared table
        # would only add a meaningless offset between them.
        self.text_embedding = nn.Embedding(cfg.text_vocab_size, cfg.d_model)
        self.speech_embedding = nn.Embedding(cfg.speech_vocab_size, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        # Only codes + END are predicted: text is never a target, so no capacity goes to predicting it.
        self.speech_head = nn.Linear(cfg.d_model, cfg.speech_vocab_size + 1, bias=False)

        self.apply(self._init_weights)
        # Each block adds two outputs (attention, MLP) to the residual stream, so 2 * n_layer roughly
        # independent terms pile up and its variance grows with depth. Scaling the layers that write into
        # the stream by 1/sqrt(2 * n_layer) keeps it the same at any depth (GPT-2).
        for name, param in self.named_parameters():
            if name.endswith(("attention.proj.weight", "mlp.down.weight")):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self):
        return sum(param.numel() for param in self.parameters())

    def embed(self, ids):
        """ids (B, T) in the unified id space -> (B, T, C), from the text or the speech table per position.
        Both lookups run on clamped ids (always in range) and torch.where keeps the right one."""
        is_speech = (ids >= self.cfg.text_vocab_size).unsqueeze(-1)  # (B, T, 1)
        text = self.text_embedding(ids.clamp(max=self.cfg.text_vocab_size - 1))  # (B, T, C)
        speech = self.speech_embedding((ids - self.cfg.text_vocab_size).clamp(min=0))  # (B, T, C)
        return torch.where(is_speech, speech, text)  # (B, T, C)

    def forward(self, ids, targets=None, kv_cache=None, mask=None):
        """ids (B, T) -> logits (B, T, V) and, given targets (B, T) (IGNORE where no loss), the mean
        cross-entropy over the positions with a target. targets[p] is what follows ids[p]: already the
        next token (model/sequence.py), so nothing is shifted here. With kv_cache, ids continue the
        cached positions and are appended to the cache. mask: see CausalSelfAttention (padded rows:
        sequence.padded_mask); None is causal."""
        B, T = ids.shape
        past = 0 if kv_cache is None else kv_cache.length
        if past + T > self.cfg.max_seq_len:
            raise ValueError(f"{past + T} tokens exceed max_seq_len {self.cfg.max_seq_len}")
        if mask is None and past and T > 1:
            # The T new queries are the *last* T of past + T keys: query i sits at past + i and sees keys
            # 0..past + i. (SDPA's own triangle starts at the top left, and would hide the cache.)
            mask = torch.ones(T, past + T, dtype=torch.bool, device=ids.device).tril(diagonal=past)
        positions = self.positions(ids, kv_cache)  # (B, T)
        cos, sin = rotary(positions, self.cfg.d_model // self.cfg.n_head, self.cfg.rope_theta)  # (B, T, hs/2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, 1, T, hs/2): the same for every head
        x = self.dropout(self.embed(ids))  # (B, T, C)
        for layer, block in enumerate(self.blocks):
            x = block(x, cos, sin, mask, kv_cache, layer)
        logits = self.speech_head(self.final_norm(x))  # (B, T, V)
        loss = None
        if targets is not None:
            # In fp32: a softmax over 1025 entries in bf16 makes a noticeably noisier loss.
            loss = F.cross_entropy(logits.float().view(B * T, -1), targets.view(B * T), ignore_index=IGNORE)
        return logits, loss

    def positions(self, ids, kv_cache=None):
        """Rotary positions (B, T) of ids, continuing the cached ones. Plain (text_position_step 0): 0, 1,
        2, ... Aligned: byte j at step * j (START, speaker: 0), SPEECH_START at -1 and code k at k. The code
        spoken while byte j is read then sits near position step * j, so one head can find the bytes being
        spoken by relative position alone; with plain positions that distance depends on the sentence's
        length and a small model must find its place in the text by content, which it learns late."""
        B, T = ids.shape
        step = self.cfg.text_position_step
        if not step:
            past = 0 if kv_cache is None else kv_cache.length
            return torch.arange(past, past + T, device=ids.device).expand(B, T)
        is_byte = ids < BYTE_VALUES  # (B, T)
        is_speech = (ids >= self.cfg.text_vocab_size) | (ids == SPEECH_START)  # (B, T)
        bytes_before = torch.cumsum(is_byte, 1) - is_byte.long()  # bytes strictly before each token
        speech_upto = torch.cumsum(is_speech, 1)  # speech-side tokens up to and including each token
        if kv_cache is not None:
            bytes_before, speech_upto = bytes_before + kv_cache.n_bytes, speech_upto + kv_cache.n_speech
            kv_cache.n_bytes, kv_cache.n_speech = bytes_before[:, -1:] + is_byte[:, -1:], speech_upto[:, -1:]
        return torch.where(is_speech, (speech_upto - 2).float(), step * bytes_before.float())  # (B, T)

    @torch.inference_mode()
    def generate(self, prefix_ids, max_new_tokens, **sampling):
        """prefix_ids (1, T0), usually [START] [speaker?] text [SPEECH_START] -> speech codes (N,) without
        END; the keyword arguments are generate_stream's."""
        codes = list(self.generate_stream(prefix_ids, max_new_tokens, **sampling))
        return torch.tensor(codes, dtype=torch.long, device=prefix_ids.device)

    @torch.inference_mode()  # no_grad, and no version counters or views to track: faster per code
    def generate_stream(self, prefix_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                        min_new_tokens=0, ras_window=0, ras_max_repeats=3, cfg_scale=1.0, generator=None):
        """Yield speech codes (ints) one at a time as they are sampled after prefix_ids (1, T0).

        The prefix runs once to fill the KV cache, then each new code is one single-token step. END is
        forbidden for the first min_new_tokens codes; generation stops at END, at max_new_tokens codes,
        or when max_seq_len is full. temperature, top_k, top_p: model/sampling.py. ras_window > 0 turns on
        repetition-aware sampling: a code already sampled ras_max_repeats times among the last ras_window
        is drawn again. Call model.eval() first if the model has dropout.

        cfg_scale != 1: classifier-free guidance. The same codes also extend the prefix without its text,
        in a second row of the batch, and the logits become unconditioned + cfg_scale * (conditioned -
        unconditioned): beyond 1 they go further in the direction the text moves them. Only meaningful for
        a model that trained with text dropout. That row is shorter, so it is padded on the left and its
        pads hidden by a mask (sequence.left_pad); rotary positions make the shift harmless, since attention
        scores depend only on the distance between two tokens."""
        if prefix_ids.shape[0] != 1:
            raise ValueError("generate takes one prefix, shape (1, T0); model/batched.py speaks several")
        guided = cfg_scale != 1.0
        rows = [prefix_ids[0]] + ([without_text(prefix_ids)[0]] if guided else [])
        ids, key_mask = left_pad(rows)  # (1 or 2, T0), key_mask None when nothing is padded
        kv_cache = KVCache(self.cfg.n_layer)
        logits, _ = self(ids, kv_cache=kv_cache, mask=padded_mask(key_mask, ids.shape[1]))  # (1 or 2, T0, V)
        # The last code is never fed back, so the prefix plus all but one new code must fit.
        limit = min(max_new_tokens, self.cfg.max_seq_len - ids.shape[1] + 1)
        codes = []
        for step in range(limit):
            next_logits = logits[0, -1].float().clone()  # (V,)
            if guided:
                plain = logits[1, -1].float()  # (V,): the same codes, no text
                next_logits = plain + cfg_scale * (next_logits - plain)
            if step < min_new_tokens:
                next_logits[self.end_token] = float("-inf")
            code = sample_next(next_logits, temperature, top_k, top_p, generator)
            if ras_window and code != self.end_token:
                code = repetition_aware(next_logits, code, codes[-ras_window:], ras_max_repeats, temperature,
                                        generator)
            if code == self.end_token:
                return
            codes.append(code)
            yield code
            if step + 1 < limit:  # feed the code back (to both rows) for the next step's logits
                key_mask = None if key_mask is None else F.pad(key_mask, (0, 1), value=True)  # it is real
                next_ids = torch.full((len(rows), 1), self.cfg.text_vocab_size + code, device=ids.device)
                logits, _ = self(next_ids, kv_cache=kv_cache, mask=padded_mask(key_mask, 1))  # (1 or 2, 1, V)

    def configure_optimizers(self, weight_decay, lr, betas, device_type):
        """AdamW with weight decay on matrices and embeddings only. Norm gains set scales, and pulling
        them toward zero would only fight the model; they are too few to overfit anyway."""
        params = [param for param in self.parameters() if param.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        # The fused kernel does the whole update in one launch on CUDA.
        return torch.optim.AdamW(groups, lr=lr, betas=betas, **({"fused": True} if device_type == "cuda" else {}))

    def estimate_flops_per_token(self, seq_len=None):
        """Training FLOPs per token (forward + backward) at seq_len (default max_seq_len), as in the
        PaLM paper's appendix B: 6 per matmul weight, plus 12 * n_layer * d_model * T for the attention
        scores and their weighted sum. Embedding tables are lookups, not matmuls, so they don't count; a
        frozen weight (LoRA's base) needs no weight gradient: 4, not 6."""
        seq_len = seq_len or self.cfg.max_seq_len
        lookups = {self.text_embedding.weight, self.speech_embedding.weight}
        weights = sum((6 if p.requires_grad else 4) * p.numel() for p in self.parameters() if p not in lookups)
        return weights + 12 * self.cfg.n_layer * self.cfg.d_model * seq_len
