"""
The speech codec: a waveform becomes 50 integer tokens per second, and those tokens become a waveform.

    wav (B, T) 16 kHz ──► Encoder ──► latents (B, D, N) ──► VectorQuantizer ──► codes (B, N) in [0, K)
                                                                │
    wav (B, N * hop) ◄── iSTFT head ◄── ConvNeXt backbone ◄─────┘ codebook vectors (B, D, N)

It follows WavTokenizer's recipe in small: one codebook (so the GPT predicts one token per frame), a
convolutional encoder whose strides multiply to the hop, and a Vocos-style decoder that never
upsamples: it predicts one STFT frame per token and lets an inverse STFT make the samples.
The discriminators and losses that train it live beside it, in tokenizer/discriminators.py; the
training script is train_tokenizer.py.

    from tokenizer.codec import Codec
    codec = Codec.load()                  # the shipped demo codec (checkpoints/codec.pt)
    codes = codec.encode(wav)             # wav (T,) or (B, T) float at codec.sample_rate -> (N,) / (B, N)
    wav = codec.decode(codes)             # -> (N * hop,) / (B, N * hop)

Letters in the shape comments: B batch, T samples, N tokens (frames), C channels, D codebook vector size,
K codebook size, M = B * N latent vectors.
"""
import hashlib
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange
from torch.nn.utils.parametrizations import weight_norm

from dataset.files import write_atomic

# Quantizer statistics that only training needs; Codec.save leaves them out.
TRAINING_ONLY = ("quantizer.ema_", "quantizer.latents_since_used", "quantizer.steps_since_init")
KEEP_FP32 = ("quantizer.codebook", "quantizer.center")
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "codec.pt"


@dataclass
class CodecConfig:
    sample_rate: int = 16_000
    encoder_strides: tuple = (2, 4, 5, 8)  # their product is the hop: 320 samples -> 50 tokens/s
    # After the first conv; doubled at every downsampling. The encoder's first stages run at the full
    # sample rate and dominate the cost of a training step and of encoding, so they stay narrow: 16
    # channels instead of 32 more than halve both.
    encoder_channels: int = 16
    encoder_max_channels: int = 256
    codebook_size: int = 1024
    codebook_dim: int = 64
    decoder_dim: int = 384
    decoder_intermediate: int = 1152
    decoder_layers: int = 8
    ema_decay: float = 0.99

    def __post_init__(self):
        if self.hop_length % 2:  # istft_same trims (n_fft - hop) / 2 = 1.5 hops at each end
            raise ValueError(f"encoder_strides {self.encoder_strides} multiply to an odd hop: make it even")

    @property
    def hop_length(self):
        return math.prod(self.encoder_strides)

    @property
    def n_fft(self):
        return 4 * self.hop_length  # four frames overlap every sample: a smooth overlap-add


# -----------------------------------------------------------------------------------------------------
# Encoder: strided convolutions, SEANet-style


class ResidualUnit(nn.Module):
    """A dilated conv and a 1x1 conv around a skip connection; length is preserved. x: (B, C, T)."""

    def __init__(self, channels, dilation):
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation))
        self.mix = weight_norm(nn.Conv1d(channels, channels, 1))

    def forward(self, x):
        return x + self.mix(F.elu(self.conv(F.elu(x))))


