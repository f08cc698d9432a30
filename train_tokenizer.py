"""
Train the speech codec (tokenizer/codec.py) on any corpus the readers know; default: the demo corpus.

    python train_tokenizer.py                                   # demo corpus, GPU if there is one
    python train_tokenizer.py --device cpu --max_steps 2000     # a short CPU run
    python train_tokenizer.py --resume                          # continue out/codec/last.pt
    python train_tokenizer.py --init_from checkpoints/codec.pt  # go on from a saved codec's weights
    python train_tokenizer.py --data /path/LJSpeech-1.1 --out_dir out/codec_lj
    python train_tokenizer.py --init_from checkpoints/codec.pt --decoder_only --gan_start 0  # same tokens

Two phases. Up to --gan_start the codec learns from the multi-resolution mel L1 loss (plus the
commitment loss) alone: the adversarial losses only help once the output is roughly right, and a
discriminator facing noise wins too easily to teach anything. After it, a multi-period and a
multi-resolution discriminator join with hinge and feature-matching losses.

--decoder_only trains the decoder alone, on the codes of a frozen encoder and codebook (from --init_from):
the tokens of every utterance stay what they were, so a corpus encoded with the codec, and a GPT trained
on it, remain valid and simply sound better through the new decoder. With --codes it reads those tokens
from the encoded corpus instead of computing them: on a CPU the frozen encoder's forward pass is nearly
half of a decoder-only step, and the stored tokens are the ones the GPT learns (each encoded with its
whole utterance around it, not just the clip).

    python train_tokenizer.py --init_from checkpoints/codec.pt --decoder_only --codes dataset/demo/codes

Writes into --out_dir: last.pt (full training state, for --resume), codec.pt (half-precision weights for
Codec.load), log.csv, and samples/ with validation reconstructions every --val_every steps.
"""
import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import torch
from einops import rearrange
from tqdm import tqdm

from dataset.audio import AudioError, load_audio, save_audio
from dataset.clips import RandomClips, token_spans
from dataset.encode_corpus import codec_fits, load_codes
from dataset.phone_labels import load_phones
from dataset.readers import CorpusError, read_corpus
from tokenizer.codec import Codec, CodecConfig, code_stats, peak_normalize
from tokenizer.discriminators import (MultiPeriodDiscriminator, MultiResolutionDiscriminator, MultiScaleMelLoss,
                                      PhoneHead, discriminator_loss, feature_matching_loss,
                                      generator_adversarial_loss)
from model.checkpoint import CheckpointError, load_checkpoint
from train_common import (CSVLog, DeviceError, TimeBudget, at_least_one, atomic_save, autocast, pick_device,
                          plain_args, positive, rng_state, seed_everything, set_rng_state)

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--data", default="demo", help="'demo' or a corpus folder (LJSpeech, LibriTTS, wav+txt)")
parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
parser.add_argument("--max_steps", type=int, default=30_000, help="generator updates in total")
parser.add_argument("--max_minutes", type=float, default=None,
                    help="a time budget: stop after this many minutes, with the learning-rate schedule ending "
                         "then; a resumed run spends the minutes left")
parser.add_argument("--decoder_only", action="store_true",
                    help="train only the decoder; the encoder and codebook (from --init_from) stay as they are")
parser.add_argument("--codes", type=Path, default=None,
                    help="with --decoder_only: read the tokens from this encoded corpus (dataset/encode_corpus.py)")
parser.add_argument("--out_dir", type=Path, default=Path("out/codec"), help="checkpoints, log and samples")
parser.add_argument("--resume", action="store_true", help="continue from out_dir/last.pt")
parser.add_argument("--init_from", type=Path, default=None,
                    help="start from the weights of a saved codec.pt (optimizers and discriminators start fresh)")
