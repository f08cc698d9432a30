"""
Preference tuning (DPO) of a TTS GPT for intelligibility: the model speaks training sentences several times,
a speech recogniser judges the tries, and the model learns to prefer its better tries to its worse ones.

    python lab/train_dpo.py                                        # the shipped model: tries, judging, tuning
    python lab/train_dpo.py --init_from out/pretrain/model.pt --out_dir out/dpo_mine
    python lab/train_dpo.py --sentences 10 --max_steps 5 --out_dir out/dpo_quick   # a quick look
    python lab/train_dpo.py --resume                               # continue out/dpo/last.pt

Why. Pretraining teaches the model to continue real speech; sampled, it sometimes mumbles or swaps a sound,
and a word is lost. Among four tries at a sentence one is often much clearer than the others (README,
"Best of N"). Preference tuning moves probability toward such tries, so that one try speaks more like the
best of several, at no cost at inference. Measured on the shipped demo model with 1,200 sentences and 4
tries each, it did not work: the model learned its training pairs but not what makes a try clear (README,
"Preference tuning"); more sentences and tries, on a GPU, is the experiment left to run.

1. Tries (out_dir/tries.jsonl, one line per sentence, appended as they are judged: a stopped run goes on
   where it was). For --sentences training sentences per voice (a fixed random sample), --tries tries each,
   sampled exactly as infer.py's `tts(text, speaker=voice, seed=i, best_of=tries)` samples its candidates
   (candidates below, with infer.py's default sampling); i counts the sentences.
2. Judging. pocketsphinx (an optional extra: pip install -r requirements-extra.txt) transcribes every try
   and the character error rate against the sentence ranks them. A sentence's best and worst tries make a
   pair (chosen, rejected) when their error rates differ by at least --margin (--all_pairs: every two tries
   that do).
3. Tuning. DPO (Rafailov et al., 2023) with the model before tuning as the frozen reference. With log p the
   summed log-probability of a try's codes and END after its prefix (no guidance), each pair's loss is
       -log sigmoid(beta * ((log p(chosen) - log p_ref(chosen)) - (log p(rejected) - log p_ref(rejected))))
   which falls as the model raises the chosen try's probability relative to the rejected one's, measured
   against where the reference had them: only the difference the judge saw is learned, not what the two
   tries share. DPO alone can lower both probabilities (the rejected one faster); --sft_weight adds the
   chosen tries' mean cross-entropy (as in Pang et al., 2024), which keeps the chosen ones likely.

Writes into --out_dir: tries/{voice}/ (the wavs), tries.jsonl (with tries_made_by.json: the model, codec
and tries per sentence that made them; another model's tries are refused), log.csv, last.pt (for
--resume) and model.pt (half precision, with the init model's metadata: infer.py and lab/eval.py take it as
--checkpoint).
The same recogniser judges the README's results, on test sentences this never speaks: see "Preference
tuning" in the README for what that does and does not show.
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.audio import save_audio
from dataset.files import write_atomic
from dataset.readers import DEMO_DIR
from dataset.speech_tokens import DataError, open_codes
from infer import CANDIDATE_SEED_STEP, DEFAULT_GPT, TTS, TTSError
from model.batched import sample_rows
from model.checkpoint import CheckpointError, load_checkpoint
from model.sequence import IGNORE, TEXT_VOCAB_SIZE, build_example, collate, encode_text
from train_common import (CSVLog, DeviceError, HelpWithDefaults, at_least_one, atomic_save, cosine_lr, pick_device,
                          plain_args, rng_state, seed_everything, set_rng_state)


def candidates(tts, prefix, part, n, seed):
    """n tries at the speech codes of one part, exactly as infer.py's best_of samples them (its default
    settings): try k with seed + k * CANDIDATE_SEED_STEP, so try 0 is what one try speaks."""
    rows = [(prefix, tts.max_codes(prefix, part), tts.min_codes(part), seed + k * CANDIDATE_SEED_STEP)
            for k in range(n)]
    return [codes for codes, _ in sample_rows(tts.model, rows, tts.sampling(), batch_size=8)]


def natural_key(name):
    """'kal_0010' < 'kal_200': digit runs compare as numbers, so ids sort the same however they are padded."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def pick_sentences(rows, speakers, per_speaker, seed=0, offset=0):
    """[(speaker, id, text), ...]: per speaker, in the order of `speakers`, a fixed random sample of its
    rows (dicts with id, speaker, text), items offset .. offset + per_speaker of one shuffle."""
    rng, picked = random.Random(seed), []
    for speaker in speakers:
        mine = sorted((r for r in rows if r["speaker"] == speaker), key=lambda r: natural_key(r["id"]))
        rng.shuffle(mine)
        picked += [(speaker, r["id"], r["text"]) for r in mine[offset:offset + per_speaker]]
    return picked