class EncoderStage(nn.Module):
    """Two residual units, then a conv with stride s that divides the length by exactly s.

    The strided conv has kernel 2s and s samples of padding in total, so a length divisible by s maps to
    length / s: each output frame sees its own s samples plus half a frame on either side."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.residuals = nn.Sequential(ResidualUnit(in_channels, 1), ResidualUnit(in_channels, 3))
        self.padding = (math.ceil(stride / 2), stride // 2)
        self.down = weight_norm(nn.Conv1d(in_channels, out_channels, 2 * stride, stride=stride))

    def forward(self, x):  # (B, C_in, T) -> (B, C_out, T / stride)
        return self.down(F.pad(F.elu(self.residuals(x)), self.padding))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        channels = [min(cfg.encoder_channels * 2**i, cfg.encoder_max_channels)
                    for i in range(len(cfg.encoder_strides) + 1)]
        self.input = weight_norm(nn.Conv1d(1, channels[0], 7, padding=3))
        self.stages = nn.Sequential(*[EncoderStage(c_in, c_out, s) for c_in, c_out, s
                                      in zip(channels[:-1], channels[1:], cfg.encoder_strides)])
        self.output = weight_norm(nn.Conv1d(channels[-1], cfg.codebook_dim, 3, padding=1))
        self.strides = cfg.encoder_strides

    def reach(self):
        """How many samples beyond its own hop one output frame can see, on either side: its receptive
        field, summed layer by layer (an upper bound). Encoding in chunks needs at least this much context."""
        samples, rate = 3, 1  # the input conv, kernel 7; `rate` is samples per position at this depth
        for s in self.strides:
            samples += rate * (3 * 1 + 3 * 3 + s)  # kernel-7 convs at dilations 1 and 3, then kernel 2s, stride s
            rate *= s
        return samples + rate  # the output conv, kernel 3 at the token rate

    def forward(self, wav):  # (B, T) with T a multiple of the hop
        x = self.stages(self.input(wav[:, None, :]))  # (B, C, N)
        return self.output(F.elu(x))  # (B, D, N)


# -----------------------------------------------------------------------------------------------------
# Quantizer: one codebook, EMA updates, restarts for dead codes


def code_stats(codes, codebook_size):
    """How many distinct codes a batch used, and the perplexity of their histogram (K if all were used
    equally often, 1 if one code took everything)."""
    counts = torch.bincount(codes.flatten(), minlength=codebook_size).float()
    probs = counts / counts.sum()
    return {"codes_used": int((counts > 0).sum()),
            "perplexity": float(torch.exp(-(probs * torch.log(probs.clamp(min=1e-10))).sum()))}


class VectorQuantizer(nn.Module):
    """
    Replace each latent vector by its nearest codebook vector; the index is the token.

    - The codebook is not trained by gradients but as a running average (EMA) of the latents assigned
      to each code, i.e. online k-means; the encoder is pulled towards its codes by a commitment loss.
    - Rounding has no gradient, so the straight-through estimator copies the decoder's gradient from the
      quantized vectors onto the latents: z + (q - z).detach() is q forward and z backward.
    - Centring: a fresh conv encoder's latents share one large common vector (norm ~8 against a spread
      of ~0.4 between frames), and every optimizer step moves that common part by about the spread,
      faster than any EMA codebook can follow, so a whole batch lands on one or two codes. Codes therefore
      live relative to a centre, the running average of the batches' mean latents (`center`). While the
      codebook is young (before its k-means initialisation and for `settle_steps` steps after it) a batch
      is centred on its own mean, which follows the moving common part at once; from then on training
      centres exactly as `encode` does, on the running average. Centring on the batch mean for the whole
      run, as codecs trained before this rule did (the shipped one included), makes a frame's code
      depend on the rest of its batch: about half the frames of a batch of 8 got another code than
      encode() gives them, so the encoder learned from codes the GPT never sees (lab/EXPERIMENTS.md).
    - Initialisation from data: the codebook starts as k-means (k-means++ seeded) of the most recent
      `buffer_size` centred latents once that many have been seen; until then latents pass through
      unquantized.
    - Dead codes: a code not picked during the last `dead_after` x K latents (uniform use would have
      picked it `dead_after` times) is restarted at a random latent of the current batch. Counting
      latents rather than batches makes the rule independent of the batch size; WavTokenizer's "used
      fewer than 2 times in this batch" would call most codes dead whenever a batch holds fewer latents
      than the codebook has codes.
    """

    def __init__(self, codebook_size, dim, decay=0.99, dead_after=4, buffer_size=None, settle_steps=None):
        super().__init__()
        self.codebook_size, self.decay, self.dead_after = codebook_size, decay, dead_after
        # Steps for the running centre to forget the young encoder: the EMA keeps decay ** 300 (5 %) of
        # what it was 300 steps earlier at the default decay.
        self.settle_steps = round(3 / (1 - decay)) if settle_steps is None else settle_steps
        buffer_size = buffer_size or 4 * codebook_size
        self.register_buffer("codebook", torch.randn(codebook_size, dim))  # (K, D), relative to center
        self.register_buffer("center", torch.zeros(dim))  # (D,) running mean of the latents
        self.register_buffer("ema_count", torch.zeros(codebook_size))  # (K,) average uses per batch
        self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))  # (K, D) average sum of latents
        self.register_buffer("latents_since_used", torch.zeros(codebook_size))  # (K,)
        self.register_buffer("initialized", torch.tensor(False))
        self.register_buffer("steps_since_init", torch.tensor(0))  # training steps since the k-means init
        # Recent latents for the k-means initialisation (a batch may hold fewer latents than K codes).
        self.register_buffer("recent", torch.zeros(buffer_size, dim), persistent=False)
        self.n_recent = 0

    def nearest(self, r):  # centred latents (M, D) -> codes (M,)
        # |r - c|^2 = |r|^2 - 2 r.c + |c|^2; |r|^2 is the same for every code, so it is left out. In fp32
        # even under autocast, which would run the matmul in bf16 and, for close calls, pick other codes
        # in training (on a GPU) than Codec.encode picks later.
        with torch.autocast(r.device.type, enabled=False):
            distances = -2 * r.float() @ self.codebook.T + (self.codebook**2).sum(1)  # (M, K)
        return distances.argmin(1)

    def encode(self, z):  # latents (M, D) -> codes (M,), as in inference
        return self.nearest(z.float() - self.center)

    def lookup(self, codes):  # codes (...) -> latent-space vectors (..., D)
        return F.embedding(codes, self.codebook) + self.center

    @property
    def settled(self):
        """Whether training centres on the running average, as encode() does (see the class docstring)."""
        return bool(self.initialized) and int(self.steps_since_init) >= self.settle_steps

    def forward(self, z):
        """z (B, D, N) -> (quantized (B, D, N), codes (B, N), commitment loss, stats dict). In eval mode,
        and in training once settled, the codes are exactly encode()'s for the same latents."""
        B, D, N = z.shape
        z = rearrange(z, "b d n -> (b n) d").float()  # (M, D); fp32 even under autocast
        batch_mean = z.mean(0).detach()  # (D,)
        center = self.center.clone() if not self.training or self.settled else batch_mean  # (D,)
        r = z - center  # (M, D) centred latents
        if self.training:
            self.center.lerp_(batch_mean, 1 - self.decay)  # after its use: this batch saw encode()'s centre
            if not self.initialized:
                self._remember(r.detach())
                if self.n_recent < len(self.recent):  # not enough latents yet for k-means: pass through
                    codes = torch.zeros(B, N, dtype=torch.long, device=z.device)
                    stats = {"codes_used": 0, "perplexity": 0.0}
                    return rearrange(z, "(b n) d -> b d n", b=B), codes, z.new_zeros(()), stats
                self._kmeans_init(frames_per_batch=len(r))
                self.center.copy_(batch_mean)  # the running average starts from the latents the codes fit
            else:
                self.steps_since_init += 1
        codes = self.nearest(r)  # (M,)
        quantized = F.embedding(codes, self.codebook)  # (M, D) centred
        commitment = F.mse_loss(r, quantized)  # the codebook is a buffer: only the encoder moves
        if self.training:
            self._ema_update(r.detach(), codes)
        quantized = z + (quantized + center - z).detach()  # straight-through estimator
        quantized = rearrange(quantized, "(b n) d -> b d n", b=B)
        return quantized, codes.view(B, N), commitment, code_stats(codes, self.codebook_size)

    def _remember(self, r):  # a ring buffer of the latest centred latents
        n = min(len(r), len(self.recent))
        index = (torch.arange(n, device=r.device) + self.n_recent) % len(self.recent)
        self.recent[index] = r[torch.randperm(len(r), device=r.device)[:n]]
        self.n_recent = min(self.n_recent + n, len(self.recent))

    @torch.no_grad()
    def _kmeans_init(self, frames_per_batch, iterations=10):
        points = self.recent  # (S, D)
        # k-means++ seeding: each new centre is drawn with probability proportional to its squared
        # distance from the centres so far, so clusters far from the rest are not left without a code.
        centres = [points[torch.randint(len(points), (1,), device=points.device)]]
        closest = ((points - centres[0]) ** 2).sum(1)  # (S,) squared distance to the nearest centre
        for _ in range(self.codebook_size - 1):
            centres.append(points[torch.multinomial(closest + 1e-12, 1)])
            closest = torch.minimum(closest, ((points - centres[-1]) ** 2).sum(1))
        self.codebook.copy_(torch.cat(centres))
        for _ in range(iterations):  # Lloyd's algorithm; an empty cluster keeps its old centre
            assign = self.nearest(points)
            sums = torch.zeros_like(self.codebook).index_add_(0, assign, points)
            counts = torch.bincount(assign, minlength=self.codebook_size).float()
            filled = counts > 0
            self.codebook[filled] = sums[filled] / counts[filled, None]
        # Pretend every code has had its fair share of use, so none is declared dead at once.
        self.ema_count.fill_(frames_per_batch / self.codebook_size)
        self.ema_sum.copy_(self.codebook * self.ema_count[:, None])
        self.initialized.fill_(True)

    @torch.no_grad()
    def _ema_update(self, r, codes):
        counts = torch.bincount(codes, minlength=self.codebook_size).float()  # (K,)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, codes, r)  # (K, D)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        self.codebook.copy_(self.ema_sum / self.ema_count.clamp(min=1e-5)[:, None])
        self.latents_since_used.add_(len(r)).masked_fill_(counts > 0, 0)
        dead = self.latents_since_used > self.dead_after * self.codebook_size  # (K,)
        if dead.any():
            picks = r[torch.randint(0, len(r), (int(dead.sum()),), device=r.device)]
            picks = picks + 1e-3 * r.std() * torch.randn_like(picks)  # codes restarted on one latent differ
            mean_use = self.ema_count.mean()
            self.codebook[dead] = picks
            self.ema_count[dead] = mean_use  # a fresh code gets the average credit, and time to be used
            self.ema_sum[dead] = picks * mean_use
            self.latents_since_used[dead] = 0


