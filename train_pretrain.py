"""
Pretrain the TTS GPT (model/gpt.py) on the speech tokens of an encoded corpus; default: the demo corpus.

    python dataset/encode_corpus.py                         # once: demo corpus -> dataset/demo/codes
    python train_pretrain.py                                # cpu preset on a CPU, gpu preset on a GPU
    python train_pretrain.py --device cpu --max_steps 500   # a short CPU run
    python train_pretrain.py --resume                       # continue out/pretrain/last.pt
    python train_pretrain.py --device cuda --max_minutes 5  # a time budget instead of a step count
    torchrun --standalone --nproc_per_node=2 train_pretrain.py --device cpu      # 2 CPU processes (gloo)
    torchrun --standalone --nproc_per_node=4 train_pretrain.py --preset large --compile   # 4 GPUs (nccl)
    python train_pretrain.py --data out/codes_lj --preset gpu --max_tokens 32768 --grad_accum 2

Each example is [START] [speaker] text [SPEECH_START] speech codes END (model/sequence.py), a share of
them after a voice prompt of the same speaker; the loss is on the speech codes and END only. Under
torchrun every process trains on its own share of the batches and only the first one logs and saves.

Writes into --out_dir: last.pt (the full training state, for --resume), model.pt (half-precision
weights with the config and speaker map, for inference and train_sft.py --init_from), best.pt (the same
at the lowest validation loss so far), log.csv, and
samples/: a validation sentence spoken every --sample_every steps, beside reference.wav (the codec
decoding the real codes).
"""
import argparse
from pathlib import Path

import numpy as np

from model.gpt import GPT, PRESETS, GPTConfig
from train_common import (add_training_args, load_checkpoint, load_data, seed_everything, setup_distributed,
                          train_gpt)

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
add_training_args(parser, lr_default="1e-3 up to d_model 256 (the cpu preset), 3e-4 for wider models")
parser.add_argument("--preset", default="auto", choices=["auto", *PRESETS],
                    help="model size (model/gpt.py): auto takes cpu on a CPU, gpu on a GPU")
SIZES = ("n_layer", "n_head", "n_kv_head", "d_model")
for name in SIZES:
    parser.add_argument(f"--{name}", type=int, default=None, help=f"override the preset's {name}")
parser.add_argument("--max_seq_len", type=int, default=GPTConfig.max_seq_len,
                    help="longest example in tokens (text + speech); longer utterances are left out")
parser.add_argument("--dropout", type=float, default=0.0, help="dropout in the transformer blocks")
parser.add_argument("--text_position_step", type=float, default=None,
                    help="rotary positions between text bytes (model/gpt.py, GPT.positions); default: the "
                         "training set's median speech codes per byte; 0: plain positions")
parser.set_defaults(out_dir=Path("out/pretrain"), max_steps=10_000, warmup=200)
args = parser.parse_args()

distributed = setup_distributed(args.device)
seed_everything(args.seed + distributed.rank)  # each process its own dropout masks (DDP syncs the weights)
# A resumed run keeps the shape it started with, whatever today's flags and defaults say: its context
# length too, so that it trains on the same examples.
config = GPTConfig(**load_checkpoint(args.out_dir / "last.pt").get("config", {})) if args.resume else None
train_set, val_set = load_data(args, config.max_seq_len if config else args.max_seq_len)
preset = args.preset if args.preset != "auto" else ("gpu" if distributed.device.type == "cuda" else "cpu")
overrides = {name: getattr(args, name) for name in SIZES}
sizes = {**PRESETS[preset], **{name: value for name, value in overrides.items() if value is not None}}
if config is None:
    if args.text_position_step is None:  # codes per byte: where, on the speech side, a byte is spoken
        args.text_position_step = round(float(np.median(train_set.speech_per_byte())), 3)
    config = GPTConfig(speech_vocab_size=train_set.speech_vocab_size, max_seq_len=args.max_seq_len,
                       dropout=args.dropout, text_position_step=args.text_position_step, **sizes)
# 1e-3 for the small cpu preset, 3e-4 from the gpu preset up: wider models need smaller steps to stay stable.
if args.lr is None:
    args.lr = 1e-3 if config.d_model <= 256 else 3e-4
train_gpt(GPT(config), train_set, val_set, args, distributed, desc="pretrain")