parser.add_argument("--batch_size", type=at_least_one, default=8, help="clips per step")
parser.add_argument("--segment_seconds", type=float, default=1.0, help="length of each training clip")
parser.add_argument("--lr", type=positive, default=3e-4, help="peak learning rate (generator and discriminators)")
parser.add_argument("--gan_start", type=int, default=5_000, help="step at which the discriminators join")
parser.add_argument("--mel_weight", type=float, default=45.0, help="weight of the mel L1 loss")
parser.add_argument("--adv_weight", type=float, default=1.0, help="weight of the adversarial loss")
parser.add_argument("--fm_weight", type=float, default=2.0, help="weight of the feature-matching loss")
parser.add_argument("--commit_weight", type=float, default=1.0, help="weight of the commitment loss")
parser.add_argument("--phones", type=Path, default=None,
                    help="phone labels of the corpus (dataset/phone_labels.py writes dataset/demo/phones)")
parser.add_argument("--phone_weight", type=float, default=0.0,
                    help="weight of the phone loss (tokenizer/discriminators.py, PhoneHead): a head on the "
                         "quantised latents predicts each frame's phone from --phones; 0: off")
parser.add_argument("--val_every", type=at_least_one, default=1_000,
                    help="steps between validation + samples")
parser.add_argument("--save_every", type=at_least_one, default=250, help="steps between checkpoints")
parser.add_argument("--workers", type=int, default=None, help="data loader processes (default: 0 on CPU, 4 on GPU)")
parser.add_argument("--mpd_channels", default=None,
                    help="multi-period discriminator widths; default 16,64,256,512 on GPU, 16,32,64,128 on CPU")
parser.add_argument("--seed", type=int, default=1337)
parser.add_argument("--codebook_size", type=int, default=CodecConfig.codebook_size)
parser.add_argument("--encoder_channels", type=int, default=CodecConfig.encoder_channels)
parser.add_argument("--decoder_dim", type=int, default=CodecConfig.decoder_dim)
parser.add_argument("--decoder_layers", type=int, default=CodecConfig.decoder_layers)
args = parser.parse_args()

try:
    device = pick_device(args.device)
except DeviceError as e:
    sys.exit(f"error: {e}")
if args.decoder_only and not (args.init_from or args.resume):
    sys.exit("error: --decoder_only keeps a trained encoder and codebook: give --init_from (or --resume)")
if args.phone_weight and (args.phones is None or args.decoder_only):
    sys.exit("error: --phone_weight needs --phones (dataset/phone_labels.py) and an encoder to train "
             "(not --decoder_only)")
seed_everything(args.seed)
try:
    corpus = read_corpus(args.data)
except CorpusError as e:
    sys.exit(f"error: {e}")
train_set = [u for u in corpus if u.split == "train"] or corpus.utterances
MEL_WINDOW = max(mel.n_fft for mel in MultiScaleMelLoss().mels)  # the loss's widest STFT: 2,048 samples


def usable_for_validation(u):
    """Validation loads whole files: an unreadable one, or one no longer than the mel loss's widest window,
    would stop the run at every validation. (Training clips skip such files.)"""
    try:
        return len(load_audio(u.audio_path)) > MEL_WINDOW
    except AudioError:
        return False


# Two validation utterances per speaker (of the first eight speakers), so every voice is heard. A corpus
# without a val split (LJSpeech, LibriTTS, plain folders) lends each of those speakers' last two training
# utterances instead, and trains without them if the speaker has five or more: a validation loss on clips
# the codec trains on would not show it memorising them.
val_pool = [u for u in corpus if u.split == "val"]
val_set, held_out = [], []
for speaker in sorted({u.speaker for u in val_pool or train_set})[:8]:
    theirs = [u for u in val_pool or train_set if u.speaker == speaker]
    candidates = theirs if val_pool else theirs[::-1]  # the val split's first, or train's last
    picked = list(itertools.islice((u for u in candidates if usable_for_validation(u)), 2))
    val_set += picked
    if not val_pool and len(theirs) >= 5:
        held_out += picked