# -----------------------------------------------------------------------------------------------------
# Decoder: ConvNeXt at token rate, then an inverse STFT (Vocos)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv over time (mixes neighbouring frames), then a per-frame MLP. x: (B, C, N)."""

    def __init__(self, dim, intermediate, layer_scale):
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up, self.down = nn.Linear(dim, intermediate), nn.Linear(intermediate, dim)
        # A small learned scale on each block's output keeps a deep residual stack near identity at init.
        self.scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x):
        h = self.norm(self.depthwise(x).transpose(1, 2))  # (B, N, C)
        h = self.down(F.gelu(self.up(h))) * self.scale  # (B, N, C)
        return x + h.transpose(1, 2)


def istft_same(spec, n_fft, hop_length, window):
    """
    Inverse STFT with "same" padding: N frames -> exactly N * hop_length samples.

    spec: complex (B, n_fft // 2 + 1, N). Frame i is an n_fft-sample windowed chunk; overlap-adding the
    N frames at hop spacing covers (N - 1) * hop + n_fft samples. Trimming (n_fft - hop) / 2 from each
    end leaves N * hop, and frame i is then centred on sample i * hop + hop / 2: the middle of the hop
    that token i encoded. (torch.istft's centred mode trims n_fft / 2 instead, giving (N - 1) * hop
    samples, one hop short and half a hop out of line with the encoder.) The sum is divided by the
    overlap-added squared window, the least-squares inverse of a windowed STFT. That envelope never
    nears zero on the samples kept: with the codec's n_fft = 4 hops at least two Hann windows overlap
    every one of them (the smallest value, at the ends, is about 0.75 of the 1.5 in the middle); the
    floor only guards other ratios of n_fft to hop, whose edges a window may barely cover.
    """
    frames = torch.fft.irfft(spec, n=n_fft, dim=1) * window[None, :, None]  # (B, n_fft, N)
    n_frames = frames.shape[-1]
    length = (n_frames - 1) * hop_length + n_fft
    fold = dict(output_size=(1, length), kernel_size=(1, n_fft), stride=(1, hop_length))
    audio = F.fold(frames, **fold)[:, 0, 0]  # (B, length) overlap-add
    envelope = F.fold((window**2)[None, :, None].expand(1, -1, n_frames), **fold)[0, 0, 0]  # (length,)
    pad = (n_fft - hop_length) // 2
    return audio[:, pad:-pad] / envelope[pad:-pad].clamp(min=1e-6)  # (B, N * hop)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_fft, self.hop_length = cfg.n_fft, cfg.hop_length
        self.embed = nn.Conv1d(cfg.codebook_dim, cfg.decoder_dim, 7, padding=3)
        self.norm_in = nn.LayerNorm(cfg.decoder_dim)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(cfg.decoder_dim, cfg.decoder_intermediate,
                                                    1 / cfg.decoder_layers) for _ in range(cfg.decoder_layers)])
        self.norm_out = nn.LayerNorm(cfg.decoder_dim)
        # One linear layer predicts each frame's log-magnitude and phase for all n_fft / 2 + 1 bins.
        self.head = nn.Linear(cfg.decoder_dim, cfg.n_fft + 2)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def reach(self):
        """How many tokens beyond its own one hop of output can see, on either side: 3 for the embedding
        conv, 3 for each block's kernel-7 conv, and the frames of the inverse STFT that overlap it (each
        spans n_fft = 4 hops). Decoding in chunks needs at least this much context."""
        return 3 + 3 * len(self.blocks) + math.ceil(self.n_fft / self.hop_length / 2)

    def forward(self, x):  # (B, D, N) -> (B, N * hop)
        x = self.norm_in(self.embed(x).transpose(1, 2)).transpose(1, 2)  # (B, C, N)
        x = self.norm_out(self.blocks(x).transpose(1, 2))  # (B, N, C)
        with torch.autocast(device_type=x.device.type, enabled=False):  # FFTs in fp32
            log_magnitude, phase = self.head(x.float()).transpose(1, 2).chunk(2, dim=1)  # (B, n_fft/2+1, N)
            magnitude = torch.exp(log_magnitude).clamp(max=1e2)  # exp keeps it positive; clamp keeps it sane
            spec = torch.polar(magnitude, phase)
            return istft_same(spec, self.n_fft, self.hop_length, self.window)


