"""
Tests for dataset/audio.py, each against an independent reference:

- resample        against the analytic signal (sines evaluated at the new sample times), against
                  scipy.signal.resample_poly, and for its stop-band attenuation;
- mel_filterbank  and LogMelSpectrogram against librosa (optional: skipped when librosa is missing);
- load_audio / save_audio on tiny files written with soundfile into pytest's tmp_path.

Every signal is built in float64 (time = n / rate): in float32 the phase of a 3 kHz sine after a
second already drifts by ~1e-4 rad, which would blur the 1e-3 tolerances below.
"""
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dataset import audio
from dataset.audio import (SAMPLE_RATE, AudioError, LogMelSpectrogram, audio_info, load_audio,
                           mel_filterbank, resample, save_audio)

FREQS = (220.0, 1234.5, 3000.0)  # all well below the smallest Nyquist frequency used (4 kHz at 8 kHz)
AMPS = (0.3, 0.25, 0.2)  # sum of amplitudes 0.75: no clipping when written as PCM
EDGE_S = 0.1  # seconds skipped at each end: the resampler zero-pads, so the first/last ~filter
              # length of output sees a step, not the sines


def sines(rate, n, freqs=FREQS, amps=AMPS, offset=0.0):
    """The analytic signal at times offset + k / rate, k < n, in float64."""
    t = offset + np.arange(n, dtype=np.float64) / rate
    return sum(a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps))


def interior(x, rate):
    k = int(EDGE_S * rate)
    return x[..., k:-k]


RATE_PAIRS = [(44100, 16000), (48000, 16000), (32000, 16000), (22050, 16000), (8000, 16000),
              (11025, 16000)]


# -----------------------------------------------------------------------------------------------------
# resample


@pytest.mark.parametrize("orig,new", RATE_PAIRS)
def test_resample_matches_analytic_signal(orig, new):
    n = int(0.5 * orig) + 7  # odd-ish length, so the last block is partial
    x = torch.from_numpy(sines(orig, n))
    y = resample(x, orig, new)
    assert y.shape == (math.ceil(n * new / orig),)
    assert y.dtype == x.dtype  # float64 in, float64 out
    expected = sines(new, y.shape[0])  # output sample k sits at time k / new
    error = np.abs(interior(y.numpy(), new) - interior(expected, new)).max()
    # 1e-3: the pass band is flat to ~0.9 Nyquist and aliases are ~80 dB down, so only float32
    # arithmetic and ripple remain (measured ~1e-5); a wrong phase or gain would give ~1e-1.
    assert error < 1e-3, f"{orig}->{new}: max abs error {error:.2e}"


@pytest.mark.parametrize("n", [1, 2, 3, 100, 441, 442, 16001])
def test_resample_output_length(n):
    for orig, new in RATE_PAIRS:
        y = resample(torch.zeros(n), orig, new)
        assert y.shape == (math.ceil(n * new / orig),), (orig, new, n)


@pytest.mark.parametrize("orig,new", [(8001, 16000), (22254, 16000)])
def test_resample_of_rates_with_a_small_gcd_is_exact_and_small(orig, new):
    """8,001 -> 16,000 Hz has 16,000 phases: it goes tap by tap instead of building gigabytes of filters."""
    n = int(0.5 * orig) + 7
    y = resample(torch.from_numpy(sines(orig, n)), orig, new)
    assert y.shape == (math.ceil(n * new / orig),)
    error = np.abs(interior(y.numpy(), new) - interior(sines(new, y.shape[0]), new)).max()
    assert error < 1e-3, f"{orig}->{new}: max abs error {error:.2e}"


def test_tap_by_tap_resampling_equals_the_strided_conv(monkeypatch):
    x = torch.randn(2, 4411)
    expected = resample(x, 44100, 16000)  # 441 -> 160 phases: the strided conv
    monkeypatch.setattr(audio, "MAX_PHASES", 100)
    torch.testing.assert_close(resample(x, 44100, 16000), expected, atol=1e-5, rtol=0)


def test_resample_identity_when_rates_equal():
    x = torch.randn(2, 1000)
    y = resample(x, 16000, 16000)
    assert torch.equal(y, x)


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError):
        resample(torch.zeros(100), 16000.5, 8000)
    with pytest.raises(ValueError):
        resample(torch.zeros(100), 0, 8000)


