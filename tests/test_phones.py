"""Tests for the codec's optional phone loss: phone labels aligned with the codec's frames
(dataset/phone_labels.py), clips that carry them (dataset/clips.py), the head and its gradient
(tokenizer/discriminators.py, PhoneHead), train_tokenizer.py's --phones and --phone_weight, and a tiny
codec that learns to name the phone of frames it never trained on."""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dataset.clips import RandomClips
from dataset.phone_labels import HOP, LENGTH_TOLERANCE, PHONE_ID, PHONES, festival_segments, frame_labels
from dataset.readers import Utterance
from tokenizer.codec import Codec, CodecConfig
from tokenizer.discriminators import PhoneHead

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(codebook_size=16, codebook_dim=8, encoder_channels=4, encoder_max_channels=16, decoder_dim=32,
            decoder_intermediate=64, decoder_layers=1)


def test_frames_take_the_phone_sounding_at_their_centre():
    # 20 ms frames: centres at 10, 30, 50, ... ms. pau until 100 ms, ah until 250 ms, t until 300 ms.
    labels = frame_labels([("pau", 0.1), ("ah", 0.25), ("t", 0.3)], n_frames=17)
    names = [PHONES[i] for i in labels]
    assert names == ["pau"] * 5 + ["ah"] * 7 + ["t"] * 3 + ["pau"] * 2  # 250 ms, a centre on a boundary: t
    assert labels.dtype == np.uint8 and len(frame_labels([("ah", 0.5)], n_frames=3)) == 3
    with pytest.raises(ValueError, match="xx"):
        frame_labels([("xx", 0.1)], n_frames=5)


@pytest.mark.skipif(shutil.which("festival") is None, reason="Festival is not installed")
def test_festival_segments_end_with_the_audio_it_speaks(tmp_path):
    """The times Festival prints are those of the waveform it writes: the last segment ends within the
    tolerance of the wav's length, for a diphone voice and for the HTS one."""
    for voice in ("kal_diphone", "cmu_us_slt_arctic_hts"):
        segments = festival_segments(voice, ["hello world.", "the bus was late."], wav_dir=tmp_path)
        for i, segs in enumerate(segments):
            info = sf.info(str(tmp_path / f"{i}.wav"))
            assert segs[0][0] == "pau" and all(p in PHONE_ID for p, _ in segs)
            assert abs(segs[-1][1] - info.frames / info.samplerate) < LENGTH_TOLERANCE
            assert [end for _, end in segs] == sorted(end for _, end in segs)


def test_clips_with_phones_start_on_a_frame_and_carry_its_labels(tmp_path):
    ramp = np.arange(10 * HOP + 100, dtype=np.float32) / 1e5  # sample i holds i / 1e5: where a clip starts
    sf.write(tmp_path / "a.wav", ramp, 16000, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", ramp[: 3 * HOP], 16000, subtype="FLOAT")  # shorter than a clip
    utterances = [Utterance(tmp_path / "a.wav", "", "spk", 1.0, "a"), Utterance(tmp_path / "b.wav", "", "spk", 0.1, "b")]
    labels = np.arange(11, dtype=np.uint8)  # utterance a: frame j is phone j (11 frames: 10 hops and a bit)
    clips = RandomClips(utterances, 4 * HOP, hop=HOP, phones=(labels, [(0, 11), None]))
    peak = np.abs(ramp).max() / 0.9  # RandomClips peak-normalises to 0.9
    for _ in range(20):
        wav, phones = clips[0]
        start = round(float(wav[0]) * peak * 1e5 / HOP)
        assert abs(float(wav[0]) * peak * 1e5 - start * HOP) < 0.5  # on a frame boundary
        assert phones.tolist() == [j if j < 11 else -100 for j in range(start, start + 4)]
    wav, phones = clips[1]
    assert len(wav) == 4 * HOP and phones.tolist() == [-100] * 4


def test_the_phone_loss_reaches_the_encoder_and_only_through_the_latents():
    torch.manual_seed(0)
    codec = Codec(CodecConfig(**TINY))
    codec.quantizer.initialized.fill_(True)
    head = PhoneHead(codec.config.codebook_dim, len(PHONES))
    wav = 0.5 * torch.randn(2, 8 * HOP)
    _, _, _, _, quantized = codec(wav, with_latents=True)
    labels = torch.randint(len(PHONES), (2, 8))
    labels[0, :3] = -100
    loss, accuracy = head(quantized, labels)
    loss.backward()
    assert loss.item() > 0 and 0 <= accuracy <= 1
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in codec.encoder.parameters())
    assert all(p.grad is None for p in codec.decoder.parameters())  # the decoder is not what it trains
    nothing, _ = head(quantized.detach(), torch.full((2, 8), -100))  # no labelled frame: zero, no NaN
    assert nothing.item() == 0


