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
import contextlib
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from dataset.audio import save_audio
from dataset.encode_corpus import load_codec_of
from dataset.readers import DEMO_DIR
from dataset.speech_tokens import DataError, LengthBucketSampler, check_same_codec, load_data
from model.checkpoint import CheckpointError, load_checkpoint
from model.gpt import GPT, PRESETS, GPTConfig
from model.sequence import IGNORE, PAD, START, collate
from train_common import (CSVLog, DeviceError, HelpWithDefaults, TimeBudget, all_reduce_sum, at_least_one, atomic_save,
                          autocast, cosine_lr, gpt_metadata, gpu_peak_flops, plain_args, positive, rng_state,
                          save_weights, seed_everything, set_rng_state, setup_distributed)

# -----------------------------------------------------------------------------------------------------
# Flags: those every GPT run takes (train_sft.py too), then pretraining's own


def add_training_args(parser, lr_default):
    """The flags both GPT scripts take. Each script then sets its own defaults (parser.set_defaults);
    lr_default says in words how it picks the learning rate."""
    parser.formatter_class = HelpWithDefaults
    add = parser.add_argument
    add("--data", type=Path, default=DEMO_DIR / "codes", help="an encoded corpus (codes-*.npy, manifest.csv, "
        "info.json) made by dataset/encode_corpus.py (default: the demo's, dataset/demo/codes)")
    add("--split", default="train", help="manifest split to train on (train, val, test, or all)")
    add("--speakers", nargs="+", default=None, help="train only on these speakers (none given: all)")
    add("--max_utterances", type=at_least_one, default=None, help="train on a fixed random subset of this many")
    add("--val_utterances", type=at_least_one, default=200,
        help="at most this many validation utterances (the 'val' split of the same speakers, or training "
             "utterances held out when the corpus has no val split)")
    add("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (under torchrun: cpu or cuda)")
    add("--out_dir", type=Path, default=None, help="checkpoints, log.csv and samples/")
    add("--resume", action="store_true", help="continue from out_dir/last.pt at its step")
    add("--max_steps", type=int, default=None, help="optimizer steps in total")
    add("--max_minutes", type=float, default=None,
        help="a time budget for the run: stop after this many minutes, at fewer than --max_steps steps if "
             "need be, with the learning-rate schedule ending then (none: train all --max_steps); a resumed "
             "run spends the minutes left")
    add("--max_tokens", type=int, default=None,
        help="tokens per micro-batch and process, counting padding (default: 4096 on a CPU, 16384 on a GPU)")
    add("--batch_size", type=int, default=64, help="at most this many utterances per micro-batch")
    add("--grad_accum", type=at_least_one, default=1, help="micro-batches per optimizer step")
    add("--lr", type=positive, default=None, help=f"peak learning rate (default: {lr_default})")
    add("--warmup", type=int, default=None, help="steps of linear learning-rate warm-up")
    add("--weight_decay", type=float, default=0.1, help="AdamW weight decay on matrices and embeddings")
    add("--grad_clip", type=float, default=1.0, help="clip the gradient norm to this (0: no clipping)")
    add("--prompt_prob", type=float, default=0.3,
        help="probability that a training example starts with a voice prompt of the same speaker")
    add("--text_dropout", type=float, default=0.1,
        help="probability that a training example loses its text, so that the model also learns to speak "
             "unconditioned: what classifier-free guidance (infer.py --cfg_scale) needs")
    add("--compile", action="store_true", help="torch.compile the model (worth it on a GPU)")
    add("--eval_every", type=at_least_one, default=250, help="steps between validation losses")
    add("--sample_every", type=int, default=1000, help="steps between sample wavs (0: none)")
    add("--save_every", type=at_least_one, default=250, help="steps between checkpoints")
    add("--peak_flops", type=float, default=None,
        help="peak FLOP/s of one GPU, or of the whole CPU, for MFU (default: the GPU's data-sheet bf16 peak, "
             "312e12 for a card not in train_common.GPU_PEAK_BF16; 175e9 on a CPU)")
    add("--seed", type=int, default=1337, help="seed for weights, batches and prompts")


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


# -----------------------------------------------------------------------------------------------------
# The pieces of a step: forward and backward, validation, a sample to listen to, checkpoints