if not val_set:
    sys.exit(f"error: {args.data}: no utterance usable for validation (each is unreadable or under {MEL_WINDOW} samples)")
train_set = [u for u in train_set if u not in held_out]
# Sample file names: the utterance ids, with the speaker in front where two speakers share an id.
val_names = [u.id if sum(v.id == u.id for v in val_set) == 1 else f"{u.speaker}_{u.id}" for u in val_set]
print(corpus.summary())
print(f"training on {len(train_set)} utterances, {sum(u.duration for u in train_set) / 3600:.2f} h; device {device}")


SHAPE_ARGS = ("codebook_size", "encoder_channels", "decoder_dim", "decoder_layers", "mpd_channels",
              "decoder_only")
try:
    checkpoint = load_checkpoint(args.out_dir / "last.pt") if args.resume else None
except (CheckpointError, FileNotFoundError) as e:
    sys.exit(f"error: {e}")
if checkpoint is not None:
    # A run's shape is fixed when it starts: take it from last.pt, not from today's flags or defaults (a
    # flag with no default, left out today, is filled in without a word). Its stored tokens go on too,
    # unless --codes names others.
    for key in SHAPE_ARGS:
        saved, today = checkpoint["args"].get(key), getattr(args, key)
        if saved is not None and saved != today:
            if today is not None:
                print(f"--{key} {saved} (as in {args.out_dir / 'last.pt'}, not {today})")
            setattr(args, key, saved)
    if args.codes is None and checkpoint["args"].get("codes"):
        args.codes = Path(checkpoint["args"]["codes"])
if args.codes and not args.decoder_only:
    sys.exit("error: --codes gives the tokens of a frozen encoder: it needs --decoder_only")

config = CodecConfig(codebook_size=args.codebook_size, encoder_channels=args.encoder_channels,
                     decoder_dim=args.decoder_dim,
                     decoder_intermediate=3 * args.decoder_dim, decoder_layers=args.decoder_layers)
clip_samples = round(args.segment_seconds * config.sample_rate / config.hop_length) * config.hop_length
if clip_samples <= MEL_WINDOW:
    sys.exit(f"error: --segment_seconds {args.segment_seconds:g} gives clips of {clip_samples} samples; the mel "
             f"loss needs more than {MEL_WINDOW} (--segment_seconds 0.15 or more)")
workers = args.workers if args.workers is not None else (4 if device.type == "cuda" else 0)
spans = codes_info = stored_codes = None
if args.codes:
    try:
        stored_codes, rows, codes_info = load_codes(args.codes)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    fits, spans = token_spans(train_set, rows, clip_samples // config.hop_length,
                              config.sample_rate / config.hop_length)
    if not fits:
        sys.exit(f"error: no training utterance of {args.data} has tokens in {args.codes} that fit its audio")
    print(f"tokens from {args.codes}: {len(fits)} of {len(train_set)} training utterances "
          f"(the rest have none, or are shorter than a clip)")
    train_set = fits
phones = None
if args.phone_weight:
    try:
        labels, phone_rows, phone_info = load_phones(args.phones)
    except (FileNotFoundError, ValueError, KeyError) as e:
        sys.exit(f"error: {args.phones}: no phone labels there ({e}): python dataset/phone_labels.py makes them")
    if phone_info["hop"] != config.hop_length:
        sys.exit(f"error: {args.phones} labels frames of {phone_info['hop']} samples, the codec's are "
                 f"{config.hop_length}")
    where = {(row["speaker"], row["id"]): (row["offset"], row["length"]) for row in phone_rows}
    phones = (labels, [where.get((u.speaker, u.id)) for u in train_set])
    print(f"phone labels from {args.phones} for {sum(p is not None for p in phones[1])} of {len(train_set)} "
          f"training utterances, {len(phone_info['phones'])} phones; weight {args.phone_weight:g}")
