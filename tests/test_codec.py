"""The speech codec: frame alignment, the inverse STFT, the quantizer, the public API, and its training script."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

from dataset.audio import keep_freed_memory
from tokenizer.codec import Codec, CodecConfig, VectorQuantizer, istft_same

ROOT = Path(__file__).resolve().parents[1]
TINY = CodecConfig(encoder_channels=8, encoder_max_channels=16, codebook_size=32, codebook_dim=8,
                   decoder_dim=32, decoder_intermediate=64, decoder_layers=2)


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return Codec(TINY).eval()


def test_istft_same_inverts_torch_stft_frames():
    # Frames cut by torch.stft (no centring) from a signal padded by (n_fft - hop) / 2 on each side
    # are exactly the frames istft_same expects: it must give the signal back, sample for sample.
    n_fft, hop, n_frames = 64, 16, 40
    window = torch.hann_window(n_fft, dtype=torch.float64)
    x = torch.randn(2, n_frames * hop, dtype=torch.float64)
    pad = (n_fft - hop) // 2
    spec = torch.stft(torch.nn.functional.pad(x, (pad, pad)), n_fft, hop, window=window, center=False,
                      return_complex=True)  # (B, bins, N)
    assert spec.shape[-1] == n_frames
    y = istft_same(spec, n_fft, hop, window)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, atol=1e-9, rtol=0)


def test_encoder_makes_one_token_per_hop_and_decoder_one_hop_per_token(codec):
    hop = codec.hop_length
    assert hop == 320 and codec.tokens_per_second == 50
    wav = 0.1 * torch.randn(2, 7 * hop + 5)
    codes = codec.encode(wav)
    assert codes.shape == (2, 8) and codes.dtype == torch.long  # ceil(T / hop)
    assert 0 <= codes.min() and codes.max() < codec.codebook_size
    assert codec.encode(wav[0]).shape == (8,)
    assert codec.decode(codes).shape == (2, 8 * hop)
    assert codec.decode(codes[0]).shape == (8 * hop,)
    torch.testing.assert_close(codec.encode(wav[1]), codes[1])  # batching changes nothing
    empty = codec.encode(torch.zeros(2, 0))  # no samples: no codes, and back to no samples
    assert empty.shape == (2, 0) and codec.encode(torch.zeros(0)).shape == (0,)
    assert codec.decode(empty).shape == (2, 0) and codec.decode(empty[0]).shape == (0,)
    # no clips at all: a batch of none, of the length the samples or codes would have had
    assert codec.encode(torch.zeros(0, 700)).shape == (0, 3) and codec.decode(torch.zeros(0, 3)).shape == (0, 960)


def test_encoder_reach_bounds_its_receptive_field(codec):
    # Which input samples one latent frame depends on, read off the gradient: none may lie further than
    # reach() beyond the frame's own hop, or chunked encoding (context derived from reach) would differ.
    hop, j = codec.hop_length, 20
    wav = torch.randn(1, 40 * hop, requires_grad=True)
    codec.encoder(wav)[0, :, j].sum().backward()
    seen = wav.grad[0].nonzero()
    left, right = j * hop - seen.min().item(), seen.max().item() - ((j + 1) * hop - 1)
    assert 0 < left <= codec.encoder.reach() and 0 < right <= codec.encoder.reach()
    assert max(left, right) > codec.encoder.reach() / 2  # a bound, but not a loose one


def test_decoder_reach_bounds_its_receptive_field(codec):
    # The same for the decoder, in tokens: the samples of token j's hop depend on tokens j - reach() to
    # j + reach() only, or chunked decoding (context derived from reach) would differ from one pass.
    j = 20
    x = torch.randn(1, codec.config.codebook_dim, 40, requires_grad=True)  # (B, D, N)
    hop = codec.hop_length
    codec.decoder(x)[0, j * hop: (j + 1) * hop].sum().backward()
    seen = x.grad[0].abs().sum(0).nonzero()
    left, right = j - seen.min().item(), seen.max().item() - j
    assert 0 < left <= codec.decoder.reach() and 0 < right <= codec.decoder.reach()
    assert max(left, right) > codec.decoder.reach() / 2


def test_long_audio_in_chunks_equals_one_pass(codec):
    wav = 0.3 * torch.randn(2, 200 * codec.hop_length)
    whole = codec.encode(wav, chunk_seconds=1000)
    chunked = codec.encode(wav, chunk_seconds=0.4)  # 20-token chunks, context larger than the receptive field
    assert torch.equal(whole, chunked)
    assert torch.equal(codec.encode(wav, chunk_seconds=0.001), whole)  # chunks of at least one token
    for chunk_seconds in (0, -1):
        with pytest.raises(ValueError, match="chunk_seconds must be positive"):
            codec.encode(wav, chunk_seconds=chunk_seconds)
        with pytest.raises(ValueError, match="chunk_seconds must be positive"):
            codec.decode(whole, chunk_seconds=chunk_seconds)
    torch.testing.assert_close(codec.decode(whole, chunk_seconds=0.4), codec.decode(whole, chunk_seconds=1000),
                               atol=1e-5, rtol=1e-4)


def test_bad_audio_is_refused_in_one_line_or_encoded_as_is(codec):
    wav = torch.randn(3200) * 0.1
    for bad, message in ((torch.cat([wav[:100], torch.tensor([float("nan")]), wav[100:]]), "NaN or infinite"),
                         (torch.cat([wav, torch.tensor([float("inf")])]), "NaN or infinite"),
                         (torch.stack([wav, wav], dim=1), "mono samples"),  # (T, 2): stereo as a reader gives it
                         (wav.view(1, 2, 1600), "mono samples")):
        with pytest.raises(ValueError, match=message) as error:
            codec.encode(bad)
        assert "\n" not in str(error.value)
    silence = codec.encode(torch.zeros(16000))  # silence and a single sample are speech-less, not errors
    assert silence.shape == (50,) and silence.min() >= 0 and silence.max() < codec.codebook_size
    assert codec.encode(torch.full((1,), 0.5)).shape == (1,)
    assert torch.equal(codec.encode(wav.numpy()), codec.encode(wav))  # a numpy array is taken as it is
    assert torch.equal(codec.decode(codec.encode(wav).tolist()), codec.decode(codec.encode(wav)))
    with pytest.raises(ValueError, match="takes \\(N,\\) or \\(B, N\\)"):
        codec.decode(torch.zeros(1, 1, 5, dtype=torch.long))


def test_reconstruction_gradient_reaches_the_encoder_through_the_quantizer():
    """The straight-through estimator is what trains the encoder from the decoder's loss: with the
    commitment loss left out, the encoder's first layer still gets a gradient, the decoder's."""
    torch.manual_seed(0)
    codec = Codec(TINY).train()
    wav = torch.randn(2, 16000) * 0.3  # 100 latents for 32 codes
    with torch.no_grad():  # a codebook drawn from these very latents, as the k-means start would give
        latents = codec.encoder(wav).transpose(1, 2).reshape(-1, TINY.codebook_dim)  # (B * N, D)
        latents = latents - latents.mean(0)
        codec.quantizer.codebook.copy_(latents[torch.randperm(len(latents))[:TINY.codebook_size]])
    codec.quantizer.initialized.fill_(True)
    reconstruction, codes, _, _ = codec(wav)
    assert len(codes.unique()) > 1  # quantised for real, not passed through
    F.l1_loss(reconstruction, wav).backward()
    grads = [p.grad for p in codec.encoder.input.parameters()]  # the layer furthest from the loss
    assert grads and all(g is not None and torch.isfinite(g).all() and g.norm() > 0 for g in grads)


def test_decode_rejects_codes_outside_the_codebook(codec):
    with pytest.raises(ValueError, match="codes must lie"):
        codec.decode(torch.tensor([0, codec.codebook_size]))


def test_nearest_code_matches_brute_force():
    vq = VectorQuantizer(64, 8)
    z = torch.randn(300, 8)
    brute = torch.cdist(z, vq.codebook).argmin(1)
    assert torch.equal(vq.nearest(z), brute)


def test_code_choice_stays_in_fp32_under_bf16_autocast():
    """Training runs the codec under bf16 autocast on a GPU; the codes it learns from must be the ones
    Codec.encode (fp32) gives. A bf16 distance matmul picks other codes for close calls."""
    torch.manual_seed(0)
    vq = VectorQuantizer(256, 64).eval()
    vq.initialized.fill_(True)
    z = torch.randn(4, 64, 100)  # (B, D, N)
    _, plain, _, _ = vq(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, autocast, _, _ = vq(z)
        assert torch.equal(vq.nearest(z[0].T), plain[0])
    assert torch.equal(autocast, plain)


def test_straight_through_gradient_and_commitment():
    vq = VectorQuantizer(16, 4).eval()
    z = torch.randn(2, 4, 5, requires_grad=True)
    quantized, codes, commitment, _ = vq(z)
    expected = vq.codebook[codes].permute(0, 2, 1)  # (B, D, N)
    torch.testing.assert_close(quantized, expected)  # forward: the code vectors
    weights = torch.randn_like(quantized)
    (quantized * weights).sum().backward()
    torch.testing.assert_close(z.grad, weights)  # backward: identity onto the latents
    torch.testing.assert_close(commitment, ((z.detach() - expected) ** 2).mean())


def purity(vq, latents, labels):
    """Share of latents whose code is the most common code of their cluster."""
    codes = vq(latents)[1].flatten()
    return sum(torch.mode(codes[labels == k]).values.eq(codes[labels == k]).sum().item()
               for k in labels.unique()) / len(codes)


def clustered(n, centres, spread=0.01):
    labels = torch.randint(len(centres), (n,))
    latents = (centres[labels] + spread * torch.randn(n, centres.shape[1])).T[None]  # (1, D, n)
    return latents, labels


def test_kmeans_init_gives_each_cluster_its_code_and_ema_follows_the_data():
    torch.manual_seed(0)
    vq = VectorQuantizer(32, 4, buffer_size=512).train()
    centres = 5 * torch.randn(32, 4)
    for _ in range(2):  # 2 x 256 latents fill the buffer, then k-means runs
        _, _, _, stats = vq(clustered(256, centres)[0])
    assert bool(vq.initialized)
    latents, labels = clustered(256, centres)
    assert vq(latents)[3]["codes_used"] >= 28  # nearly every cluster has its own code ...
    assert purity(vq, latents, labels) > 0.95  # ... and each cluster sits on one code
    # EMA: when the data changes shape, the codes follow it and the quantization error falls.
    stretched = centres * torch.tensor([1.5, 0.5, 1.0, 2.0])
    error_before = vq(clustered(256, stretched)[0])[2]
    for _ in range(300):
        vq(clustered(256, stretched)[0])
    assert vq(clustered(256, stretched)[0])[2] < 0.2 * error_before


def test_quantization_ignores_a_shift_common_to_the_batch():
    # A young codebook's codes live relative to the batch mean in training, so a common drift of all
    # latents (what a freshly initialised encoder does at every step) changes no code.
    torch.manual_seed(0)
    vq = VectorQuantizer(32, 4, buffer_size=256).train()
    centres = torch.randn(32, 4)
    vq(clustered(256, centres)[0])
    latents, _ = clustered(256, centres)
    vq.dead_after = 10**9  # no restarts between the two calls
    assert torch.equal(vq(latents)[1], vq(latents + 7.0)[1])


def test_a_settled_quantizer_trains_on_the_codes_encode_gives():
    """Young (before and for settle_steps steps after its k-means start) a batch is centred on its own
    mean; settled, on the running average, exactly as encode() does: the same codes, whatever the batch."""
    torch.manual_seed(0)
    vq = VectorQuantizer(32, 4, buffer_size=256, settle_steps=5).train()
    centres = torch.randn(32, 4)
    first = clustered(256, centres)[0] + 3.0
    vq(first)  # fills the buffer: k-means, and the running centre starts at this batch's mean
    torch.testing.assert_close(vq.center, first.mean((0, 2)))
    for step in range(1, 8):
        latents = clustered(64, centres)[0] + 3.0 + 0.3 * torch.randn(4, 1)  # (1, D, n), a batch's own shift
        expected_young = vq.nearest(latents[0].T - latents[0].T.mean(0))
        expected_settled = vq.encode(latents[0].T)
        assert vq.settled == (step > 5)
        codes = vq(latents)[1][0]
        assert torch.equal(codes, expected_settled if step > 5 else expected_young)
    assert not torch.equal(expected_young, expected_settled)  # the two rules differ on these batches


def shipped_clips(n):
    """n one-second clips of the demo corpus, peak-normalised as training feeds them."""
    from dataset.audio import load_audio
    from tokenizer.codec import peak_normalize
    files = sorted((ROOT / "dataset" / "demo" / "audio").glob("*/*.ogg"))[::7][:n]
    return torch.stack([peak_normalize(load_audio(f)[8000:24000]) for f in files])  # (n, 16000)


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("device, autocast", [("cpu", None), ("cpu", torch.bfloat16),
                                              ("cuda", None), ("cuda", torch.bfloat16)])
def test_training_forward_gives_the_codes_of_encode(batch_size, device, autocast):
    """The shipped codec in training mode, on batches of real clips, with and without bf16 autocast:
    every row's codes are the ones encode() gives the batch, and the ones it gives each row alone.
    (Before the settle rule, with the batch mean as centre, 10 % of frames matched alone, 38 % in 8.)"""
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU here")
    import copy
    shipped = Codec.load(device=device)
    wav = shipped_clips(batch_size).to(device)
    expected = shipped.encode(wav)  # before the forward moves the running centre and the codebook
    alone = torch.stack([shipped.encode(row) for row in wav])
    trained = copy.deepcopy(shipped).train()
    with torch.autocast(device, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        _, codes, _, _ = trained(wav)
    assert torch.equal(codes, expected) and torch.equal(alone, expected)


def test_rows_of_different_lengths_encode_as_they_do_alone(codec):
    """A short row padded into a batch: with lengths its codes are the row's own, and -1 past its end;
    without, the padding is audio the encoder hears (the last codes may differ)."""
    torch.manual_seed(0)
    rows = [torch.randn(n) * 0.3 for n in (1600, 1000, 321)]
    padded = torch.stack([F.pad(r, (0, 1600 - len(r))) for r in rows])
    codes = codec.encode(padded, lengths=[len(r) for r in rows])
    for row, got in zip(rows, codes):
        own = codec.encode(row)
        assert torch.equal(got[:len(own)], own) and (got[len(own):] == -1).all()
    for bad in ([1600, 1000], [1600, 1000, 1601], [1600, -1, 5]):
        with pytest.raises(ValueError, match="one length per row"):
            codec.encode(padded, lengths=bad)


def test_dead_codes_are_restarted_where_the_latents_went():
    torch.manual_seed(0)
    vq = VectorQuantizer(32, 4, buffer_size=512, dead_after=4).train()
    centres = torch.randn(32, 4)
    for _ in range(3):
        vq(clustered(256, centres)[0])
    # The latents spread fifty times wider: at first only the outermost codes catch them ...
    wide = 50 * torch.randn(32, 4)
    _, _, _, stats = vq(clustered(256, wide)[0])
    assert stats["codes_used"] <= 16
    # ... and once the rest have gone unused for dead_after x K latents, they restart among the new data.
    for _ in range(20):
        _, _, _, stats = vq(clustered(256, wide)[0])
    assert stats["codes_used"] >= 24
    # The control: the same run with restarts put off for good stays with the codes it had.
    torch.manual_seed(0)
    never = VectorQuantizer(32, 4, buffer_size=512, dead_after=10**9).train()
    centres = torch.randn(32, 4)
    for _ in range(3):
        never(clustered(256, centres)[0])
    wide = 50 * torch.randn(32, 4)
    for _ in range(21):
        _, _, _, stats = never(clustered(256, wide)[0])
    assert stats["codes_used"] <= 16


def test_save_load_round_trip_is_half_precision(codec, tmp_path):
    path = tmp_path / "codec.pt"
    codec.save(path)
    state = torch.load(path, weights_only=True)["state_dict"]
    assert state["decoder.head.weight"].dtype == torch.float16
    assert not any(k.startswith("quantizer.ema_") for k in state)
    loaded = Codec.load(path)
    wav = 0.3 * torch.randn(3 * 16000)
    same = (loaded.encode(wav) == codec.encode(wav)).float().mean()
    assert same > 0.9  # half-precision weights move a few latents across a code boundary at most
    reference = codec.decode(codec.encode(wav))
    assert (loaded.decode(codec.encode(wav)) - reference).abs().max() < 1e-2 * reference.abs().max() + 1e-4


def test_an_odd_hop_is_refused():  # the decoder's overlap-add trims 1.5 hops at each end
    with pytest.raises(ValueError, match="odd hop"):
        CodecConfig(encoder_strides=(3, 5))


def test_load_missing_file_is_one_line(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        Codec.load(tmp_path / "nothing.pt")
    assert "\n" not in str(error.value) and "train_tokenizer.py" in str(error.value)


def test_load_of_something_else_is_one_line(codec, tmp_path):
    codec.save(tmp_path / "codec.pt")
    (tmp_path / "truncated.pt").write_bytes((tmp_path / "codec.pt").read_bytes()[:5000])
    torch.save({"config": {"n_layer": 4, "d_model": 64}, "state_dict": {}}, tmp_path / "gpt.pt")  # a GPT's
    state = torch.load(tmp_path / "codec.pt", weights_only=True)
    state["config"]["decoder_dim"] *= 2  # the right keys, other shapes
    torch.save(state, tmp_path / "other.pt")
    for name in ("truncated.pt", "gpt.pt", "other.pt"):
        with pytest.raises(ValueError) as error:
            Codec.load(tmp_path / name)
        assert "\n" not in str(error.value) and f"{name}: not a codec saved by Codec.save" in str(error.value)
        assert len(str(error.value).split(": ")) > 3  # the error's own words follow its type: what went wrong


def test_tiny_codec_learns_to_reconstruct():
    # A few dozen steps on one clip must lower the mel loss by a third (measured 0.57 to 0.61 of the
    # start over seeds 0 to 5 and 1 to 8 threads), training the encoder as well as the decoder.
    from tokenizer.discriminators import MultiScaleMelLoss
    torch.manual_seed(0)
    t = torch.arange(16000) / 16000
    wav = (0.5 * torch.sin(2 * np.pi * (200 + 300 * t) * t) * (1 + torch.sin(2 * np.pi * 3 * t)) / 2)[None]
    codec = Codec(TINY).train()
    loss_fn = MultiScaleMelLoss()
    optimizer = torch.optim.AdamW(codec.parameters(), lr=3e-3)
    encoder_before = [p.detach().clone() for p in codec.encoder.parameters()]
    losses = []
    for _ in range(40):
        recon, _, commitment, _ = codec(wav)
        loss = loss_fn(recon, wav) + commitment
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.67 * np.mean(losses[:3])
    assert all(not torch.equal(a, b) for a, b in zip(encoder_before, codec.encoder.parameters()))


def noise_corpus(folder, n_utterances, n_samples, seed):
    """A wav+txt corpus of one speaker whose utterances are white noise: enough to run training on."""
    corpus = folder / "corpus" / "spk"
    corpus.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n_utterances):
        sf.write(corpus / f"u{i}.wav", 0.2 * rng.standard_normal(n_samples), 16000)
        (corpus / f"u{i}.txt").write_text(f"Utterance number {i}.")
    return rng


def test_a_corpus_without_a_val_split_holds_out_its_validation_clips(tmp_path):
    noise_corpus(tmp_path, 6, 8000, seed=1)  # a plain folder: every utterance is in the train split
    command = [sys.executable, str(ROOT / "train_tokenizer.py"), "--data", str(tmp_path / "corpus"),
               "--device", "cpu", "--out_dir", str(tmp_path / "out"), "--batch_size", "2", "--segment_seconds",
               "0.4", "--codebook_size", "32", "--decoder_dim", "32", "--decoder_layers", "1", "--max_steps", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training on 4 utterances" in result.stdout  # u4 and u5 validate, and are not trained on
    assert sorted(p.name for p in (tmp_path / "out" / "samples").glob("original_*.wav")) == \
        ["original_u4.wav", "original_u5.wav"]


def test_validation_skips_broken_and_short_files_and_names_samples_apart(tmp_path):
    rng = noise_corpus(tmp_path, 6, 8000, seed=2)  # spk: u0 ... u5
    other = tmp_path / "corpus" / "spk2"  # spk2: u0 ... u7, the same ids; its last two cannot validate
    other.mkdir()
    for i in range(8):
        wav = 0.2 * rng.standard_normal(1000 if i == 6 else 8000)  # u6: shorter than the mel loss's window
        if i == 7:
            wav[100] = np.nan  # u7: a NaN sample, refused when loaded
        sf.write(other / f"u{i}.wav", wav, 16000, subtype="FLOAT")
        (other / f"u{i}.txt").write_text(f"Utterance number {i}.")
    command = [sys.executable, str(ROOT / "train_tokenizer.py"), "--data", str(tmp_path / "corpus"),
               "--device", "cpu", "--out_dir", str(tmp_path / "out"), "--batch_size", "2", "--segment_seconds",
               "0.4", "--codebook_size", "32", "--decoder_dim", "32", "--decoder_layers", "1", "--max_steps", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training on 10 utterances" in result.stdout  # spk's u4, u5 and spk2's u4, u5 validate
    assert sorted(p.name for p in (tmp_path / "out" / "samples").glob("original_*.wav")) == \
        ["original_spk2_u4.wav", "original_spk2_u5.wav", "original_spk_u4.wav", "original_spk_u5.wav"]
    result = subprocess.run(command[:-2] + ["--segment_seconds", "0.1", "--max_steps", "1"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode != 0 and result.stderr.strip().splitlines()[-1].startswith("error: --segment_seconds")


def test_train_tokenizer_runs_resumes_and_exports(tmp_path):
    noise_corpus(tmp_path, 4, 12000, seed=0)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "train_tokenizer.py"), "--data", str(tmp_path / "corpus"),
               "--device", "cpu", "--out_dir", str(out), "--batch_size", "2", "--segment_seconds", "0.4",
               "--gan_start", "2", "--val_every", "3", "--save_every", "3", "--codebook_size", "32",
               "--decoder_dim", "32", "--decoder_layers", "1", "--mpd_channels", "4,4,4,4"]
    subprocess.run(command + ["--max_steps", "3"], check=True, capture_output=True, cwd=ROOT)
    first = torch.load(out / "last.pt", weights_only=True)
    assert first["step"] == 3
    # A different shape on the command line (or a changed default) does not break the resume: the run's
    # shape comes from last.pt.
    result = subprocess.run(command + ["--max_steps", "5", "--resume", "--decoder_layers", "2"], check=True,
                            capture_output=True, text=True, cwd=ROOT)
    assert "resumed" in result.stdout and "at step 3" in result.stdout
    assert "--decoder_layers 1 (as in" in result.stdout
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 5
    rows = (out / "log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4, 5]
    assert float(rows[-1].split(",")[4]) > 0  # the adversarial terms were on
    assert list((out / "samples").glob("step000003_*.wav"))
    codec = Codec.load(out / "codec.pt")
    assert codec.codebook_size == 32 and codec.encode(torch.zeros(1600) + 0.1).shape == (5,)
    with pytest.raises(ValueError, match="last.pt: not a codec saved by Codec.save"):
        Codec.load(out / "last.pt")  # the training state, not the codec
    # Going on from the exported weights alone (a fresh optimizer) works too.
    init = [c if c != str(out) else str(tmp_path / "out2") for c in command]
    subprocess.run(init + ["--max_steps", "1", "--init_from", str(out / "codec.pt")], check=True,
                   capture_output=True, cwd=ROOT)
    assert torch.load(tmp_path / "out2" / "last.pt", weights_only=True)["step"] == 1


def test_decoder_only_training_keeps_the_tokens(tmp_path):
    """--decoder_only fine-tunes the decoder and nothing else: same encoder and codebook (so the same
    codes and the same tokens fingerprint), another decoder; without a codec to start from, one line."""
    rng = noise_corpus(tmp_path, 3, 9600, seed=1)
    torch.manual_seed(0)
    start = Codec(CodecConfig(codebook_size=32, encoder_channels=8, decoder_dim=32, decoder_intermediate=96,
                              decoder_layers=1))
    start.quantizer.initialized.fill_(True)
    start.save(tmp_path / "start.pt")
    command = [sys.executable, str(ROOT / "train_tokenizer.py"), "--data", str(tmp_path / "corpus"),
               "--device", "cpu", "--out_dir", str(tmp_path / "out"), "--batch_size", "2",
               "--segment_seconds", "0.4", "--gan_start", "1", "--max_steps", "2", "--codebook_size", "32",
               "--encoder_channels", "8", "--decoder_dim", "32", "--decoder_layers", "1",
               "--mpd_channels", "4,4,4,4", "--decoder_only"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and result.stderr.strip().startswith("error:") and "--init_from" in result.stderr
    subprocess.run(command + ["--init_from", str(tmp_path / "start.pt")], check=True, capture_output=True, cwd=ROOT)
    before, after = Codec.load(tmp_path / "start.pt"), Codec.load(tmp_path / "out" / "codec.pt")
    assert after.tokens_sha256() == before.tokens_sha256()
    wav = torch.from_numpy(rng.standard_normal(8000).astype(np.float32)) * 0.2
    assert torch.equal(after.encode(wav), before.encode(wav))
    assert not torch.equal(after.decoder.head.weight, before.decoder.head.weight)
    # The same from the tokens of an encoded corpus (--codes): the encoder never runs, the tokens stay.
    codes_dir = tmp_path / "codes"
    subprocess.run([sys.executable, str(ROOT / "dataset" / "encode_corpus.py"), "--data", str(tmp_path / "corpus"),
                    "--codec", str(tmp_path / "start.pt"), "--out_dir", str(codes_dir)],
                   check=True, capture_output=True, cwd=ROOT)
    with_codes = [c if c != str(tmp_path / "out") else str(tmp_path / "out_codes") for c in command]
    with_codes += ["--init_from", str(tmp_path / "start.pt"), "--codes", str(codes_dir)]
    result = subprocess.run(with_codes, check=True, capture_output=True, text=True, cwd=ROOT)
    assert "3 of 3 training utterances" in result.stdout
    after = Codec.load(tmp_path / "out_codes" / "codec.pt")
    assert after.tokens_sha256() == before.tokens_sha256()
    assert not torch.equal(after.decoder.head.weight, before.decoder.head.weight)
    # A resume needs neither flag again: last.pt says the run is decoder-only, on these tokens.
    resume = [c for c in with_codes[:with_codes.index("--decoder_only")]]
    resume[resume.index("--max_steps") + 1] = "3"
    result = subprocess.run(resume + ["--resume"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "at step 2" in result.stdout and "3 of 3 training utterances" in result.stdout
    assert "--mpd_channels" not in result.stdout  # given the same as before: nothing to say
    assert Codec.load(tmp_path / "out_codes" / "codec.pt").tokens_sha256() == before.tokens_sha256()
    # Tokens of another codec, or --codes without --decoder_only: one line each.
    info = json.loads((codes_dir / "info.json").read_text())
    (codes_dir / "info.json").write_text(json.dumps(dict(info, tokens_sha256="0" * 64)))
    for bad in (with_codes, [c for c in with_codes if c != "--decoder_only"]):
        result = subprocess.run(bad, capture_output=True, text=True, cwd=ROOT)
        assert result.returncode != 0 and result.stderr.strip().startswith("error:")
        assert len(result.stderr.strip().splitlines()) == 1


def test_clip_tokens_are_the_tokens_of_the_clip_samples(codec, tmp_path):
    """A decoder trained on stored tokens (train_tokenizer.py --codes) must be shown, for each token, the
    samples that token was encoded from: a clip's tokens are the whole utterance's tokens at the clip's
    place, including a clip that reaches into the zero padding of the last token."""
    from dataset.audio import load_audio
    from dataset.clips import RandomClips, token_spans
    from dataset.readers import read_corpus
    from tokenizer.codec import peak_normalize

    folder = tmp_path / "corpus" / "spk"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i, n_samples in enumerate([4100, 5000, 3300, 2000, 4000]):
        sf.write(folder / f"u{i}.wav", 0.2 * rng.standard_normal(n_samples), 16000)
        (folder / f"u{i}.txt").write_text(f"Utterance {i}.")
    utterances = sorted(read_corpus(tmp_path / "corpus").utterances, key=lambda u: u.id)
    full = {u.id: codec.encode(load_audio(u.audio_path)) for u in utterances}
    rows, offset = [], 0
    for u in utterances[:4]:  # u4 has no tokens
        length = len(full[u.id]) + (3 if u.id == "u1" else 0)  # u1's do not fit its audio
        rows.append(dict(speaker=u.speaker, id=u.id, offset=offset, length=length))
        offset += len(full[u.id])
    codes = torch.cat([full[u.id] for u in utterances[:4]]).numpy().astype(np.uint16)
    hop, n_tokens = codec.hop_length, 10
    fits, spans = token_spans(utterances, rows, n_tokens, codec.tokens_per_second)
    assert [u.id for u in fits] == ["u0", "u2"]  # u3 is shorter than a clip (7 tokens)

    clips = RandomClips(fits, n_tokens * hop, spans, codes, hop)
    torch.manual_seed(0)
    starts = {u.id: set() for u in fits}
    for index, u in enumerate(fits):
        wav = peak_normalize(load_audio(u.audio_path))
        padded = torch.nn.functional.pad(wav, (0, len(full[u.id]) * hop - len(wav)))
        for _ in range(12):
            samples, tokens = clips[index]
            found = [s for s in range(len(full[u.id]) - n_tokens + 1)
                     if torch.equal(samples, padded[s * hop: (s + n_tokens) * hop])]
            assert len(found) == 1
            assert torch.equal(tokens, full[u.id][found[0]: found[0] + n_tokens])
            starts[u.id].add(found[0])
    assert starts["u2"] == {0, 1}  # 3,300 samples: 11 tokens, the last one partly padding


def test_loading_a_codec_leaves_the_process_alone(monkeypatch):
    """The allocator setting that speeds encoding up is a script's choice (infer.py, lab/bench.py, ...),
    never a side effect of loading a model."""
    import ctypes

    def refuse(*args, **kwargs):
        pytest.fail("loading a codec reached for the C library (the allocator)")

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    assert Codec.load().codebook_size == 1024
    with pytest.raises(pytest.fail.Exception):  # the guard itself works: the setting does reach for it
        keep_freed_memory()