def forward_backward(model, batches, device, world_size=1):
    """Forward and backward over one optimizer step's micro-batches [(ids, targets), ...] on this process.
    The gradient left in the parameters is that of the mean loss over *every target token of the step,
    on every process*: what one process would get from all the micro-batches concatenated. Averaging
    each micro-batch's mean instead would over-weight micro-batches with few target tokens.
    Returns (that mean loss, non-padding input tokens of the step on all processes)."""
    counts = [int((targets != IGNORE).sum()) for _, targets in batches]
    totals = torch.tensor([sum(counts), sum(int((ids != PAD).sum()) for ids, _ in batches)],
                          dtype=torch.float64, device=device)
    n_targets, n_inputs = all_reduce_sum(totals, world_size).tolist()
    loss_sum = torch.zeros((), device=device)
    for i, (ids, targets) in enumerate(batches):
        ids, targets = ids.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        # DDP averages the gradients of all processes during backward. Between micro-batches that would
        # be wasted traffic, so only the step's last backward synchronises.
        last = i == len(batches) - 1
        with model.no_sync() if world_size > 1 and not last else contextlib.nullcontext():
            with autocast(device):
                _, loss = model(ids, targets)  # the mean over this micro-batch's target tokens
            # mean x count = this micro-batch's sum; / n_targets = its share of the step's mean. DDP then
            # divides the summed gradients by world_size, which the factor world_size undoes.
            (loss * (counts[i] * world_size / n_targets)).backward()
        loss_sum += loss.detach() * counts[i]
    return all_reduce_sum(loss_sum, world_size).item() / n_targets, n_inputs

@torch.no_grad()
def evaluate(model, loader, device, world_size=1):
    """Mean loss per target token over this process's share of the validation batches, then over all
    processes. `model` is the bare GPT: a DDP wrapper would try to synchronise buffers in forward."""
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, target tokens
    for ids, targets in loader:
        ids, targets = ids.to(device), targets.to(device)
        with autocast(device):
            _, loss = model(ids, targets)
        n_targets = (targets != IGNORE).sum()
        sums += torch.stack([loss.double() * n_targets, n_targets.double()])
    model.train()
    loss_sum, n_targets = all_reduce_sum(sums, world_size).tolist()
    return loss_sum / n_targets

def maybe_compile(model, enabled, device):
    """torch.compile(model), or the model itself when compiling is off or fails (no compiler, an
    unsupported platform). Compilation happens at the first call, so a short call here makes a failure
    show up now, as one line, rather than inside the loop."""
    if not enabled:
        return model
    try:
        compiled = torch.compile(model)
        ids = torch.full((1, 16), START, device=device)
        with autocast(device):
            compiled(ids, torch.zeros_like(ids))
        return compiled
    except Exception as e:  # torch.compile raises many types; any of them means "train without it"
        first_line = (str(e).strip().splitlines() or [""])[0]
        print(f"warning: torch.compile failed ({type(e).__name__}: {first_line[:200]}), training without it")
        return model

def load_sample_codec(info, device):
    """The codec that made the codes (info.json names it), to decode samples; None, with one warning,
    when that file is missing or has changed since the codes were made (it would decode garbage)."""
    try:
        return load_codec_of(info, device=device)[0]
    except ValueError as e:
        print(f"warning: {e}: no sample wavs")
        return None

def write_sample(model, codec, val_set, folder, step, seed):
    """Speak validation sentence 0 in its speaker's voice, at temperature 0.7 with a fixed seed so that
    samples of different steps differ by the model only. The first time, also write reference.wav: the
    codec decoding the real codes, the best the GPT could do."""
    device = codec.codebook_device
    folder.mkdir(parents=True, exist_ok=True)
    real_codes = torch.tensor(val_set.speech_codes(0))
    if not (folder / "reference.wav").is_file():
        save_audio(folder / "reference.wav", codec.decode(real_codes), codec.sample_rate)
    model.eval()
    with autocast(device):
        codes = model.generate(val_set.prefix(0).to(device), max_new_tokens=2 * len(real_codes) + 50,
                               temperature=0.7, generator=torch.Generator(device).manual_seed(seed))
    model.train()
    # A model that predicts END at once gives no codes: write a frame of silence to keep the file.
    wav = codec.decode(codes) if len(codes) else torch.zeros(codec.hop_length)
    save_audio(folder / f"step{step:06d}.wav", wav, codec.sample_rate)