loader = torch.utils.data.DataLoader(
    RandomClips(train_set, clip_samples, spans, stored_codes, config.hop_length, phones), batch_size=args.batch_size,
    num_workers=workers, drop_last=True,
    sampler=torch.utils.data.RandomSampler(train_set, replacement=True, num_samples=10**9),
    pin_memory=device.type == "cuda", persistent_workers=workers > 0)

# -----------------------------------------------------------------------------------------------------
# Models, optimizers, schedule

codec = Codec(config).to(device)
# The period discriminator dominates the cost of an adversarial step; on a CPU a narrower one keeps a
# step near twice the cost of a mel-only step instead of five times.
args.mpd_channels = args.mpd_channels or ("16,64,256,512" if device.type == "cuda" else "16,32,64,128")
discriminators = torch.nn.ModuleList([
    MultiPeriodDiscriminator(channels=tuple(int(c) for c in args.mpd_channels.split(","))),
    MultiResolutionDiscriminator()]).to(device)
mel_loss = MultiScaleMelLoss(config.sample_rate).to(device)
# betas (0.8, 0.99) as in HiFi-GAN/Vocos: a shorter momentum memory suits the moving GAN objective.
fused = {"fused": True} if device.type == "cuda" else {}
trained = codec.decoder if args.decoder_only else codec
# The phone head exists only with a phone loss, and trains with the generator.
phone_head = PhoneHead(config.codebook_dim, len(phone_info["phones"])).to(device) if args.phone_weight else None
opt_g = torch.optim.AdamW(list(trained.parameters()) + (list(phone_head.parameters()) if phone_head else []),
                          lr=args.lr, betas=(0.8, 0.99), **fused)
opt_d = torch.optim.AdamW(discriminators.parameters(), lr=args.lr, betas=(0.8, 0.99), **fused)


def learning_rate(step):
    """Cosine decay from the peak to a tenth of it at max_steps. No warm-up, on purpose: while the
    learning rate is small the decoder learns only the average spectrum, its gradient moves all latents
    together, and they slide off the codebook onto one code; the full rate from step one lets the
    decoder start using the differences between latents before that happens."""
    progress = min(1.0, step / max(1, max_steps))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


step = 0
max_steps = args.max_steps  # fewer under a --max_minutes budget
if args.init_from and not args.resume:
    try:
        saved = Codec.load(args.init_from)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    if saved.config != config:
        sys.exit(f"error: {args.init_from} has another configuration: {saved.config}")
    codec.load_state_dict(saved.state_dict())
    print(f"initialised from {args.init_from}")
if checkpoint is not None:
    missing, unexpected = codec.load_state_dict(checkpoint["codec"], strict=False)
    if unexpected or set(missing) - {"quantizer.steps_since_init"}:
        sys.exit(f"error: {args.out_dir / 'last.pt'} holds another codec (missing {missing[:3]}, unexpected "
                 f"{unexpected[:3]})")
    if missing and codec.quantizer.initialized:  # a run saved before the count existed settled long ago
        codec.quantizer.steps_since_init.fill_(codec.quantizer.settle_steps)
    discriminators.load_state_dict(checkpoint["discriminators"])
    if phone_head is not None:
        if "phone_head" not in checkpoint:
            sys.exit(f"error: {args.out_dir / 'last.pt'} trained without a phone loss: resume it without "
                     "--phone_weight, or start another --out_dir")
        phone_head.load_state_dict(checkpoint["phone_head"])
    opt_g.load_state_dict(checkpoint["opt_g"])
    opt_d.load_state_dict(checkpoint["opt_d"])
    step = checkpoint["step"]
    # Models, optimizers, step and random state continue; the clips do not: training draws them at
    # random, with replacement, and a resumed run draws others than the uninterrupted one would have
    # (the same distribution, so nothing is lost; unlike train_pretrain.py's exact resume).
    set_rng_state(checkpoint["rng"])
    print(f"resumed from {args.out_dir / 'last.pt'} at step {step}")