def read_jsonl(path):
    """The complete lines of a JSON-lines file; a last line cut off by a crash is dropped."""
    if not Path(path).is_file():
        return []
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def make_tries(tts, sentences, n_tries, out_dir, transcribe_files, made_by=None):
    """Stage 1 and 2: speak each (speaker, id, text) n_tries times, judge each try, append a line per
    sentence to out_dir/tries.jsonl. transcribe_files(paths) -> texts heard. Sentences already in the file
    are skipped; returns every record in it. made_by: what makes the tries (model, codec, tries per
    sentence), kept beside the file: tries of another model are refused, not mixed in."""
    from lab.eval import character_error_rate

    path, made_by_path = out_dir / "tries.jsonl", out_dir / "tries_made_by.json"
    records = read_jsonl(path)
    made_by = made_by or {}
    # (A file from before the record was kept is taken as it is.)
    if records and made_by_path.is_file() and json.loads(made_by_path.read_text()) != made_by:
        raise SystemExit(f"error: {path} holds tries of another model or settings (see {made_by_path}): "
                         "give another --out_dir, or delete the file")
    write_atomic(made_by_path, lambda tmp: tmp.write_text(json.dumps(made_by, indent=1) + "\n"))
    done = {(r["speaker"], r["id"]) for r in records}  # ids may repeat across speakers
    # Rewrite what was read, so that a line cut off by a crash is gone before new lines follow it.
    write_atomic(path, lambda tmp: tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"))
    (out_dir / "tries").mkdir(parents=True, exist_ok=True)
    todo = [(i, s) for i, s in enumerate(sentences) if s[:2] not in done]
    for i, (speaker, utt_id, text) in tqdm(todo, desc="tries", initial=len(sentences) - len(todo),
                                           total=len(sentences)):
        prefixes, parts = tts.prepare(text, speaker, None, max_chars=5000)
        if len(parts) != 1:  # a sentence infer.py would speak in parts: not one example to learn from
            continue
        tries = candidates(tts, prefixes[0], parts[0], n_tries, seed=i)
        limit = tts.max_codes(prefixes[0], parts[0])  # a try this long was stopped, not ended by the model
        files = []
        (out_dir / "tries" / speaker).mkdir(exist_ok=True)
        for k, codes in enumerate(tries):
            files.append(out_dir / "tries" / speaker / f"{utt_id}_{k}.wav")
            wav = tts.codec.decode(torch.tensor(codes)).cpu() if codes else torch.zeros(tts.sample_rate // 10)
            save_audio(files[-1], wav, tts.sample_rate)
        heard = transcribe_files(files)
        judged = [{"codes": codes, "heard": h, "cer": character_error_rate(text, h), "ended": len(codes) < limit}
                  for codes, h in zip(tries, heard)]
        record = {"id": utt_id, "speaker": speaker, "text": text, "seed": i, "tries": judged}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        records.append(record)
    return records


def make_pairs(records, margin, all_pairs=False):
    """[(speaker, text, chosen try, rejected try), ...] from judged sentences: per sentence its lowest- and
    highest-CER tries (the first of equals), or with all_pairs every two of its tries, when their error
    rates differ, by at least margin. The better try is the chosen one; but a try stopped at the length
    bound (the model never ended it) is never chosen over one the model ended."""
    def ended(t):
        return t.get("ended", True)  # tries judged before this was recorded count as ended

    def preferred(a, b):
        return b["cer"] > a["cer"] and b["cer"] - a["cer"] >= margin and (ended(a) or not ended(b))

    pairs = []
    for r in records:
        tries = r["tries"]
        options = ([(a, b) for a in tries for b in tries if a is not b] if all_pairs else
                      [(min(tries, key=lambda t: (not ended(t), t["cer"])), max(tries, key=lambda t: t["cer"]))])
        pairs += [(r["speaker"], r["text"], a, b) for a, b in options if preferred(a, b)]
    return pairs


def pair_examples(pairs, speaker_map, max_seq_len, speech_vocab_size):
    """The pairs as training examples: [((ids, targets) chosen, (ids, targets) rejected), ...], laid out as
    in pretraining (build_example); a pair with a try too long for max_seq_len is left out. A try the model
    did not end has no END target: it was stopped there, the model never chose to end it."""
    examples = []
    for speaker, text, chosen, rejected in pairs:
        two = [build_example(encode_text(text), t["codes"], TEXT_VOCAB_SIZE, speaker=speaker_map[speaker],
                             speech_vocab_size=speech_vocab_size) for t in (chosen, rejected)]
        for (_, targets), t in zip(two, (chosen, rejected)):
            if not t.get("ended", True):
                targets[-1] = IGNORE
        if max(len(ids) for ids, _ in two) <= max_seq_len:
            examples.append(tuple(two))
    return examples


def sequence_logprobs(model, ids, targets):
    """ids, targets (B, T) -> (summed log-probability of each row's targets (B,), target count (B,)).
    Positions with target IGNORE (text, padding) count nothing."""
    logits, _ = model(ids)  # (B, T, V)
    mask = targets != IGNORE  # (B, T)
    logp = logits.float().log_softmax(-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T)
    return (logp * mask).sum(1), mask.sum(1)


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    """Per-pair DPO loss (B,) from summed log-probabilities (B,) of the tuned model and the reference, and
    the implied reward margin beta * (how much more the chosen try gained than the rejected one)."""
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))  # (B,)
    return -F.logsigmoid(margin), margin