def gather_rng_states(world_size):
    """Every process's RNG state, in rank order. Under DDP each process draws its own dropout masks, so
    each must get its own state back on --resume. Every process must call this."""
    if world_size == 1:
        return [rng_state()]
    states = [None] * world_size
    dist.all_gather_object(states, rng_state())
    return states

def save_gpt(model, optimizer, step, train_set, args, best_val=float("inf"), rng_states=None, budget=None):
    """last.pt: everything --resume needs (rng: one state per process, gather_rng_states; budget:
    TimeBudget.state()). model.pt: the weights of this step (save_weights)."""
    atomic_save({**gpt_metadata(model, train_set, args), "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "step": step, "best_val": best_val,
                 "rng": rng_states or [rng_state()], "budget": budget, "args": plain_args(args)},
                args.out_dir / "last.pt")
    save_weights(model, train_set, args, args.out_dir / "model.pt")

def note_changed_flags(checkpoint, args, world_size):
    """Print a line for each flag a resumed run changed that the interrupted run's batches or schedule
    hang on: the run goes on, but not as the uninterrupted one would have."""
    saved, today = dict(checkpoint.get("args") or {}), dict(plain_args(args), processes=world_size)
    if isinstance(checkpoint["rng"], list):  # one RNG state per process (older files hold one, whatever ran)
        saved["processes"] = len(checkpoint["rng"])
    for key in ("lr", "warmup", "max_tokens", "batch_size", "grad_accum", "processes", "seed", "prompt_prob",
                "text_dropout"):
        # (max_tokens None is the device's default: only two values given are compared)
        if saved.get(key) is not None and today.get(key) is not None and saved[key] != today[key]:
            print(f"note: --{key} {today.get(key)}, the interrupted run's {saved[key]}: it goes on from its "
                  "step, though not as the uninterrupted run would have")


# -----------------------------------------------------------------------------------------------------
# The loop


def resume(raw_model, optimizer, train_set, args, main, world_size):
    """Load args.out_dir/last.pt into the model and optimizer, after checking that it trained on the same
    codec and speakers: -> (the checkpoint, its step, the best validation loss so far)."""
    path = args.out_dir / "last.pt"
    checkpoint = load_checkpoint(path)
    if not {"config", "model", "optimizer", "step", "rng", "codes_info", "speaker_map"} <= checkpoint.keys():
        raise CheckpointError(f"{path} is not a last.pt of train_pretrain.py or train_sft.py")
    check_same_codec(checkpoint["codes_info"], train_set.info, path)
    if checkpoint["speaker_map"] != train_set.speaker_map:
        raise CheckpointError(f"{path} has another speaker map: other --speakers?")
    raw_model.load_state_dict(checkpoint["model"])
    weight_decays = [group["weight_decay"] for group in optimizer.param_groups]
    optimizer.load_state_dict(checkpoint["optimizer"])
    for group, weight_decay in zip(optimizer.param_groups, weight_decays):  # today's --weight_decay
        group["weight_decay"] = weight_decay
    if main:
        note_changed_flags(checkpoint, args, world_size)
    best_val = checkpoint.get("best_val", float("inf"))
    if (args.out_dir / "best.pt").is_file():  # an evaluation after the last save may have done better
        saved_best = torch.load(args.out_dir / "best.pt", map_location="cpu", weights_only=True)
        best_val = min(best_val, saved_best.get("val_loss", float("inf")))
    return checkpoint, checkpoint["step"], best_val

def hardware_peak_flops(device, peak_flops, world_size):
    """The peak FLOP/s that MFU (achieved FLOP/s over the peak) is measured against: --peak_flops, else a
    GPU's data-sheet bf16 figure (an A100's for a card the table lacks) or the reference CPU machine's
    measured fp32 peak. CPU processes share one machine; GPUs each bring their own peak."""
    if device.type == "cuda":
        return (peak_flops or gpu_peak_flops(device) or 312e12) * world_size
    return peak_flops or 175e9

