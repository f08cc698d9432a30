"""
Audio plumbing for the whole project, in one place: read a file, make it mono, resample it to the
project's rate, and turn it into a log-mel spectrogram.

Everything here is written out by hand on top of numpy/torch (no torchaudio, no librosa) because each
step is a small lesson in digital signal processing:

- `load_audio`     reads wav/flac/ogg with soundfile, mixes to mono, checks the samples, resamples.
- `resample`       a band-limited windowed-sinc resampler for any pair of integer rates.
- `mel_filterbank` triangular filters that pool STFT bins into perceptual (mel) bands.
- `LogMelSpectrogram` STFT -> magnitude -> mel filterbank -> log, the features the codec's loss uses.

The tests compare these against independent implementations (scipy and librosa).

Shapes: T is a number of samples, F a number of STFT frames, n_mels the number of mel bands.
"""
import ctypes
import math
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dataset.files import write_atomic

SAMPLE_RATE = 16_000  # the project's rate: every waveform inside the project is 16 kHz mono float32
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


class AudioError(ValueError):
    """A file that cannot be used as audio. The message is one line, naming the file and the reason."""


# -----------------------------------------------------------------------------------------------------
# Reading files


def _source(path):
    """A path as a Path, or an open binary file (io.BytesIO: audio received in memory) as it is, rewound."""
    if hasattr(path, "read"):
        path.seek(0)
        return path
    return Path(path)


def audio_info(path):
    """(sample_rate, n_samples) of a file without decoding it; raises AudioError if it is unreadable.
    path: a file name, or an open binary file (its format read from its header, not from a name)."""
    path = _source(path)
    if isinstance(path, Path) and path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(f"{path}: unsupported audio extension {path.suffix!r} (use wav, flac or ogg)")
    try:
        info = sf.info(path if not isinstance(path, Path) else str(path))
    except Exception as e:  # soundfile raises several types; all mean "not audio we can read"
        raise AudioError(f"{_name(path)}: cannot read audio ({str(e).splitlines()[0]})") from None
    return info.samplerate, info.frames


def _name(path):
    return str(path) if isinstance(path, Path) else "the audio received"


def load_audio(path, sample_rate=SAMPLE_RATE, max_seconds=None):
    """
    Read an audio file (a name, or an open binary file) as a mono float32 tensor (T,) at `sample_rate`.

    Stereo (or more channels) is averaged to mono, integer formats (8-, 16-, 24-, 32-bit) become floats
    in [-1, 1], and any rate is resampled. Zero-length, corrupt, NaN/inf-containing files, unknown
    extensions and files longer than max_seconds (checked before anything is decoded) raise AudioError
    with a one-line message.
    """
    file_rate, n_samples = audio_info(path)
    path = _source(path)
    if max_seconds is not None and n_samples > max_seconds * file_rate:
        raise AudioError(f"{_name(path)} is {n_samples / file_rate:.1f} s long, more than {max_seconds:g} s")
    try:
        samples, file_rate = sf.read(path if not isinstance(path, Path) else str(path), dtype="float32",
                                     always_2d=True)  # (T, channels)
    except Exception as e:
        raise AudioError(f"{_name(path)}: cannot decode audio ({str(e).splitlines()[0]})") from None
    if samples.shape[0] == 0:
        raise AudioError(f"{_name(path)}: the file holds no samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{_name(path)}: the file holds NaN or infinite samples")
    wav = torch.from_numpy(samples.mean(axis=1))  # (T,) mixing channels by averaging keeps the scale
    return resample(wav, file_rate, sample_rate)


# Ogg Vorbis setting for audio kept in git: about half FLAC's size, and on demo speech its distortion is a
# small fraction of a trained codec's (lab/README.md, "Figures behind the code").
OGG_COMPRESSION_LEVEL = 0.2


def save_audio(path, wav, sample_rate=SAMPLE_RATE):
    """Write a float waveform (T,) atomically: a temp file in the same folder, then a rename, so a
    crash never leaves a half-written file that looks complete. Format from the extension: wav and flac
    as 16-bit PCM, ogg as Vorbis (lossy, for audio that is committed)."""
    path = Path(path)
    wav = torch.as_tensor(wav).detach().float().cpu().clamp(-1, 1).numpy()

    def write(tmp):  # tmp keeps the extension: soundfile infers the format from it
        try:
            if path.suffix.lower() == ".ogg":
                sf.write(str(tmp), wav, sample_rate, subtype="VORBIS", compression_level=OGG_COMPRESSION_LEVEL)
            else:
                sf.write(str(tmp), wav, sample_rate, subtype="PCM_16")
        except (sf.SoundFileError, RuntimeError) as e:  # libsndfile's: no such folder, disk full, ...
            raise OSError(f"cannot write {path}: {e}") from None  # what callers catch for file trouble
    write_atomic(path, write)


