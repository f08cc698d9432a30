"""What several test modules share: a tiny codebook, fabricated encoded corpora, and an untrained tiny
GPT checkpoint that names one (fixture `corpus`). pytest reads this file first, so it also puts the
repository's root on the path: the tests import its packages and scripts (model, infer, lab, ...)."""
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset.encode_corpus import file_sha256  # noqa: E402
from model.gpt import GPT, GPTConfig  # noqa: E402
from tokenizer.codec import Codec, CodecConfig  # noqa: E402

CODEBOOK = 32
TINY_CODEC = CodecConfig(encoder_channels=8, encoder_max_channels=16, codebook_size=CODEBOOK, codebook_dim=8,
                         decoder_dim=32, decoder_intermediate=64, decoder_layers=2)


def fabricate_rows(lengths, speakers, seed=0):
    """Manifest rows and random codes for utterances of the given lengths, speakers taking turns; the last
    two utterances of each speaker are in the val split."""
    rng = np.random.default_rng(seed)
    rows, codes, offset = [], [], 0
    for i, length in enumerate(lengths):
        speaker = speakers[i % len(speakers)]
        split = "val" if i >= len(lengths) - 2 * len(speakers) else "train"
        rows.append(dict(id=f"u{i}", speaker=speaker, split=split, offset=offset, length=int(length),
                         text=f"Sentence {i}."))
        codes.append(rng.integers(0, CODEBOOK, int(length)).astype(np.uint16))
        offset += int(length)
    return rows, np.concatenate(codes)


def make_codes_folder(folder, n_utterances=40):
    """An encoded-corpus folder as dataset/encode_corpus.py writes it, made by a tiny (untrained) codec."""
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    Codec(TINY_CODEC).save(folder / "codec.pt")
    lengths = np.random.default_rng(1).integers(5, 60, n_utterances)
    rows, codes = fabricate_rows(lengths, ("kal", "slt"))
    np.save(folder / "codes-000.npy", codes)
    lines = ["id|speaker|split|offset|length|text"] + [
        f"{r['id']}|{r['speaker']}|{r['split']}|{r['offset']}|{r['length']}|{r['text']}" for r in rows]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    info = dict(codec=str(folder / "codec.pt"), codec_sha256=file_sha256(folder / "codec.pt"),
                sample_rate=16000, tokens_per_second=50.0, codebook_size=CODEBOOK)
    (folder / "info.json").write_text(json.dumps(info))
    return folder



def tiny_checkpoint(folder, codes_folder):
    torch.manual_seed(0)
    config = GPTConfig(speech_vocab_size=CODEBOOK, n_layer=2, n_head=2, n_kv_head=1, d_model=32,
                       max_seq_len=512)
    info = json.loads((codes_folder / "info.json").read_text())
    torch.save({"config": asdict(config), "speaker_map": {"kal": 0, "slt": 1}, "codes_info": info,
                "speech_per_byte": [1.0, 2.0], "text_dropout": 0.1,
                "state_dict": {k: v.half() for k, v in GPT(config).state_dict().items()}}, folder / "gpt.pt")
    return folder / "gpt.pt"


def tiny_corpus(folder):
    """(an untrained tiny GPT's checkpoint, the 12-utterance codes folder it names), made in folder."""
    codes = make_codes_folder(folder / "codes", n_utterances=12)
    return tiny_checkpoint(folder, codes), codes


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(an untrained tiny GPT's checkpoint, the 12-utterance codes folder it names), one per test module."""
    return tiny_corpus(tmp_path_factory.mktemp("corpus"))