def batch_logprobs(model, batch, device):
    """A list of pairs -> summed log-probabilities of the chosen (B,) and rejected (B,) tries, and the
    chosen tries' target counts (B,): both tries of every pair go through the model as one batch."""
    ids, targets = collate([chosen for chosen, _ in batch] + [rejected for _, rejected in batch])
    logp, counts = sequence_logprobs(model, ids.to(device), targets.to(device))
    return logp[:len(batch)], logp[len(batch):], counts[:len(batch)]


@torch.no_grad()
def reference_logprobs(model, examples, batch_size, device):
    """Summed log-probabilities (N, 2) of every pair's chosen and rejected try under the model as it is."""
    rows = []
    for start in range(0, len(examples), batch_size):
        chosen, rejected, _ = batch_logprobs(model, examples[start:start + batch_size], device)
        rows.append(torch.stack([chosen, rejected], 1).cpu())
    return torch.cat(rows)


def run(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpWithDefaults)
    add = parser.add_argument
    add("--init_from", type=Path, default=DEFAULT_GPT, help="the model to tune (default: the shipped one)")
    add("--codec", type=Path, default=None, help="the codec (default: the one the model was trained with)")
    add("--data", type=Path, default=DEMO_DIR / "codes",
        help="an encoded corpus whose manifest gives the sentences and voices (only the texts are used)")
    add("--split", default="train", help="the manifest split whose sentences are spoken")
    add("--sentences", type=at_least_one, default=400, help="sentences per voice")
    add("--tries", type=at_least_one, default=4, help="tries per sentence")
    add("--margin", type=float, default=0.1, help="least CER difference between a pair's tries")
    add("--all_pairs", action="store_true",
        help="every two tries of a sentence that differ by the margin make a pair (default: best and worst)")
    add("--val_sentences", type=at_least_one, default=60,
        help="sentences whose pairs are held out to measure on (at most a fifth of those judged)")
    add("--beta", type=float, default=0.1, help="DPO's beta: how far from the reference the model may go "
        "(0: no DPO; with --sft_weight, plain fine-tuning on the chosen tries)")
    add("--sft_weight", type=float, default=0.0, help="weight of the chosen tries' cross-entropy")
    add("--lr", type=float, default=1e-5, help="peak learning rate")
    add("--warmup", type=int, default=10, help="steps of linear learning-rate warm-up")
    add("--batch_size", type=at_least_one, default=16, help="pairs per step")
    add("--max_steps", type=at_least_one, default=None, help="optimizer steps (default: 2 passes over the pairs)")
    add("--eval_every", type=at_least_one, default=20, help="steps between held-out measurements")
    add("--weight_decay", type=float, default=0.0, help="AdamW weight decay on matrices and embeddings")
    add("--device", default="auto", help="auto, cpu, cuda, ...")
    add("--out_dir", type=Path, default=Path("out/dpo"), help="tries, log.csv, checkpoints")
    add("--resume", action="store_true", help="continue the tuning from out_dir/last.pt")
    add("--seed", type=int, default=1337, help="seed for the order of the pairs")
    args = parser.parse_args(argv)
    try:
        device = pick_device(args.device)
    except DeviceError as e:
        raise SystemExit(f"error: {e}") from None
    seed_everything(args.seed)

    try:
        tts = TTS.load(args.init_from, args.codec, device=str(device))
    except TTSError as e:
        raise SystemExit(f"error: {e}")
    _, rows, _ = open_codes(args.data)
    rows = [r for r in rows if args.split == "all" or r["split"] == args.split]
    sentences = pick_sentences(rows, [s for s in tts.speakers if any(r["speaker"] == s for r in rows)],
                               args.sentences)
    if not sentences:
        raise SystemExit(f"error: {args.data}: no {args.split} sentences of the model's voices "
                         f"({', '.join(tts.speakers)})")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    # Stages 1 and 2: tries and their judging. The recogniser runs in two worker processes (lab/eval.py).
    from lab.eval import recognizer_pool, transcribe_file
    try:
        pool = recognizer_pool(2)
    except ImportError as e:
        raise SystemExit(f"error: judging the tries needs the recogniser: {e}")
    from dataset.encode_corpus import file_sha256
    made_by = {"init_from_sha256": file_sha256(args.init_from), "codec": str(args.codec or "the model's"),
               "tries": args.tries}
    with pool:
        records = make_tries(tts, sentences, args.tries, args.out_dir,
                             lambda files: list(pool.map(transcribe_file, files)), made_by)
    model = tts.model
    # Held out by sentence, so that no try of a held-out sentence is trained on.
    records = sorted(records, key=lambda r: r["seed"])
    random.Random(0).shuffle(records)
    n_val = min(args.val_sentences, len(records) // 5)

    def examples(records):
        return pair_examples(make_pairs(records, args.margin, args.all_pairs), tts.speaker_map,
                             model.cfg.max_seq_len, model.cfg.speech_vocab_size)

    val_pairs, train_pairs = examples(records[:n_val]), examples(records[n_val:])
    if n_val == 0:
        raise SystemExit(f"error: {len(records)} sentences judged: five or more are needed, one in five held out")
    if not train_pairs or not val_pairs:
        raise SystemExit(f"error: {len(train_pairs)} pairs to train on, {len(val_pairs)} held out: speak more "
                         f"sentences (--sentences) or lower --margin")
    print(f"{len(records)} sentences judged: {len(train_pairs)} pairs to train on, {len(val_pairs)} held out")

    # Stage 3: DPO. Dropout stays off (eval mode) throughout: the reference's log-probabilities are taken
    # without it, and with it the tuned model's would differ from them by noise at step 0 already.
    model.eval()
    ref_train = reference_logprobs(model, train_pairs, args.batch_size, device)  # (N, 2)
    ref_val = reference_logprobs(model, val_pairs, args.batch_size, device)
    steps_per_pass = -(-len(train_pairs) // args.batch_size)
    max_steps = args.max_steps or 2 * steps_per_pass
    optimizer = model.configure_optimizers(args.weight_decay, args.lr, (0.9, 0.95), device.type)
    start = 0
    if args.resume:
        state = load_checkpoint(args.out_dir / "last.pt")
        if "beta" not in state.get("args", {}):
            raise SystemExit(f"error: {args.out_dir / 'last.pt'} is not a last.pt of lab/train_dpo.py")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        start = state["step"]
    log = CSVLog(args.out_dir / "log.csv", ["step", "lr", "loss", "accuracy", "margin", "chosen_change",
                                            "rejected_change", "val_loss", "val_accuracy"], start)

    def measure(examples, reference):
        """Held-out DPO loss and the share of pairs whose chosen try gained more than the rejected one."""
        with torch.no_grad():
            losses, margins = [], []
            for s in range(0, len(examples), args.batch_size):
                chosen, rejected, _ = batch_logprobs(model, examples[s:s + args.batch_size], device)
                ref = reference[s:s + args.batch_size].to(device)
                loss, margin = dpo_loss(chosen, rejected, ref[:, 0], ref[:, 1], args.beta)
                losses.append(loss), margins.append(margin)
        return torch.cat(losses).mean().item(), (torch.cat(margins) > 0).float().mean().item()

    def save(step):
        atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                     "rng": rng_state(), "args": plain_args(args)}, args.out_dir / "last.pt")

    bar = tqdm(range(start, max_steps), desc="dpo", initial=start, total=max_steps)
    for step in bar:
        lr = cosine_lr(step, max_steps, args.warmup, args.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        # Each pass over the pairs has its own order, fixed by the seed and the pass: a resumed run
        # takes the same batches as an uninterrupted one.
        n_pass, first = divmod(step, steps_per_pass)
        order = torch.randperm(len(train_pairs), generator=torch.Generator().manual_seed(args.seed + n_pass))
        index = order[first * args.batch_size:(first + 1) * args.batch_size]
        chosen, rejected, n_chosen = batch_logprobs(model, [train_pairs[i] for i in index], device)
        ref = ref_train[index].to(device)
        loss, margin = dpo_loss(chosen, rejected, ref[:, 0], ref[:, 1], args.beta)
        total = loss.mean() + args.sft_weight * (-chosen / n_chosen).mean()
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        # how far the tuned model has moved the tries' log-probabilities, per token of the chosen tries
        change = ((torch.stack([chosen, rejected], 1).detach() - ref).sum(0) / n_chosen.sum()).tolist()
        row = {"step": step + 1, "lr": f"{lr:.3g}", "loss": f"{loss.mean().item():.4f}",
               "accuracy": f"{(margin > 0).float().mean().item():.3f}",
               "margin": f"{margin.mean().item():.4f}", "chosen_change": f"{change[0]:.4f}",
               "rejected_change": f"{change[1]:.4f}"}
        if (step + 1) % args.eval_every == 0 or step + 1 == max_steps:
            val_loss, val_accuracy = measure(val_pairs, ref_val)
            row.update(val_loss=f"{val_loss:.4f}", val_accuracy=f"{val_accuracy:.3f}")
            bar.write(f"step {step + 1}: held-out DPO loss {val_loss:.4f}, preferred {val_accuracy:.1%}")
            save(step + 1)
        log.write(**row)
        bar.set_postfix(loss=row["loss"], acc=row["accuracy"])
    save(max_steps)
    # model.pt: the init model's metadata (config, voices, codes' info, speech rates), the tuned weights
    checkpoint = load_checkpoint(args.init_from)
    weights = {k: v.half().cpu() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    keep = ("config", "speaker_map", "codes_info", "speech_per_byte", "text_dropout")
    meta = {k: v for k, v in checkpoint.items() if k in keep}
    atomic_save({**meta, "state_dict": weights, "dpo": {k: str(v) for k, v in vars(args).items()}},
                args.out_dir / "model.pt")
    print(f"wrote {args.out_dir / 'model.pt'}")


def main(argv=None):
    try:  # what the data and checkpoint readers raise: one line, no traceback
        run(argv)
    except (DataError, CheckpointError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