def save_audio_stream(path, chunks, sample_rate=SAMPLE_RATE):
    """Write float waveform chunks (T_i,) to a wav or flac file as they come, atomically as save_audio
    does, so an interrupted stream never leaves a partial file that looks complete. Returns (seconds to
    the first samples written, samples written)."""
    path, start, first, total = Path(path), time.perf_counter(), None, 0

    def write(tmp):
        nonlocal first, total
        with sf.SoundFile(str(tmp), "w", sample_rate, 1, subtype="PCM_16") as f:
            for chunk in chunks:
                if len(chunk):
                    f.write(chunk.clamp(-1, 1).numpy())
                    total += len(chunk)
                    first = first if first is not None else time.perf_counter() - start

    try:
        write_atomic(path, write)
    except sf.SoundFileError as e:  # libsndfile's errors (cannot open, disk full) are no OSError
        raise OSError(f"cannot write {path}: {e}") from None
    return first, total


def keep_freed_memory():
    """On Linux, ask glibc's malloc to keep freed memory for reuse instead of handing it back to the
    operating system. By default a block over 128 kB is returned when freed (the threshold adapts upward,
    but not far enough here), and so is free space at the top of the heap, so every encode call
    page-faults its megabytes of activations in afresh; each setting below takes a share of that time
    away (lab/README.md, "Figures behind the code"). PyTorch's CPU tuning guide
    suggests jemalloc or tcmalloc for the same reason; this is the same effect without a library to
    install. Elsewhere (macOS, Windows, musl) it does nothing. It changes the whole process, so loading
    a codec never calls it: a script that encodes or decodes a lot (tokenizer/codec.py) does, once, at its
    start (infer.py, dataset/encode_corpus.py, lab/eval.py, lab/bench.py)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks up to 32 MB come from the heap, not mmap
    libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD: keep up to 256 MB free at the heap's top


# -----------------------------------------------------------------------------------------------------
# Resampling


MAX_PHASES = 1000  # beyond this many phases (or input samples per block) resample() goes tap by tap


def _sinc_kernels(orig, new, zero_crossings, rolloff, beta):
    """
    The `new` polyphase filters of a windowed-sinc resampler from `orig` to `new` samples per unit time.

    Output sample n sits at time n * orig / new in input samples. That position repeats its fractional
    part every `new` outputs (while the input advances by `orig`), so `new` distinct filters ("phases")
    are enough. Filter j is an ideal low-pass (a sinc) evaluated at the distances between output phase
    j and the input samples around it, tapered by a Kaiser window so it can be truncated.
    Returns (kernels (new, 1, K), width) with `width` the one-sided filter length in input samples.
    """
    # Cut off just below the lower of the two Nyquist frequencies: below the new one so nothing aliases
    # when downsampling, below the old one so no images appear when upsampling.
    cutoff = min(1.0, new / orig) * rolloff  # in cycles per input sample, relative to the input Nyquist
    width = math.ceil(zero_crossings / cutoff)  # filter half-length in input samples
    taps = torch.arange(-width, width + orig, dtype=torch.float64)  # (K,) input offsets, K = 2w + orig
    phase = torch.arange(new, dtype=torch.float64)[:, None] * orig / new  # (new, 1) output positions
    t = phase - taps[None, :]  # (new, K) distance from each output phase to each input tap
    window_arg = (1 - (t / width) ** 2).clamp(min=0)
    window = torch.special.i0(beta * window_arg.sqrt()) / torch.special.i0(torch.tensor(beta))
    window = window * (t.abs() <= width)
    kernels = cutoff * torch.sinc(cutoff * t) * window  # sinc(x) = sin(pi x) / (pi x); DC gain ~ 1
    return kernels[:, None, :].float(), width


def _resample_by_taps(x, orig, new, n_out, zero_crossings, rolloff, beta, chunk=8192):
    """resample() for rates whose reduced ratio has thousands of phases, where the strided conv's filters
    ((new, 2 * width + orig) taps) would take gigabytes. Each output sample instead gathers only its own
    2 * width + 1 inputs and weighs them by its phase's filter: the same windowed sinc, built only where it
    is not zero. x: (N, T) -> (N, n_out)."""
    cutoff = min(1.0, new / orig) * rolloff
    width = math.ceil(zero_crossings / cutoff)
    offsets = torch.arange(-width, width + 1, device=x.device)  # (K,) taps around the output's position
    x = torch.nn.functional.pad(x, (width, width + orig + 1))  # zeros before and after, as the conv path
    out = []
    for start in range(0, n_out, chunk):
        n = torch.arange(start, min(start + chunk, n_out), device=x.device)  # (C,) output samples
        base = n * orig // new  # the input sample at or before output n's position n * orig / new
        frac = (n * orig % new).double() / new  # (C,) how far past it, in input samples
        t = frac[:, None] - offsets[None, :].double()  # (C, K) distance from the output to each tap
        window = (torch.special.i0(beta * (1 - (t / width) ** 2).clamp(min=0).sqrt())
                  / torch.special.i0(torch.tensor(beta, dtype=torch.float64)))  # Kaiser, as _sinc_kernels
        kernel = (cutoff * torch.sinc(cutoff * t) * window * (t.abs() <= width)).float()  # (C, K)
        taps = x[:, base[:, None] + offsets[None, :] + width]  # (N, C, K)
        out.append((taps * kernel).sum(-1))  # (N, C)
    return torch.cat(out, dim=1)


def resample(wav, orig_rate, new_rate, zero_crossings=24, rolloff=0.945, beta=8.555):
    """
    Band-limited resampling of wav (..., T) from `orig_rate` to `new_rate` Hz (integers).

    The ideal resampler reconstructs the continuous signal from its samples with sinc functions
    (Shannon), low-passes it below the smaller Nyquist frequency, and samples it again at the new rate.
    A truncated, windowed sinc does both in one filter; `zero_crossings` sets its length (quality versus
    speed), `rolloff` how close to Nyquist the pass band reaches, `beta` the Kaiser window's trade-off
    between stop-band attenuation and transition width. The defaults keep the pass band flat to about
    0.9 x Nyquist and attenuate aliases by about 80 dB.

    Implementation: reduce the ratio by the gcd (48 kHz -> 16 kHz becomes 3 -> 1), then one strided
    conv1d computes every output phase for each block of `orig` input samples; past MAX_PHASES phases
    (rates with a small gcd) _resample_by_taps gathers each output's own inputs instead.
    Returns (..., ceil(T * new / orig)).
    """
    if orig_rate == new_rate or wav.shape[-1] == 0:
        return wav if orig_rate == new_rate else wav.new_zeros(*wav.shape[:-1], 0)
    if int(orig_rate) != orig_rate or int(new_rate) != new_rate or orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"resample needs positive integer rates, got {orig_rate} -> {new_rate}")
    gcd = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // gcd, int(new_rate) // gcd
    shape = wav.shape
    x = wav.reshape(-1, 1, shape[-1]).float()  # (N, 1, T)
    n_out = math.ceil(shape[-1] * new / orig)
    if max(orig, new) > MAX_PHASES:  # rates with a small gcd (8,001 -> 16,000 Hz): see _resample_by_taps
        y = _resample_by_taps(x[:, 0], orig, new, n_out, zero_crossings, rolloff, beta)
        return y.reshape(*shape[:-1], n_out).to(wav.dtype)
    kernels, width = _sinc_kernels(orig, new, zero_crossings, rolloff, beta)
    kernels = kernels.to(wav.device)
    n_blocks = math.ceil(n_out / new)
    # Zero-pad: `width` samples of history before the first sample, and enough after the last so every
    # block of `orig` inputs has its full filter support.
    right = n_blocks * orig + width + orig - shape[-1] - 1
    x = torch.nn.functional.pad(x, (width, max(right, 0)))
    y = torch.nn.functional.conv1d(x, kernels, stride=orig)  # (N, new, n_blocks): phase j of block b
    y = y[..., :n_blocks].transpose(1, 2).reshape(x.shape[0], -1)  # (N, n_blocks * new), interleaved
    return y[:, :n_out].reshape(*shape[:-1], n_out).to(wav.dtype)


class StreamResampler:
    """resample() for audio that arrives in pieces: push(piece) returns the output samples that are final
    (their filter's support has arrived), flush() the rest at the end. Joined, they equal resample() of
    the whole signal, to float rounding: each call resamples the samples still needed, starting `margin`
    samples before the first output it keeps and on a block boundary, and keeps only outputs whose inputs
    all lie inside (or outside the signal, where resample() pads with zeros too)."""

    def __init__(self, orig_rate, new_rate):
        gcd = math.gcd(int(orig_rate), int(new_rate))
        self.rates, self.orig, self.new = (orig_rate, new_rate), int(orig_rate) // gcd, int(new_rate) // gcd
        self.margin = _sinc_kernels(self.orig, self.new, 24, 0.945, 8.555)[1] + 2 * self.orig  # resample()'s
        self.samples, self.start, self.emitted = torch.zeros(0), 0, 0  # start: input index of samples[0]

    def push(self, piece, final=False):
        self.samples = torch.cat([self.samples, piece.float().cpu()])
        n_in = self.start + len(self.samples)
        n_out = math.ceil(n_in * self.new / self.orig) if final else max(
            self.emitted, (n_in - self.margin) * self.new // self.orig)
        if n_out == self.emitted:
            return torch.zeros(0)
        # From a block boundary at least `margin` inputs before the first new output, or from the start.
        first = max(0, (self.emitted * self.orig // self.new - self.margin) // self.orig * self.orig)
        first = max(first, self.start)  # (never before what is kept; first is a multiple of orig anyway)
        out = resample(self.samples[first - self.start:], *self.rates)  # output 0 is output first*new/orig
        offset = first * self.new // self.orig
        piece = out[self.emitted - offset: n_out - offset]
        self.samples, self.start, self.emitted = self.samples[first - self.start:], first, n_out
        return piece

    def flush(self):
        return self.push(torch.zeros(0), final=True)


# -----------------------------------------------------------------------------------------------------
# Mel spectrogram


def hz_to_mel(f):
    """The HTK mel scale: roughly linear below 700 Hz and logarithmic above, like pitch perception."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_fft, n_mels, sample_rate, f_min=0.0, f_max=None):
    """
    (n_mels, n_fft // 2 + 1) matrix that pools the bins of a one-sided STFT into mel bands.

    Band m is a triangle rising from centre m-1 to centre m and falling to centre m+1, the centres
    equally spaced on the mel scale between f_min and f_max. Each triangle is scaled to unit area
    (2 / its width in Hz, "Slaney" normalisation) so wide high bands do not dominate by collecting
    more bins. Equals librosa.filters.mel(..., htk=True, norm="slaney").
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)  # (n_bins,) Hz of each STFT bin
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))  # (n_mels + 2,)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # each (n_mels, 1)
    rising = (fft_freqs - lower) / (centre - lower)  # (n_mels, n_bins)
    falling = (upper - fft_freqs) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    triangles *= 2.0 / (upper - lower)  # unit area
    return torch.from_numpy(triangles).float()


class LogMelSpectrogram(torch.nn.Module):
    """
    wav (B, T) or (T,) -> log-magnitude mel spectrogram (B, n_mels, F) or (n_mels, F).

    STFT with a periodic Hann window, hop `hop_length`, centred frames (the signal is reflect-padded
    by n_fft // 2 on both sides, so frame f is centred on sample f * hop_length and F = T // hop + 1);
    magnitude |X| (not power: its log is better behaved for an L1 loss); mel pooling; natural log
    clamped at 1e-5 (-11.5) so silence does not produce -inf. The STFT runs in float32 even under
    autocast, since half-precision FFTs lose too much. Reflect padding needs T > n_fft // 2.
    """

    def __init__(self, sample_rate=SAMPLE_RATE, n_fft=1024, hop_length=256, n_mels=80,
                 f_min=0.0, f_max=None):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(n_fft, n_mels, sample_rate, f_min, f_max),
                             persistent=False)

    def forward(self, wav):
        with torch.autocast(device_type=wav.device.type, enabled=False):
            spec = torch.stft(wav.float(), self.n_fft, self.hop_length, window=self.window,
                              center=True, pad_mode="reflect", return_complex=True)  # (B, bins, F)
            mel = torch.matmul(self.filters, spec.abs())  # (n_mels, bins) @ (B, bins, F) -> (B, n_mels, F)
            return torch.log(mel.clamp(min=1e-5))