def describe(raw_model, train_set, val_set, distributed, max_tokens, args, step):
    """Print what is about to train, on what, and how."""
    trained = sum(p.numel() for p in raw_model.parameters() if p.requires_grad)
    print(f"model: {raw_model.num_parameters() / 1e6:.3f} M parameters, {trained / 1e6:.3f} M of them trained; "
          f"{raw_model.cfg}")
    print(f"data: {len(train_set)} training utterances ({sum(train_set.lengths)} tokens), {len(val_set)} "
          f"validation, {train_set.dropped + val_set.dropped} left out as longer than {raw_model.cfg.max_seq_len} "
          f"tokens; speaker map of {len(train_set.speaker_map)}")
    print(f"{distributed.world_size} process(es) on {distributed.device}, up to {max_tokens} tokens x "
          f"{args.grad_accum} micro-batches per process and step, peak lr {args.lr:g}"
          + (f"; resumed at step {step}" if step else ""))

def restore_rng(checkpoint, rank):
    """Give this process its RNG state from last.pt. Called once setting up is done: setting up (data-loader
    iterators, a compile test) draws random numbers that the uninterrupted run drew before its first step,
    so dropout masks go on exactly where they would have (prompts and text dropout come from the batch
    sampler's own generator, which starts again where the run stopped). A process the saving job did not
    have (resumed with more processes) takes the first one's state. (Older last.pt files hold one state.)"""
    states = checkpoint["rng"] if isinstance(checkpoint["rng"], list) else [checkpoint["rng"]]
    set_rng_state(states[rank] if rank < len(states) else states[0])

def loaders(train_set, val_set, args, distributed, step, max_tokens):
    """(an endless iterator of training batches, starting after the `step` steps already taken; the
    validation loader). Batches hold utterances of similar lengths, up to max_tokens tokens each."""
    device = distributed.device

    def loader(dataset, batches):
        # On a GPU, two worker processes build the next batches while the GPU trains on this one; on a
        # CPU they would only take cores from the training itself.
        workers = 2 if device.type == "cuda" else 0
        return torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=collate,
                                           pin_memory=device.type == "cuda", num_workers=workers,
                                           persistent_workers=workers > 0)

    def sampler(dataset, start=0):
        return LengthBucketSampler(dataset, max_tokens, args.batch_size, args.seed, distributed.rank,
                                   distributed.world_size, start=start)

    if not sampler(train_set).epoch_batches(0):  # fewer utterances than processes
        raise DataError(f"{len(train_set)} training utterances make no batch for each of "
                        f"{distributed.world_size} processes")
    # Each process has used grad_accum batches per step: a resumed run goes on with the next ones.
    train_batches = iter(loader(train_set, sampler(train_set, start=step * args.grad_accum)))
    return train_batches, loader(val_set, sampler(val_set).epoch_batches(0))

