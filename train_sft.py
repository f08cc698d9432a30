"""
Fine-tune a pretrained TTS GPT on a small single-speaker set; default: 300 utterances of the demo's slt.

    python train_sft.py --init_from out/pretrain/model.pt                  # full fine-tuning
    python train_sft.py --init_from out/pretrain/model.pt --lora_rank 8    # LoRA (model/lora.py)
    python train_sft.py --init_from out/pretrain/model.pt --resume         # continue out/sft/last.pt
    python train_sft.py --init_from out/pretrain/model.pt --data out/codes_mine --speakers me --split all
    torchrun --standalone --nproc_per_node=2 train_sft.py --init_from out/pretrain/model.pt --device cpu

The pretrained model's speaker map is kept: a voice it knows keeps its speaker id, a new one gets the
next free id (its embedding starts untrained, and stays so under LoRA, which trains only the attention
and MLP updates; the voice then comes from those updates and the voice prompts). The data must come from
the codec the model was pretrained on.

Writes into --out_dir the same files as train_pretrain.py. model.pt has any LoRA update merged into its
base weights, so it is a plain GPT: inference needs no LoRA code.
"""
import argparse
from pathlib import Path

from dataset.speech_tokens import DataError, load_data
from model.checkpoint import CheckpointError, load_gpt
from model.lora import add_lora
from train_common import DeviceError, seed_everything, setup_distributed
from train_pretrain import add_training_args, train  # pretraining's flags and loop: the model and data differ

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
add_training_args(parser, lr_default="1e-3 with LoRA, 1e-4 for full fine-tuning")
parser.add_argument("--init_from", type=Path, required=True,
                    help="the pretrained model: model.pt or last.pt of train_pretrain.py")
parser.add_argument("--lora_rank", type=int, default=0,
                    help="0: fine-tune every weight; r > 0: train only rank-r LoRA updates (model/lora.py)")
parser.add_argument("--lora_alpha", type=float, default=16.0, help="LoRA updates are scaled by alpha / rank")
parser.set_defaults(out_dir=Path("out/sft"), speakers=["slt"], max_utterances=300, max_steps=1000, warmup=50,
                    eval_every=100, sample_every=250, save_every=250)
args = parser.parse_args()

try:  # what the data and checkpoint readers raise: one line, no traceback
    distributed = setup_distributed(args.device)
    seed_everything(args.seed + distributed.rank)  # each process its own dropout masks (DDP syncs weights)
    model, pretrained = load_gpt(args.init_from)
    train_set, val_set = load_data(args, model.cfg.max_seq_len, speaker_map=pretrained["speaker_map"],
                                   codes_info=pretrained["codes_info"])
    if args.lora_rank > 0:
        add_lora(model, args.lora_rank, args.lora_alpha)
    # LoRA's new matrices start at zero and can take large steps; moving every pretrained weight calls for
    # small ones, or the model forgets what pretraining taught it (with 300 utterances that comes fast).
    if args.lr is None:
        args.lr = 1e-3 if args.lora_rank > 0 else 1e-4
    train(model, train_set, val_set, args, distributed, desc="sft")
except (DataError, CheckpointError, DeviceError, FileNotFoundError) as e:
    raise SystemExit(f"error: {e}") from None