@pytest.mark.parametrize("orig,new", RATE_PAIRS)
def test_resample_agrees_with_scipy_resample_poly(orig, new):
    n = int(0.5 * orig)
    x = sines(orig, n)
    ours = resample(torch.from_numpy(x), orig, new).numpy()
    g = math.gcd(orig, new)
    ref = pytest.importorskip("scipy.signal").resample_poly(x, new // g, orig // g)
    assert ours.shape == ref.shape
    diff = np.abs(interior(ours, new) - interior(ref, new)).max()
    # 5e-3: two different filter designs (ours: Kaiser beta 8.555, scipy: Kaiser beta 5, shorter)
    # only agree in the pass band, to scipy's pass-band ripple; a phase shift of one output sample
    # would give ~0.3.
    assert diff < 5e-3, f"{orig}->{new}: max abs difference {diff:.2e}"


def _amplitude(y, freq, rate):
    """Least-squares amplitude of a sine of `freq` in y (interior samples only)."""
    t = np.arange(y.shape[0], dtype=np.float64) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    basis, y = interior(basis.T, rate).T, interior(y, rate)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(*coef))


def test_resample_attenuates_aliases():
    orig, new, n = 48000, 16000, 48000
    # 12 kHz is above the new Nyquist (8 kHz) and would fold to 16 - 12 = 4 kHz.
    x = torch.from_numpy(sines(orig, n, freqs=(12000.0,), amps=(1.0,)))
    y = resample(x, orig, new).numpy()
    rms_db = 20 * np.log10(np.sqrt(np.mean(interior(y, new) ** 2)) * np.sqrt(2) + 1e-300)
    alias_db = 20 * np.log10(_amplitude(y, 4000.0, new) + 1e-300)
    # > 60 dB down: the docstring promises ~80 dB (measured ~ -100 dB); no filter gives ~0 dB.
    assert rms_db < -60, f"alias energy at {rms_db:.1f} dB"
    assert alias_db < -60, f"alias at 4 kHz at {alias_db:.1f} dB"


def test_resample_passes_band():
    orig, new, n = 48000, 16000, 48000
    x = torch.from_numpy(sines(orig, n, freqs=(5000.0,), amps=(1.0,)))
    y = resample(x, orig, new).numpy()
    gain_db = 20 * np.log10(_amplitude(y, 5000.0, new))
    # 0.5 dB: 5 kHz is 0.625 of the new Nyquist, inside the flat pass band (measured ~0.00 dB).
    assert abs(gain_db) < 0.5, f"5 kHz gain {gain_db:.3f} dB"


@pytest.mark.parametrize("orig,new", [(48000, 16000), (8000, 16000), (22050, 16000)])
def test_resample_batch_rows_match_single(orig, new):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2001, generator=gen)
    y = resample(x, orig, new)
    n_out = math.ceil(2001 * new / orig)
    assert y.shape == (3, n_out)
    for b in range(3):
        # 1e-6: the same float32 convolution per row; only summation order may differ.
        torch.testing.assert_close(y[b], resample(x[b], orig, new), atol=1e-6, rtol=0)
    # any leading shape is kept
    assert resample(x.reshape(3, 1, 2001), orig, new).shape == (3, 1, n_out)


def test_resample_does_not_mix_rows():
    # one silent row beside a loud one must stay silent (exact zeros: no cross-row leakage)
    x = torch.zeros(2, 4800)
    x[1] = torch.from_numpy(sines(48000, 4800)).float()
    y = resample(x, 48000, 16000)
    assert torch.count_nonzero(y[0]) == 0
    assert y[1].abs().max() > 0.3


# -----------------------------------------------------------------------------------------------------
# Mel features (librosa is an optional extra)


@pytest.mark.parametrize("sr,n_fft,n_mels,f_min,f_max", [
    (16000, 1024, 80, 0.0, None),
    (24000, 2048, 100, 0.0, 8000.0),
    (22050, 512, 40, 50.0, 10000.0),
])
def test_mel_filterbank_matches_librosa(sr, n_fft, n_mels, f_min, f_max):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(n_fft, n_mels, sr, f_min, f_max)
    assert ours.shape == (n_mels, n_fft // 2 + 1)
    assert ours.dtype == torch.float32
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=True,
                              norm="slaney")
    # 1e-6 absolute (filter values are ~1e-3..1e-2, so ~1e-4 relative at worst): both compute in
    # float64 and round to float32; a different scale or edge would be off by >1e-4.
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-6, rtol=0)
    # and every band is a real triangle (non-empty), so the comparison is not vacuous
    assert (ours.sum(dim=1) > 0).all()


