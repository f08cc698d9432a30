"""
The codec's critics and training losses: two GAN discriminators, the hinge and feature-matching losses
built on them, the multi-resolution mel loss that does most of the work, and an optional supervised
phone loss (PhoneHead) that makes the tokens carry the phone.

Why a GAN at all: the mel L1 loss alone teaches the decoder the right spectral envelope but averages
away fine detail (the phase, the exact harmonics, noise texture), so the output sounds buzzy or muffled.
A discriminator learns to spot those artefacts and its gradient pushes the decoder to remove them.
Two discriminators look at the waveform in complementary ways; each is a set of sub-discriminators:

- MultiPeriodDiscriminator (the HiFi-GAN idea): folds the waveform into a 2-D grid of width p, so
  samples p apart stack in one column, and convolves along columns only. Voiced speech is periodic
  (the pitch period), and this view makes periodic structure at lag p easy to judge. Prime periods
  (2, 3, 5, 7, 11) overlap little, so together they cover many lags.
- MultiResolutionDiscriminator (the UnivNet/Vocos idea): judges STFT magnitudes at several window sizes.
  A long window resolves harmonics (frequency detail), a short one resolves onsets (time detail); no
  single STFT has both, so each sub-discriminator sees one trade-off.

Losses (K = number of sub-discriminators, D_k(x) = logits of sub-discriminator k, mean over its outputs):
  discriminator  L_D  = 1/K sum_k [ mean relu(1 - D_k(real)) + mean relu(1 + D_k(fake)) ]
  generator      L_G  = 1/K sum_k   mean relu(1 - D_k(fake))
  features       L_FM = 1/K sum_k 1/L_k sum_l mean |F_kl(real) - F_kl(fake)|   (F_kl: layer l's output)
  mel            L_mel = 1/R sum_r mean |log mel_r(fake) - log mel_r(real)|    (R resolutions)
The hinge only penalises logits on the wrong side of the margin +-1: once the discriminator is confident
it stops pushing, which keeps its logits (and the generator's gradients) bounded, whereas the log-loss of
the original GAN keeps driving confident logits further out. Feature matching asks the generator to
reproduce the discriminator's intermediate activations on real audio: an L1 regression target at every
layer, which still gives gradients when the real/fake score saturates (the generator hinge is flat past
+1) and changes slowly as the discriminator learns, so training is steadier.
Every term is divided by its number of sub-discriminators (and feature matching by its number of layers)
so the weights below do not change when periods or resolutions are added or removed.

Weights: HiFi-GAN uses lambda_mel = 45 and lambda_fm = 2 with adversarial weight 1, and Vocos keeps
lambda_mel = 45. Those papers sum feature matching over layers (about 5-6 per sub-discriminator); since it
is averaged here, lambda_fm = 2 is a gentler setting than theirs. Typical use:
  L_gen = 45 * L_mel + sum over discriminators of (L_G + 2 * L_FM).

Shapes: B batch, T samples, p a period, F frames, bins = n_fft // 2 + 1.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from dataset.audio import SAMPLE_RATE, LogMelSpectrogram

LRELU_SLOPE = 0.1  # leaky, so a discriminator never has dead units that pass no gradient back


def _run_convs(convs, post, x):
    """Apply conv + LeakyReLU layers, then the 1-channel output conv; keep every layer's output."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)  # the logits map counts as a layer for feature matching too, as in HiFi-GAN
    return x.flatten(1), features  # (B, n_logits) one real/fake score per output position


class PeriodDiscriminator(nn.Module):
    """Judges the waveform folded into columns of samples `period` apart."""

    def __init__(self, period, channels):
        super().__init__()
        self.period = period
        # (5, 1) kernels mix samples along a column (time, in steps of p) and never across columns
        ins = (1, *channels[:-1])
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (3, 1), padding=(2, 0)))
            for c_in, c_out in zip(ins, channels))
        self.convs.append(weight_norm(nn.Conv2d(channels[-1], channels[-1], (3, 1), padding=(1, 0))))
        self.post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wav):  # wav (B, T)
        x = wav.unsqueeze(1)  # (B, 1, T)
        extra = -wav.shape[-1] % self.period
        if extra:  # reflect (not zeros) so the padded tail does not look like a fake-audio artefact
            x = F.pad(x, (0, extra), mode="reflect")  # (B, 1, T'), T' a multiple of p
        x = x.view(x.shape[0], 1, -1, self.period)  # (B, 1, T'/p, p): column j = samples j, j+p, ...
        return _run_convs(self.convs, self.post, x)


class MultiPeriodDiscriminator(nn.Module):
    """One PeriodDiscriminator per period. wav (B, T) -> ([logits (B, n_k)] * K, [[features]] * K)."""

    def __init__(self, periods=(2, 3, 5, 7, 11), channels=(16, 64, 256, 512)):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, wav):
        logits, features = zip(*(d(wav) for d in self.discriminators))
        return list(logits), list(features)