if codes_info is not None and not codec_fits(codec, args.init_from or args.out_dir / "codec.pt", codes_info):
    sys.exit(f"error: {args.codes} holds the tokens of another codec (its info.json names "
             f"{codes_info.get('codec')}): encode the corpus with this one, or leave out --codes")
n_params = sum(p.numel() for p in codec.parameters())
print(f"codec: {n_params / 1e6:.2f} M parameters ({sum(p.numel() for p in trained.parameters()) / 1e6:.2f} M "
      f"trained), {codec.tokens_per_second:.0f} tokens/s, "
      f"{config.codebook_size} codes; discriminators: "
      f"{sum(p.numel() for p in discriminators.parameters()) / 1e6:.2f} M")


def save_checkpoint():
    atomic_save({"codec": codec.state_dict(), "discriminators": discriminators.state_dict(),
                 **({"phone_head": phone_head.state_dict()} if phone_head else {}),
                 "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                 "rng": rng_state(), "budget": budget.state(), "args": plain_args(args)}, args.out_dir / "last.pt")
    codec.save(args.out_dir / "codec.pt")


def train_mode():
    """Training mode, except that a frozen encoder and quantizer run as in inference: the quantizer then
    centres with its stored running mean and leaves its codebook alone, so the codes are the ones
    Codec.encode gives for the clip on its own. (Within about five tokens of a clip's edges, where the
    encoder sees zeros instead of the audio around the clip, a few differ from the codes of the whole
    utterance; with --codes the decoder learns from those, the ones the GPT speaks.)"""
    codec.train()
    if args.decoder_only:
        codec.encoder.eval()
        codec.quantizer.eval()


@torch.no_grad()
def validate():
    """Reconstruct whole validation utterances: mel distance, codebook use, and wavs to listen to."""
    codec.eval()
    (args.out_dir / "samples").mkdir(parents=True, exist_ok=True)
    distances, codes_seen = [], set()
    for u, name in zip(val_set, val_names):
        wav = peak_normalize(load_audio(u.audio_path)).to(device)
        codes = codec.encode(wav)
        recon = codec.decode(codes)[: len(wav)]
        distances.append(mel_loss(recon[None], wav[None]).item())
        codes_seen.update(codes.tolist())
        save_audio(args.out_dir / "samples" / f"step{step:06d}_{name}.wav", recon.cpu())
        if step == 0 or not (args.out_dir / "samples" / f"original_{name}.wav").is_file():
            save_audio(args.out_dir / "samples" / f"original_{name}.wav", wav.cpu())
    train_mode()
    return sum(distances) / len(distances), len(codes_seen)


# -----------------------------------------------------------------------------------------------------
# The loop

log = CSVLog(args.out_dir / "log.csv", ["step", "lr", "mel", "commit", "adv", "fm", "disc", "codes_used",
                                        "perplexity", "val_mel", "val_codes", "seconds", "phone", "phone_acc"],
             start_step=step)
train_mode()
discriminators.train()
batches = iter(loader)
progress = tqdm(total=max_steps, initial=step, desc="codec", dynamic_ncols=True)
budget = TimeBudget(args.max_minutes, args.max_steps, step, saved=checkpoint and checkpoint.get("budget"))
start_time, steps_timed, first_step = time.time(), 0, step
if budget.over:
    max_steps = step
    print(f"the run's {args.max_minutes:g} minutes were spent already: nothing to train (a larger --max_minutes "
          f"goes on)")
while step < max_steps:
    max_steps = progress.total = budget.total(step)
    batch = next(batches)
    wav, codes = (batch[0], batch[1].to(device)) if args.codes else (batch, None)
    wav, frame_phones = (batch[0], batch[1].to(device)) if phone_head else (wav, None)
    wav = wav.to(device, non_blocking=True)  # (B, T)
    lr = learning_rate(step)  # the rate of this step: logged with it below
    for group in opt_g.param_groups + opt_d.param_groups:
        group["lr"] = lr
    if args.decoder_only:
        with torch.no_grad():  # the frozen half, in fp32 as in Codec.encode, so the codes are the same
            if codes is None:
                codes = codec.quantizer.encode(rearrange(codec.encoder(wav), "b d n -> (b n) d"))
                codes = codes.view(len(wav), -1)  # (B, N)
            quantized = rearrange(codec.quantizer.lookup(codes), "b n d -> b d n")
        with autocast(device):
            recon = codec.decoder(quantized)  # (B, T)
        commit, stats = torch.zeros((), device=device), code_stats(codes, config.codebook_size)
    else:
        with autocast(device):
            recon, codes, commit, stats, quantized = codec(wav, with_latents=True)  # (B, T), (B, N), (B, D, N)
    mel = mel_loss(recon, wav)
    loss_g = args.mel_weight * mel + args.commit_weight * commit
    if phone_head is not None:
        phone, phone_acc = phone_head(quantized, frame_phones)
        loss_g = loss_g + args.phone_weight * phone
    adv = fm = disc = torch.zeros((), device=device)

    if step >= args.gan_start:
        # Discriminator step: tell real clips from the (detached) reconstructions.
        with autocast(device):
            disc = sum(discriminator_loss(d(wav)[0], d(recon.detach())[0]) for d in discriminators)
        opt_d.zero_grad(set_to_none=True)
        disc.backward()
        torch.nn.utils.clip_grad_norm_(discriminators.parameters(), 1000.0)
        opt_d.step()
        # Generator's adversarial terms, through the just-updated discriminators (frozen meanwhile: the
        # gradient must flow through them to the reconstruction, but their weights need none).
        discriminators.requires_grad_(False)
        with autocast(device):
            for d in discriminators:
                _, real_features = d(wav)
                fake_logits, fake_features = d(recon)
                adv = adv + generator_adversarial_loss(fake_logits)
                fm = fm + feature_matching_loss(real_features, fake_features)
        loss_g = loss_g + args.adv_weight * adv + args.fm_weight * fm
        discriminators.requires_grad_(True)

    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    torch.nn.utils.clip_grad_norm_(trained.parameters(), 1000.0)  # only catches blow-ups
    opt_g.step()
    step += 1
    steps_timed += 1

    row = dict(step=step, lr=f"{lr:.2e}", mel=f"{mel.item():.4f}", commit=f"{commit.item():.4f}",
               adv=f"{adv.item():.4f}", fm=f"{fm.item():.4f}", disc=f"{disc.item():.4f}",
               codes_used=stats["codes_used"], perplexity=f"{stats['perplexity']:.1f}",
               **(dict(phone=f"{phone.item():.4f}", phone_acc=f"{phone_acc:.3f}") if phone_head else {}))
    if step % args.val_every == 0 or step == max_steps:
        val_mel, val_codes = validate()
        row.update(val_mel=f"{val_mel:.4f}", val_codes=val_codes)
        tqdm.write(f"step {step}: val mel distance {val_mel:.4f}, {val_codes} distinct codes on val")
    row["seconds"] = f"{time.time() - start_time:.1f}"
    log.write(**row)
    progress.update(1)
    progress.set_postfix(mel=row["mel"], adv=row["adv"], fm=row["fm"], d=row["disc"], codes=row["codes_used"],
                         ppl=row["perplexity"], it_s=f"{steps_timed / (time.time() - start_time):.2f}")
    if step % args.save_every == 0 or step == max_steps:
        save_checkpoint()
progress.close()
if step == first_step:  # resumed with nothing left: codec.pt may predate last.pt's step
    codec.save(args.out_dir / "codec.pt")
print(f"done: {args.out_dir / 'codec.pt'} (load it with Codec.load)")