@pytest.mark.parametrize("sr,n_fft,hop,n_mels,n", [
    (16000, 1024, 256, 80, 8000),
    (16000, 512, 128, 64, 4321),  # length not a multiple of the hop
    (24000, 2048, 300, 100, 12000),
])
def test_log_mel_matches_librosa(sr, n_fft, hop, n_mels, n):
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(n) + sines(sr, n)).astype(np.float32)
    ours = LogMelSpectrogram(sr, n_fft, hop, n_mels)(torch.from_numpy(y))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                         htk=True, norm="slaney", power=1.0, center=True,
                                         pad_mode="reflect")
    ref = np.log(np.maximum(mel, 1e-5))
    assert ours.shape == (n_mels, n // hop + 1) == ref.shape
    # 1e-4 in log units (= 1e-4 relative in magnitude): float32 FFTs differ by ~1e-6 relative.
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-4, rtol=0)


def test_log_mel_batch_and_silence():
    mel = LogMelSpectrogram()  # project defaults: 16 kHz, n_fft 1024, hop 256, 80 mels
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5000, generator=gen) * 0.1
    x[2] = 0  # silence
    out = mel(x)
    assert out.shape == (3, 80, 5000 // 256 + 1)
    for b in range(3):
        # 1e-5 log units: same float32 STFT per row
        torch.testing.assert_close(out[b], mel(x[b]), atol=1e-5, rtol=0)
    # silence is clamped at log(1e-5), not -inf
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[2], torch.full_like(out[2], math.log(1e-5)))


def test_log_mel_of_a_sine_peaks_in_the_right_band():
    # independent of librosa: a 1 kHz sine must light up the band whose centre is nearest 1 kHz
    sr, n_fft = 16000, 1024
    x = torch.from_numpy(sines(sr, sr, freqs=(1000.0,), amps=(0.5,))).float()
    out = LogMelSpectrogram(sr, n_fft, 256, 80)(x)
    fb = mel_filterbank(n_fft, 80, sr)
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    band_of_1k = int(fb[:, np.argmin(np.abs(freqs - 1000.0))].argmax())
    peak_bands = out[:, 5:-5].argmax(dim=0)  # interior frames
    assert (peak_bands == band_of_1k).all()


# -----------------------------------------------------------------------------------------------------
# Loading and saving


def _tone(rate, seconds, freq=440.0, amp=0.5):
    return sines(rate, int(round(rate * seconds)), freqs=(freq,), amps=(amp,))


def _check_tone(wav, amp, tol, freq=440.0):
    """wav (16 kHz) against amp * sin(2 pi freq t) on interior samples."""
    expected = sines(SAMPLE_RATE, wav.shape[0], freqs=(freq,), amps=(amp,))
    err = np.abs(interior(wav.numpy().astype(np.float64), SAMPLE_RATE)
                 - interior(expected, SAMPLE_RATE)).max()
    assert err < tol, f"max abs error {err:.2e}"


def test_load_stereo_48k_pcm16_is_channel_average(tmp_path):
    rate, n = 48000, 14400  # 0.3 s
    left = _tone(rate, n / rate, amp=0.8)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, np.zeros(n)], axis=1), rate, subtype="PCM_16")
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.ndim == 1
    assert wav.shape == (math.ceil(n * SAMPLE_RATE / rate),)
    # left = sine, right = silence -> the average is the sine at half amplitude (0.4, not 0.8).
    # 1e-3: PCM_16 quantisation (3e-5) plus resampling error (~1e-5).
    _check_tone(wav, 0.4, 1e-3)
    assert 0.39 < interior(wav, SAMPLE_RATE).abs().max() < 0.41


def test_load_unsigned_8bit_8k(tmp_path):
    rate, n = 8000, 2400
    path = tmp_path / "u8.wav"
    sf.write(path, _tone(rate, n / rate, amp=0.9), rate, subtype="PCM_U8")
    assert sf.info(path).subtype == "PCM_U8"
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (math.ceil(n * SAMPLE_RATE / rate),)
    assert wav.abs().max() <= 1.0
    # 8-bit: centred on 0 (unsigned offset removed), not on +1 or 128
    assert abs(float(wav.mean())) < 0.02
    # 0.03: 8-bit quantisation step 2/256 = 0.008, its error can be amplified a little when upsampled
    _check_tone(wav, 0.9, 0.03)


def test_load_24bit_flac_22050(tmp_path):
    rate, n = 22050, 6615  # 0.3 s
    path = tmp_path / "x.flac"
    sf.write(path, _tone(rate, n / rate, freq=1000.0), rate, subtype="PCM_24")
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (math.ceil(n * SAMPLE_RATE / rate),)
    _check_tone(wav, 0.5, 1e-3, freq=1000.0)  # 1e-3: 24-bit is exact here, resampling ~1e-5