# -----------------------------------------------------------------------------------------------------
# The codec


def peak_normalize(wav, peak=0.9):
    """Scale each row to the same peak. The encoder needs it: quiet inputs (Festival's sit near 0.06
    standard deviation) give nearly parallel latents at initialisation, and one code wins everything."""
    return wav * (peak / wav.abs().amax(dim=-1, keepdim=True).clamp(min=1e-4))


def _in_chunks(fn, x, n_units, unit_in, unit_out, chunk, context):
    """Apply a convolutional `fn` to x (B, n_units * unit_in) in overlapping chunks of `chunk` units with
    `context` units either side (more than fn's receptive field), keeping only each chunk's middle. The
    result equals fn(x) up to float rounding, with memory bounded by the chunk size."""
    if n_units <= chunk + 2 * context:
        return fn(x)
    pieces = []
    for start in range(0, n_units, chunk):
        left, right = max(0, start - context), min(n_units, start + chunk + context)
        y = fn(x[:, left * unit_in: right * unit_in])
        pieces.append(y[:, (start - left) * unit_out: (min(start + chunk, n_units) - left) * unit_out])
    return torch.cat(pieces, dim=-1)


class Codec(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or CodecConfig()
        self.encoder = Encoder(self.config)
        self.quantizer = VectorQuantizer(self.config.codebook_size, self.config.codebook_dim,
                                         self.config.ema_decay)
        self.decoder = Decoder(self.config)

    sample_rate = property(lambda self: self.config.sample_rate)
    hop_length = property(lambda self: self.config.hop_length)
    codebook_size = property(lambda self: self.config.codebook_size)
    tokens_per_second = property(lambda self: self.config.sample_rate / self.config.hop_length)

    def forward(self, wav, with_latents=False):
        """Training pass. wav (B, T), T a multiple of the hop, already peak-normalised.
        Returns (reconstruction (B, T), codes (B, N), commitment loss, quantizer stats), and with_latents
        the quantised latents (B, D, N) too (what an extra loss on them, such as PhoneHead's, reads).

        The encoder and the quantizer run in fp32 even under autocast: bf16 latents would round a frame
        onto another code than encode() (fp32) gives it, and the decoder would learn from codes that the
        GPT never speaks. Once the quantizer has settled, the codes here are encode()'s, row by row."""
        with torch.autocast(wav.device.type, enabled=False):
            latents = self.encoder(wav.float())  # (B, D, N)
        quantized, codes, commitment, stats = self.quantizer(latents)
        outputs = self.decoder(quantized), codes, commitment, stats
        return (*outputs, quantized) if with_latents else outputs

    @torch.no_grad()
    def encode(self, wav, chunk_seconds=4.0, lengths=None):
        """wav (T,) or (B, T) at self.sample_rate -> codes (N,) or (B, N), N = ceil(T / hop). A 2-D wav
        with more rows than samples is taken for (samples, channels) and refused, as are NaN and inf.
        Each row is peak-normalised first, as in training. Audio longer than a chunk goes through in
        chunks, which bounds memory and also saves time: the first stages run at the full sample rate,
        and a short chunk's activations stay in the CPU's caches.

        Every sample of a row is its audio, zeros included: the encoder sees past the end of a row, so a
        short clip padded into a batch gets other codes near its end than it gets alone. For rows of
        different lengths give `lengths` (B,): row i is then its first lengths[i] samples, encoded as if
        alone, and its codes past ceil(lengths[i] / hop) are -1 (no audio there)."""
        if lengths is not None:
            wav = torch.as_tensor(wav, dtype=torch.float32)
            lengths = [int(n) for n in lengths]
            if wav.dim() != 2 or len(lengths) != len(wav) or not all(0 <= n <= wav.shape[1] for n in lengths):
                raise ValueError(f"lengths {lengths[:4]}: give one length per row of a (B, T) wav, each "
                                 f"from 0 to T = {wav.shape[-1]}")
            codes = torch.full((len(wav), math.ceil(wav.shape[1] / self.hop_length)), -1, dtype=torch.long,
                               device=self.codebook_device)
            for row, n in enumerate(lengths):  # one at a time: exactly what each row gives alone
                row_codes = self.encode(wav[row, :n], chunk_seconds)
                codes[row, :len(row_codes)] = row_codes
            return codes
        wav = torch.as_tensor(wav, dtype=torch.float32).to(self.codebook_device)
        if wav.dim() not in (1, 2) or (wav.dim() == 2 and len(wav) > wav.shape[1] > 0):
            # (T, 2) would pass as a batch of T clips of 2 samples: stereo from a file reader, most likely
            raise ValueError(f"wav of shape {tuple(wav.shape)}: Codec.encode takes mono samples (T,) or a "
                             f"batch (B, T) (mix stereo down first, as dataset.audio.load_audio does)")
        if not torch.isfinite(wav).all():  # one NaN would spread over its row's peak and every code
            raise ValueError("wav holds NaN or infinite samples")
        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        squeeze = wav.dim() == 1
        wav = wav[None] if squeeze else wav  # (B, T)
        if wav.numel() == 0:  # no samples (or no clips), no codes
            codes = torch.zeros(len(wav), math.ceil(wav.shape[-1] / self.hop_length), dtype=torch.long,
                                device=wav.device)
            return codes[0] if squeeze else codes
        wav = peak_normalize(wav)
        n_tokens = math.ceil(wav.shape[-1] / self.hop_length)
        wav = F.pad(wav, (0, n_tokens * self.hop_length - wav.shape[-1]))

        def encode_piece(piece):
            return self.quantizer.encode(rearrange(self.encoder(piece), "b d n -> (b n) d")).view(len(piece), -1)

        codes = _in_chunks(encode_piece, wav, n_tokens, self.hop_length, 1,
                           chunk=max(1, int(chunk_seconds * self.tokens_per_second)),
                           context=2 * math.ceil(self.encoder.reach() / self.hop_length))  # twice what is needed
        return codes[0] if squeeze else codes

    @torch.no_grad()
    def decode(self, codes, chunk_seconds=30.0):
        """codes (N,) or (B, N) -> float waveform (N * hop,) or (B, N * hop) at self.sample_rate."""
        codes = torch.as_tensor(codes).long().to(self.codebook_device)
        if codes.dim() not in (1, 2):
            raise ValueError(f"codes of shape {tuple(codes.shape)}: Codec.decode takes (N,) or (B, N)")
        squeeze = codes.dim() == 1
        codes = codes[None] if squeeze else codes  # (B, N)
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.codebook_size):
            raise ValueError(f"codes must lie in [0, {self.codebook_size}), got {codes.min()}..{codes.max()}")

        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        if codes.numel() == 0:  # no codes (or no rows), no samples
            wav = torch.zeros(len(codes), codes.shape[-1] * self.hop_length, device=codes.device)
            return wav[0] if squeeze else wav

        def decode_piece(piece):
            return self.decoder(self.quantizer.lookup(piece).transpose(1, 2)).float()

        wav = _in_chunks(decode_piece, codes, codes.shape[-1], 1, self.hop_length,
                         chunk=max(1, int(chunk_seconds * self.tokens_per_second)),
                         context=2 * self.decoder.reach())  # twice what is needed
        return wav[0] if squeeze else wav

    def tokens_sha256(self):
        """A fingerprint of what decides the tokens: the encoder's and the quantizer's weights, as `save`
        stores them. Two codecs with the same fingerprint turn any audio into the same codes, whatever
        their decoders (train_tokenizer.py --decoder_only changes only the decoder), so codes and GPTs
        made with one are valid with the other."""
        digest = hashlib.sha256()
        for key, value in sorted(self.state_dict().items()):
            if key.startswith(("encoder.", "quantizer.")) and not key.startswith(TRAINING_ONLY):
                if value.is_floating_point() and key not in KEEP_FP32:
                    value = value.half()
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    @property
    def codebook_device(self):
        return self.quantizer.codebook.device

    def save(self, path):
        """Write the inference weights in half precision (the codebook and its centre stay fp32:
        nearest-neighbour search is sensitive to rounding), atomically. Training state lives in train_tokenizer.py."""
        state = {k: (v.half() if v.is_floating_point() and k not in KEEP_FP32 else v).cpu()  # loads anywhere
                 for k, v in self.state_dict().items() if not k.startswith(TRAINING_ONLY)}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: torch.save({"config": asdict(self.config), "state_dict": state}, tmp))

    @classmethod
    def load(cls, path=None, device="cpu"):
        """Load a codec saved by `save` (train_tokenizer.py writes one as codec.pt beside its last.pt);
        no path: the shipped demo codec. Anything else is a ValueError that names the file."""
        path = Path(path or DEFAULT_CHECKPOINT)
        if not path.is_file():
            raise FileNotFoundError(f"no codec at {path}: train one with python train_tokenizer.py")
        not_a_codec = f"{path}: not a codec saved by Codec.save (train_tokenizer.py writes codec.pt)"
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            config = dict(checkpoint["config"])
            config["encoder_strides"] = tuple(config["encoder_strides"])
            codec = cls(CodecConfig(**config))
            state = {k: v.float() if v.is_floating_point() else v
                     for k, v in checkpoint["state_dict"].items()}
            result = codec.load_state_dict(state, strict=False)  # saved files leave out the EMA statistics
        except Exception as e:  # truncated, not a torch file, training state, a GPT, other shapes: many kinds
            reason = (str(e).strip().splitlines() or [""])[0][:200]  # what went wrong, in one line
            raise ValueError(f"{not_a_codec}: {type(e).__name__}{': ' + reason if reason else ''}") from None
        missing = [k for k in result.missing_keys if not k.startswith(TRAINING_ONLY)]
        if missing or result.unexpected_keys:
            raise ValueError(f"{path}: not a codec of this version (missing {missing[:3]}, "
                             f"unexpected {result.unexpected_keys[:3]})")
        # Saved files carry no EMA statistics; give every code unit credit so that training can go on
        # from here (train_tokenizer.py --init_from) without the codebook jumping on the first update.
        codec.quantizer.initialized.fill_(True)
        codec.quantizer.steps_since_init.fill_(codec.quantizer.settle_steps)  # a saved codec has settled
        codec.quantizer.ema_count.fill_(1.0)
        codec.quantizer.ema_sum.copy_(codec.quantizer.codebook)
        return codec.to(device).eval()