def synthetic_speech(n_utterances, rng, frames=(3, 9)):
    """Utterances of four 'phones', each a few frames long: silence, a low tone, a high tone and noise.
    -> (waveforms (n, 40 frames), frame labels (n, 40))."""
    t = np.arange(HOP) / 16000
    sounds = [lambda: np.zeros(HOP), lambda: 0.5 * np.sin(2 * np.pi * 200 * t + rng.uniform(0, 6.3)),
              lambda: 0.5 * np.sin(2 * np.pi * 3000 * t + rng.uniform(0, 6.3)), lambda: 0.3 * rng.standard_normal(HOP)]
    wavs, labels = [], []
    for _ in range(n_utterances):
        phones = []
        while len(phones) < 40:
            phones += [int(rng.integers(4))] * int(rng.integers(*frames))
        phones = phones[:40]
        wavs.append(torch.from_numpy(np.concatenate([sounds[p]() for p in phones])).float())
        labels.append(torch.tensor(phones))
    return torch.stack(wavs), torch.stack(labels)


def test_a_tiny_codec_trained_with_the_phone_loss_names_held_out_phones():
    """Trained on the mel-free objective of this test (commitment + phone loss) for 100 steps, the head
    names the phone of held-out frames far better than chance (1 in 4; 0.79 measured)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    codec = Codec(CodecConfig(**TINY))
    head = PhoneHead(codec.config.codebook_dim, 4)
    optimizer = torch.optim.AdamW(list(codec.encoder.parameters()) + list(head.parameters()), lr=1e-2)
    codec.train()
    for step in range(100):
        wav, labels = synthetic_speech(8, rng)
        _, _, commit, _, quantized = codec(wav, with_latents=True)
        loss, _ = head(quantized, labels)
        optimizer.zero_grad()
        (loss + commit).backward()
        optimizer.step()
    codec.eval()
    wav, labels = synthetic_speech(8, np.random.default_rng(1))
    with torch.no_grad():
        _, _, _, _, quantized = codec(wav, with_latents=True)
        _, accuracy = head(quantized, labels)
    print(f"held-out phone accuracy {accuracy:.2f} (chance 0.25)")
    assert accuracy > 0.6


def phones_folder(folder, ids, n_frames, n_phones=len(PHONES)):
    """A labels folder as dataset/phone_labels.py writes it, for utterances `ids` of speaker spk."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = rng.integers(n_phones, size=len(ids) * n_frames).astype(np.uint8)
    np.save(folder / "phones.npy", labels)
    with open(folder / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["speaker", "id", "offset", "length"])
        writer.writeheader()
        writer.writerows({"speaker": "spk", "id": i, "offset": k * n_frames, "length": n_frames}
                         for k, i in enumerate(ids))
    (folder / "info.json").write_text(json.dumps({"phones": PHONES, "hop": HOP, "sample_rate": 16000}))


def test_train_tokenizer_trains_with_phones_resumes_and_is_off_by_default(tmp_path):
    corpus = tmp_path / "corpus" / "spk"
    corpus.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        sf.write(corpus / f"u{i}.wav", 0.2 * rng.standard_normal(12000), 16000)
        (corpus / f"u{i}.txt").write_text(f"Utterance number {i}.")
    phones_folder(tmp_path / "phones", ["u0", "u1"], n_frames=38)  # u2, u3: no labels (-100)
    command = [sys.executable, str(ROOT / "train_tokenizer.py"), "--data", str(tmp_path / "corpus"),
               "--device", "cpu", "--batch_size", "2", "--segment_seconds", "0.4", "--codebook_size", "32",
               "--decoder_dim", "32", "--decoder_layers", "1", "--save_every", "2", "--val_every", "2"]
    with_phones = command + ["--out_dir", str(tmp_path / "a"), "--phones", str(tmp_path / "phones"),
                             "--phone_weight", "0.5"]
    result = subprocess.run(with_phones + ["--max_steps", "2"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "phone labels from" in result.stdout and "for 2 of 4 training utterances" in result.stdout
    rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    # (a batch of the two unlabelled utterances has no phone to score: 0)
    assert all(r["phone"] != "" for r in rows) and any(float(r["phone"]) > 0 for r in rows) and len(rows) == 2
    assert "phone_head" in torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    result = subprocess.run(with_phones + ["--max_steps", "3", "--resume"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "at step 2" in result.stdout, result.stderr[-2000:]
    # Off by default: no head, no phone column values, and no labels needed.
    result = subprocess.run(command + ["--out_dir", str(tmp_path / "b"), "--max_steps", "1"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "phone_head" not in torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert all(r["phone"] == "" for r in csv.DictReader(open(tmp_path / "b" / "log.csv")))
    for extra, expected in [(["--phone_weight", "1"], "--phone_weight needs --phones"),
                            (["--phone_weight", "1", "--phones", str(tmp_path / "nowhere")], "no phone labels")]:
        result = subprocess.run(command + ["--out_dir", str(tmp_path / "c"), "--max_steps", "1", *extra],
                                capture_output=True, text=True, cwd=ROOT)
        assert result.returncode != 0 and expected in result.stderr.strip().splitlines()[-1]