def test_load_ogg_vorbis_16k(tmp_path):
    rate, n = 16000, 8000
    path = tmp_path / "x.ogg"
    sf.write(path, _tone(rate, n / rate), rate, format="OGG", subtype="VORBIS")
    frames = sf.info(path).frames
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (frames,)
    assert abs(frames - n) < 100  # the codec may pad a little, but keeps the length
    # 0.05: Vorbis is lossy; a pure tone survives with a small error
    _check_tone(wav, 0.5, 0.05)


def test_load_resamples_to_requested_rate(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, _tone(16000, 0.25), 16000, subtype="FLOAT")
    wav = load_audio(path, sample_rate=24000)
    assert wav.shape == (6000,)
    # 1e-3: resampling error ~1e-5
    expected = sines(24000, 6000, freqs=(440.0,), amps=(0.5,))
    assert np.abs(interior(wav.numpy() - expected, 24000)).max() < 1e-3


def _assert_audio_error(path, *words):
    with pytest.raises(AudioError) as info:
        load_audio(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def test_load_zero_byte_wav(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _assert_audio_error(path)


def test_load_wav_with_no_frames(tmp_path):
    path = tmp_path / "noframes.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    assert path.stat().st_size > 0  # a valid header, no samples
    _assert_audio_error(path, "no samples")


def test_load_random_bytes(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    _assert_audio_error(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_load_non_finite_samples(tmp_path, bad):
    path = tmp_path / "nan.wav"
    x = _tone(16000, 0.1).astype(np.float32)
    x[100] = bad
    sf.write(path, x, 16000, subtype="FLOAT")
    _assert_audio_error(path, "nan")


def test_load_unsupported_extension(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3 junk junk junk")
    _assert_audio_error(path, "unsupported", ".mp3")


def test_load_missing_file(tmp_path):
    _assert_audio_error(tmp_path / "nowhere.wav")


def test_audio_info(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, np.zeros((1234, 2)), 44100, subtype="PCM_16")
    assert audio_info(path) == (44100, 1234)
    with pytest.raises(AudioError):
        audio_info(tmp_path / "x.txt")


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg"])
def test_save_audio_roundtrip_leaves_no_temp_file(tmp_path, ext):
    x = torch.from_numpy(_tone(16000, 0.3)).float()
    path = tmp_path / f"out{ext}"
    save_audio(path, x)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no .out.tmp* left behind
    data, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    if ext == ".ogg":
        assert abs(len(data) - 4800) < 100
    else:
        assert len(data) == 4800
        # 1e-4: PCM_16 quantisation is 3e-5
        assert np.abs(data - x.numpy()).max() < 1e-4


def test_save_audio_overwrites_clamps_and_takes_rate(tmp_path):
    path = tmp_path / "x.wav"
    save_audio(path, torch.zeros(100))
    save_audio(path, torch.full((50,), 2.0), sample_rate=24000)  # out of range, other rate
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]
    data, rate = sf.read(path, dtype="float32")
    assert rate == 24000 and len(data) == 50
    assert np.all(data > 0.99) and np.all(data <= 1.0)  # full scale, not wrapped
    # libsndfile clips PCM by itself; Vorbis it does not: only the clamp keeps a too-loud .ogg in range
    # (an unclamped sine of amplitude 2 decodes at 2.03, a clamped one at 1.02)
    loud = 2.0 * torch.sin(2 * math.pi * 440 * torch.arange(16000) / 16000)
    save_audio(tmp_path / "x.ogg", loud)
    assert np.abs(sf.read(tmp_path / "x.ogg", dtype="float32")[0]).max() < 1.1


def test_save_audio_that_fails_leaves_nothing_and_says_so(tmp_path, monkeypatch):
    path = tmp_path / "x.wav"
    save_audio(path, torch.zeros(100))

    def full_disk(file, *args, **kwargs):  # libsndfile fails halfway through a write
        Path(file).write_bytes(b"RIFF half a header")
        raise sf.SoundFileError("Error : no space left on device")

    monkeypatch.setattr(sf, "write", full_disk)
    with pytest.raises(OSError, match="cannot write .*x.wav: Error : no space left"):
        save_audio(path, torch.ones(100))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]  # no temp file left behind
    assert len(sf.read(path)[0]) == 100 and not sf.read(path)[0].any()  # the earlier file, unharmed


def test_resample_empty_input_gives_empty_output():
    assert resample(torch.zeros(0), 48000, 16000).shape == (0,)
    assert resample(torch.zeros(3, 0), 22050, 16000).shape == (3, 0)