class ResolutionDiscriminator(nn.Module):
    """Judges the STFT magnitude at one (n_fft, hop) as an image with frequency on the last axis."""

    def __init__(self, n_fft, hop_length, channels):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        # wide (3, 9) kernels along frequency see a harmonic and its neighbours; stride 2 along
        # frequency only, so the time resolution the STFT paid for is kept
        self.convs = nn.ModuleList([weight_norm(nn.Conv2d(1, channels, (3, 9), padding=(1, 4)))])
        self.convs.extend(weight_norm(nn.Conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4)))
                          for _ in range(3))
        self.convs.append(weight_norm(nn.Conv2d(channels, channels, (3, 3), padding=(1, 1))))
        self.post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, wav):  # wav (B, T), T > n_fft // 2 for the reflect padding
        # half-precision FFTs lose too much, so the STFT runs in float32 even under autocast
        with torch.autocast(device_type=wav.device.type, enabled=False):
            spec = torch.stft(wav.float(), self.n_fft, self.hop_length, window=self.window,
                              center=True, pad_mode="reflect", return_complex=True).abs()  # (B, bins, F)
        x = spec.transpose(1, 2).unsqueeze(1)  # (B, 1, F, bins)
        return _run_convs(self.convs, self.post, x)


class MultiResolutionDiscriminator(nn.Module):
    """One ResolutionDiscriminator per (n_fft, hop). Same return convention as MultiPeriodDiscriminator."""

    def __init__(self, resolutions=((1024, 256), (512, 128), (256, 64)), channels=32):
        super().__init__()
        self.discriminators = nn.ModuleList(ResolutionDiscriminator(n, h, channels) for n, h in resolutions)

    def forward(self, wav):
        logits, features = zip(*(d(wav) for d in self.discriminators))
        return list(logits), list(features)


# -----------------------------------------------------------------------------------------------------
# Losses (each takes the lists one discriminator returns; formulas in the module docstring)


def discriminator_loss(real_logits, fake_logits):
    """Hinge loss for the discriminator: real pushed to >= 1, fake to <= -1. Zero exactly when both hold."""
    losses = [F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits)]
    return torch.stack(losses).mean()


def generator_adversarial_loss(fake_logits):
    """Hinge loss for the generator: pushes the discriminator's fake logits up towards >= 1."""
    return torch.stack([F.relu(1 - f).mean() for f in fake_logits]).mean()


def feature_matching_loss(real_features, fake_features):
    """L1 between the discriminator's feature maps on real and on fake audio, averaged over layers and
    sub-discriminators. Real features are detached: they are the target, not something to move."""
    per_disc = [torch.stack([(r.detach() - f).abs().mean() for r, f in zip(reals, fakes)]).mean()
                for reals, fakes in zip(real_features, fake_features)]
    return torch.stack(per_disc).mean()


class MultiScaleMelLoss(nn.Module):
    """
    Mean over resolutions of the L1 distance between log-mel spectrograms of fake (B, T) and real (B, T).
    Each (n_fft, hop, n_mels) trades time for frequency resolution; averaging several keeps the decoder
    from fitting one trade-off while smearing the others. n_mels grows with n_fft because a short window's
    coarse frequency grid cannot fill many narrow low bands: 128 bands on a 512-point STFT leave one empty.
    """

    def __init__(self, sample_rate=SAMPLE_RATE,
                 resolutions=((512, 128, 40), (1024, 256, 80), (2048, 512, 128))):
        super().__init__()
        self.mels = nn.ModuleList(LogMelSpectrogram(sample_rate, n_fft, hop, n_mels)
                                  for n_fft, hop, n_mels in resolutions)

    def distances(self, fake, real):
        """(R,) per-resolution mean L1 between log-mels: the "multi-resolution log-mel distance"."""
        return torch.stack([(mel(fake) - mel(real)).abs().mean() for mel in self.mels])

    def forward(self, fake, real):
        return self.distances(fake, real).mean()


class PhoneHead(nn.Module):
    """An optional supervised loss for the codec (train_tokenizer.py --phone_weight): a linear layer reads
    each frame's quantised latent and predicts the phone being spoken there (labels from the synthesizer
    that made the corpus, dataset/phone_labels.py). The latent is a codebook vector, so the head can only
    be right if each code stands for few phones: the loss pushes the encoder (its gradient reaches it
    through the straight-through estimator) to put frames of one phone on the same codes, while the
    decoder and the mel and adversarial losses are unchanged and the codebook stays one VQ.

    Why: an LM with one prediction head suits one codebook, and tokens that carry the content are easier
    to predict from text. CosyVoice trains its single-codebook S3 tokenizer in a supervised way (on an
    ASR objective) for that reason; SpeechTokenizer and Mimi distil a self-supervised speech model into
    their first codebook and report lower WER for the LMs trained on their tokens.

    Measured here (lab/EXPERIMENTS.md, "Speech tokens that carry the phone"): at weight 10 the codes name
    the phone far better (H(phone | code) 3.13 to 2.26 bits) and a GPT predicts them 1 nat a code better,
    but after an hour of CPU training neither GPT spoke, and the one on these codes babbled further from
    the text than the one on plain codes; hence off by default."""

    def __init__(self, dim, n_phones):
        super().__init__()
        self.n_phones = n_phones
        self.proj = nn.Linear(dim, n_phones)

    def forward(self, quantized, labels):
        """quantized (B, D, N) latents, labels (B, N) phone ids (-100: unknown) -> (cross-entropy over the
        labelled frames, the share of them predicted right)."""
        logits = self.proj(quantized.transpose(1, 2).float())  # (B, N, n_phones)
        known = labels != -100
        if not known.any():
            zero = logits.sum() * 0 + 0.0  # keeps the graph (every parameter gets a gradient), and is +0
            return zero, 0.0
        loss = F.cross_entropy(logits.reshape(-1, self.n_phones), labels.reshape(-1), ignore_index=-100)
        accuracy = (logits.argmax(-1) == labels)[known].float().mean().item()
        return loss, accuracy
