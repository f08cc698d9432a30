"""
Tests for tokenizer/discriminators.py:

- both discriminators: output counts, finite logits, feature list lengths, gradients reach the waveform,
  MPD on lengths that are not multiples of the period;
- hinge and feature-matching losses against values worked out by hand;
- MultiScaleMelLoss: zero on identical input, monotonic in the noise level, and equal to the same
  quantity computed with librosa (optional: skipped when librosa is missing);
- a few discriminator optimiser steps on real-vs-noise data lower the discriminator loss.

Inputs are tiny (2 x 8000 samples, half a second) so the whole file runs in a few seconds on a CPU.
"""
import numpy as np
import pytest
import torch

from tokenizer.discriminators import (MultiPeriodDiscriminator, MultiResolutionDiscriminator,
                                      MultiScaleMelLoss, discriminator_loss, feature_matching_loss,
                                      generator_adversarial_loss)

SR = 16000


def speechlike(batch=2, n=8000, seed=0):
    """A harmonic tone (pitch 150 Hz, falling harmonic amplitudes) plus a little noise: (batch, n)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / SR
    f0 = 150.0 * (1 + 0.1 * torch.arange(batch, dtype=torch.float64))[:, None]  # (batch, 1)
    tone = sum(0.3 / k * torch.sin(2 * torch.pi * k * f0 * t) for k in range(1, 11))
    return (tone + 0.01 * torch.randn(batch, n, generator=gen, dtype=torch.float64)).float()


# -----------------------------------------------------------------------------------------------------
# Discriminators


@pytest.mark.parametrize("make,n_subs,n_layers", [
    (MultiPeriodDiscriminator, 5, 6),      # 4 strided convs + 1 conv + the logits map
    (MultiResolutionDiscriminator, 3, 6),  # 1 + 3 strided convs + 1 conv + the logits map
])
def test_discriminator_outputs_and_gradients(make, n_subs, n_layers):
    torch.manual_seed(0)
    disc = make()
    wav = speechlike().requires_grad_(True)
    logits, features = disc(wav)
    assert len(logits) == len(features) == n_subs
    for lg, feats in zip(logits, features):
        assert lg.ndim == 2 and lg.shape[0] == 2 and lg.shape[1] > 0
        assert torch.isfinite(lg).all()
        assert len(feats) == n_layers
        assert all(f.shape[0] == 2 and torch.isfinite(f).all() for f in feats)
        assert torch.equal(feats[-1].flatten(1), lg)  # the last feature map is the logits map
    generator_adversarial_loss(logits).backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all() and wav.grad.abs().sum() > 0


@pytest.mark.parametrize("n", [8000, 8001, 7999, 4099])  # 4099 is prime: no period divides it
def test_mpd_any_length(n):
    torch.manual_seed(0)
    disc = MultiPeriodDiscriminator(periods=(2, 3, 5, 7, 11), channels=(4, 8))
    logits, features = disc(torch.randn(2, n) * 0.1)
    for p, lg, feats in zip((2, 3, 5, 7, 11), logits, features):
        rows = -(-n // p)  # ceil(n / p): the padded waveform folded into columns of width p
        assert feats[0].shape == (2, 4, -(-rows // 3), p)  # first conv strides rows by 3
        assert torch.isfinite(lg).all()


# -----------------------------------------------------------------------------------------------------
# Hinge losses


def test_hinge_losses_hand_computed():
    twos, zeros = torch.full((2, 5), 2.0), torch.zeros(2, 5)
    # real all 2: relu(1 - 2) = 0; fake all -2: relu(1 - 2) = 0
    assert discriminator_loss([twos], [-twos]).item() == 0.0
    # fake 0: relu(1 + 0) = 1 for the discriminator, relu(1 - 0) = 1 for the generator
    assert discriminator_loss([twos], [zeros]).item() == pytest.approx(1.0)
    assert generator_adversarial_loss([zeros]).item() == pytest.approx(1.0)
    assert generator_adversarial_loss([twos]).item() == 0.0
    # mixed values: real [0.5, 3] -> relu(1 - r) = [0.5, 0]; fake [-3, 0.25] -> relu(1 + f) = [0, 1.25]
    real, fake = torch.tensor([[0.5, 3.0]]), torch.tensor([[-3.0, 0.25]])
    assert discriminator_loss([real], [fake]).item() == pytest.approx(0.25 + 0.625)
    # generator on fake [-3, 0.25]: relu(1 - f) = [4, 0.75] -> mean 2.375
    assert generator_adversarial_loss([fake]).item() == pytest.approx(2.375)
    # averaged over sub-discriminators, not summed: losses 0 and 1 give 0.5
    assert discriminator_loss([twos, twos], [-twos, zeros]).item() == pytest.approx(0.5)
    assert generator_adversarial_loss([twos, zeros]).item() == pytest.approx(0.5)


@pytest.mark.parametrize("real,fake,is_zero", [
    (1.0, -1.0, True), (5.0, -5.0, True), (0.99, -1.0, False), (1.0, -0.99, False), (-1.0, 1.0, False),
])
def test_discriminator_loss_zero_only_past_the_margins(real, fake, is_zero):
    loss = discriminator_loss([torch.full((3, 4), real)], [torch.full((3, 4), fake)]).item()
    assert (loss == 0.0) == is_zero and loss >= 0.0


# -----------------------------------------------------------------------------------------------------
# Feature matching


def test_feature_matching_hand_computed_and_detached():
    real = [[torch.tensor([1.0, 2.0]), torch.tensor([[0.0, 0.0, 3.0]])], [torch.tensor([4.0])]]
    real = [[f.clone().requires_grad_(True) for f in feats] for feats in real]
    same = [[f.detach().clone() for f in feats] for feats in real]
    assert feature_matching_loss(real, same).item() == 0.0
    fake = [[torch.tensor([0.0, 2.0]), torch.tensor([[0.0, 0.0, 0.0]])], [torch.tensor([2.0])]]
    fake = [[f.requires_grad_(True) for f in feats] for feats in fake]
    # disc 1: layer means |1-0|,|2-2| -> 0.5 and |3-0|/3 -> 1.0, averaged 0.75; disc 2: |4-2| = 2
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((0.75 + 2.0) / 2)
    loss.backward()
    assert all(f.grad is None for feats in real for f in feats)  # real features are the target only
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for feats in fake for f in feats)


# -----------------------------------------------------------------------------------------------------
# Mel loss


def test_mel_loss_zero_and_monotonic():
    loss = MultiScaleMelLoss()
    real = speechlike()
    gen = torch.Generator().manual_seed(1)
    noise = torch.randn(real.shape, generator=gen)
    assert loss(real, real).item() == 0.0
    slight, heavy = loss(real + 0.003 * noise, real), loss(real + 0.05 * noise, real)
    assert 0 < slight.item() < heavy.item()
    per_res = loss.distances(real + 0.05 * noise, real)
    assert per_res.shape == (3,) and (per_res > 0).all()
    torch.testing.assert_close(per_res.mean(), heavy)


def test_mel_loss_matches_librosa():
    librosa = pytest.importorskip("librosa")
    resolutions = ((512, 128, 40), (1024, 256, 80), (2048, 512, 128))
    real = speechlike()
    fake = real + 0.02 * torch.randn(real.shape, generator=torch.Generator().manual_seed(2))
    ours = MultiScaleMelLoss(SR, resolutions)(fake, real).item()

    def log_mel(y, n_fft, hop, n_mels):
        mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                             htk=True, norm="slaney", power=1.0, center=True,
                                             pad_mode="reflect")
        return np.log(np.maximum(mel, 1e-5))

    f, r = fake.numpy().astype(np.float64), real.numpy().astype(np.float64)
    ref = np.mean([np.abs(log_mel(f, *res) - log_mel(r, *res)).mean() for res in resolutions])
    # 1e-4 in log units: float32 against float64 FFTs differ by ~1e-6 relative
    assert ours == pytest.approx(ref, abs=1e-4, rel=0)


# -----------------------------------------------------------------------------------------------------
# Training signal


def test_discriminator_steps_lower_its_loss():
    torch.manual_seed(0)
    # small channel counts keep 20 steps fast; the architecture is the same
    discs = [MultiPeriodDiscriminator(periods=(2, 3), channels=(8, 16)),
             MultiResolutionDiscriminator(resolutions=((512, 128), (256, 64)), channels=8)]
    params = [p for d in discs for p in d.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    real = speechlike(n=4000)
    fake = 0.1 * torch.randn(real.shape, generator=torch.Generator().manual_seed(3))

    def losses_now():  # (2,) one hinge loss per discriminator
        return torch.stack([discriminator_loss(d(real)[0], d(fake)[0]) for d in discs])

    before = losses_now().detach()
    for _ in range(20):
        opt.zero_grad()
        losses_now().sum().backward()
        opt.step()
    after = losses_now().detach()
    # both start at ~2 (untrained logits ~0 give relu(1 - 0) + relu(1 + 0)); the spectrogram view
    # separates a tone from noise quickly, the waveform view more slowly, but both must improve
    # (the sum measured at 0.61 to 0.87 of the start over seeds 0 to 5, the waveform view down by 0.02 to 0.05)
    assert (after < before).all() and after.sum() < 0.92 * before.sum(), (before, after)