def train(model, train_set, val_set, args, distributed, desc="pretrain"):
    """Train `model` on train_set with the settings of add_training_args' flags, as process
    `distributed` of a DDP job (or alone); resume from args.out_dir/last.pt with args.resume. train_sft.py
    runs this same loop on a pretrained model."""
    device, main, world_size = distributed.device, distributed.is_main, distributed.world_size
    raw_model = model.to(device)  # the bare GPT, for saving, evaluation and sampling
    if raw_model.cfg.speech_vocab_size != train_set.speech_vocab_size:
        raise DataError(f"the model predicts {raw_model.cfg.speech_vocab_size} codes, the data's codec has "
                        f"{train_set.speech_vocab_size}")
    optimizer = raw_model.configure_optimizers(args.weight_decay, args.lr, (0.9, 0.95), device.type)
    checkpoint, step, best_val = resume(raw_model, optimizer, train_set, args, main, world_size) if args.resume \
        else ({}, 0, float("inf"))
    trainable = [p for p in raw_model.parameters() if p.requires_grad]
    model = maybe_compile(raw_model, args.compile, device)
    if world_size > 1:
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    max_tokens = args.max_tokens or (16384 if device.type == "cuda" else 4096)
    train_batches, val_loader = loaders(train_set, val_set, args, distributed, step, max_tokens)
    peak_flops = hardware_peak_flops(device, args.peak_flops, world_size)
    codec = load_sample_codec(train_set.info, device) if main and args.sample_every else None
    if main:
        describe(raw_model, train_set, val_set, distributed, max_tokens, args, step)
        log = CSVLog(args.out_dir / "log.csv", ["step", "lr", "loss", "val_loss", "grad_norm", "tokens_per_s",
                                                "mfu", "seconds"], start_step=step)
    budget = TimeBudget(args.max_minutes, args.max_steps, step, saved=checkpoint.get("budget"))
    max_steps, first_step = step if budget.over else args.max_steps, step
    if budget.over and main:
        print(f"the run's {args.max_minutes:g} minutes were spent already: nothing to train "
              "(a larger --max_minutes goes on)")
    progress = tqdm(total=max_steps, initial=step, desc=desc, dynamic_ncols=True, disable=not main)
    if args.resume:  # only now: see restore_rng
        restore_rng(checkpoint, distributed.rank)
    while step < max_steps:
        if args.max_minutes:  # a time budget: the cosine schedule ends when the time does
            max_steps = progress.total = budget.total(step, device, world_size)
        lr = cosine_lr(step, max_steps, args.warmup, args.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_start = time.time()
        micro_batches = [next(train_batches) for _ in range(args.grad_accum)]
        loss, n_tokens = forward_backward(model, micro_batches, device, world_size)
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, args.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        # .item() waits for the GPU's queued clipping and optimizer kernels, so the step's time holds them.
        grad_norm = grad_norm.item()
        tokens_per_s = n_tokens / (time.time() - step_start)
        seq_len = sum(ids.shape[1] for ids, _ in micro_batches) / len(micro_batches)
        mfu = raw_model.estimate_flops_per_token(seq_len) * tokens_per_s / peak_flops
        row = dict(step=step, lr=f"{lr:.3e}", loss=f"{loss:.4f}", grad_norm=f"{grad_norm:.3f}",
                   tokens_per_s=f"{tokens_per_s:.0f}", mfu=f"{mfu:.4f}")
        last = step == max_steps
        if step % args.eval_every == 0 or last:
            val_loss = evaluate(raw_model, val_loader, device, world_size)
            row["val_loss"] = f"{val_loss:.4f}"
            if main:
                tqdm.write(f"step {step}: train loss {loss:.4f}, val loss {row['val_loss']}")
                if val_loss < best_val:  # best.pt: model.pt's format, at the lowest validation loss so far
                    best_val = val_loss
                    save_weights(raw_model, train_set, args, args.out_dir / "best.pt", step=step,
                                 val_loss=val_loss)
        if main:
            if codec is not None and (step % args.sample_every == 0 or last):
                write_sample(raw_model, codec, val_set, args.out_dir / "samples", step, args.seed)
            row["seconds"] = f"{budget.state()['spent']:.1f}"  # a resumed run counts on from its last save
            log.write(**row)
            progress.update(1)
            progress.set_postfix(loss=row["loss"], tok_s=row["tokens_per_s"], mfu=f"{100 * mfu:.1f}%",
                                 lr=row["lr"])
        if step % args.save_every == 0 or last:
            rng_states = gather_rng_states(world_size)  # every process takes part
            if main:
                save_gpt(raw_model, optimizer, step, train_set, args, best_val, rng_states, budget.state())
    progress.close()
    if main and step == first_step:  # resumed with nothing left: model.pt may predate last.pt's step
        save_weights(raw_model, train_set, args, args.out_dir / "model.pt")
    if main:
        print(f"done: {args.out_dir / 'model.pt'}")


# -----------------------------------------------------------------------------------------------------
# Data, model, and the loop


def pretrain(args):
    """Data, then the model (a preset, or the shape of the run being resumed), then the loop."""
    distributed = setup_distributed(args.device)
    seed_everything(args.seed + distributed.rank)  # each process its own dropout masks (DDP syncs weights)
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
    # 1e-3 for the small cpu preset, 3e-4 from the gpu preset up: wider models need smaller steps to stay
    # stable.
    if args.lr is None:
        args.lr = 1e-3 if config.d_model <= 256 else 3e-4
    train(GPT(config), train_set, val_set, args, distributed, desc="pretrain")


def main(argv=None):
    args = parser.parse_args(argv)
    try:  # what the data and checkpoint readers raise: one line, no traceback
        pretrain(args)
    except (DataError, CheckpointError, DeviceError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
