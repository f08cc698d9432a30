"""
The codes a GPT would speak for each utterance of an encoded corpus, one position at a time, each given the
utterance's true codes before it ("teacher-forced" codes), stored as an encoded corpus of their own.

    python lab/teacher_forced_codes.py --data out/corpus --out_dir out/tf_codes
    python train_tokenizer.py --init_from checkpoints/codec.pt --decoder_only --data out/corpus \
        --codes out/tf_codes --gan_start 1000000000 --lr 8e-5 --out_dir out/codec_tf

Why: the codec's decoder learned to turn the encoder's codes into speech, but at inference it decodes
what the GPT sampled, and the two differ: at any position the GPT may pick a code near the right one
instead of the right one. Trained on these codes against the true audio, the decoder learns to map what
the GPT says onto the speech it meant, as Tacotron 2's WaveNet learned from "ground-truth-aligned"
spectrograms the acoustic model predicted. Teacher forcing keeps every code aligned with the samples it
stands for (code j: samples j x hop to (j + 1) x hop), which free-running generation would not. On the
demo corpus an hour of it did not measurably help the shipped TTS and made resynthesis worse
(lab/EXPERIMENTS.md, "A decoder for the codes the GPT says"); the script stays for that experiment and the next.

Each position is sampled as infer.py samples (temperature, top-k, top-p, classifier-free guidance with the
model's default scale), END excepted: the codes must keep their utterance's length; and without
repetition-aware sampling, which watches the codes sampled before, here replaced by the true ones. --clean_fraction of
the utterances keep their true codes, so the decoder still hears the encoder's codes too. Writes
manifest.csv, codes-000.npy (uint16) and info.json (the source's, plus how these codes were made) into
--out_dir, as dataset/encode_corpus.py does; running it again rewrites them from the same seed.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder

import numpy as np
import torch
from tqdm import tqdm

from dataset.encode_corpus import MANIFEST_HEADER, load_codes
from dataset.files import write_atomic
from dataset.readers import CorpusError, read_corpus
from dataset.speech_tokens import DataError, SpeechTokens
from model.checkpoint import CheckpointError
from model.sampling import sample_next
from model.sequence import SPEECH_START, collate

DEFAULT_GPT = ROOT / "checkpoints" / "gpt.pt"


def first_per_speaker(rows, n):
    """The first n rows of each speaker, in corpus order: the sentences make_demo.py speaks first."""
    taken, kept = {}, []
    for row in rows:
        taken[row["speaker"]] = taken.get(row["speaker"], 0) + 1
        if taken[row["speaker"]] <= n:
            kept.append(row)
    return kept


def speech_logits(model, examples, cfg_scale):
    """Logits (n_codes, V) at the positions that predict each speech code of every example, guided as in
    generate_stream: unconditioned + cfg_scale x (conditioned - unconditioned). examples: [(ids with
    text, ids without text)], each (T,) of [START] [speaker] text [SPEECH_START] codes."""
    rows = [ids for pair in examples for ids in (pair if cfg_scale != 1.0 else pair[:1])]
    logits, _ = model(collate([(ids, ids) for ids in rows])[0])  # (B, T, V); right padding changes nothing
    out, per_example = [], len(rows) // len(examples)
    for i, (ids, _) in enumerate(examples):
        n_codes = len(ids) - int((ids == SPEECH_START).nonzero()[0]) - 1
        picked = []
        for row in range(i * per_example, (i + 1) * per_example):
            start = int((rows[row] == SPEECH_START).nonzero()[0])  # predicts the first code
            picked.append(logits[row, start: start + n_codes].float())  # (n_codes, V)
        out.append(picked[0] if len(picked) == 1 else picked[1] + cfg_scale * (picked[0] - picked[1]))
    return out


def run():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_GPT, help="the GPT (default: the shipped one)")
    parser.add_argument("--codes", type=Path, default=ROOT / "dataset" / "demo" / "codes",
                        help="the encoded corpus whose true codes the GPT reads")
    parser.add_argument("--data", default=None,
                        help="only the utterances of this corpus folder (e.g. one make_demo.py wrote with "
                             "a few sentences): those whose audio a decoder can train on")
    parser.add_argument("--split", default="train", help="the split to cover (never test or val to train on)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N utterances of each speaker")
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--top_k", type=int, default=50)
    parser.add_argument("--top_p", type=float, default=0.9)
    parser.add_argument("--cfg_scale", type=float, default=None, help="default: the model's (infer.py's)")
    parser.add_argument("--clean_fraction", type=float, default=0.0,
                        help="share of the utterances that keep their true codes")
    parser.add_argument("--batch_size", type=int, default=16, help="utterances per forward pass")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not 0 <= args.clean_fraction <= 1:
        sys.exit("error: --clean_fraction is a share, from 0 to 1")
    if args.batch_size < 1:
        sys.exit("error: --batch_size must be at least 1")
    if args.out_dir.resolve() == args.codes.resolve():
        sys.exit("error: --out_dir must not be the --codes folder: the true codes would be overwritten")

    from infer import GUIDED_CFG_SCALE
    from dataset.speech_tokens import check_same_codec
    from model.checkpoint import load_gpt
    from model.sampling import check_sampling

    try:
        check_sampling(args.temperature, args.top_k, args.top_p, args.cfg_scale, seed=args.seed)
    except ValueError as e:
        sys.exit(f"error: {e}")

    model, saved = load_gpt(args.checkpoint)
    model.eval().to(args.device)
    try:
        codes, rows, info = load_codes(args.codes)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    check_same_codec(saved["codes_info"], info, args.checkpoint)
    rows = [r for r in rows if r["split"] == args.split and r["speaker"] in saved["speaker_map"]]
    if args.data is not None:
        try:
            have = {(u.speaker, u.id) for u in read_corpus(args.data)}
        except CorpusError as e:
            sys.exit(f"error: {e}")
        rows = [r for r in rows if (r["speaker"], r["id"]) in have]
    if args.limit is not None:
        rows = first_per_speaker(rows, args.limit)
    data = SpeechTokens(codes, rows, info, saved["speaker_map"], model.cfg.max_seq_len)
    if not len(data):
        sys.exit(f"error: no {args.split} utterance of {args.codes} to speak" +
                 (f" with audio in {args.data}" if args.data else ""))
    cfg_scale = args.cfg_scale if args.cfg_scale is not None else (
        GUIDED_CFG_SCALE if saved.get("text_dropout") else 1.0)

    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    keep_true = rng.random(len(data)) < args.clean_fraction
    out_codes, same, total = [], 0, 0
    with torch.inference_mode():
        for first in tqdm(range(0, len(data), args.batch_size), desc="teacher-forced codes"):
            batch = range(first, min(first + args.batch_size, len(data)))
            examples = [(data[i][0], data[(i, None, True)][0]) for i in batch]
            for i, logits in zip(batch, speech_logits(model, [(a.to(args.device), b.to(args.device))
                                                              for a, b in examples], cfg_scale)):
                true = data.speech_codes(i)
                if keep_true[i]:
                    out_codes.append(np.array(true, np.uint16))
                    continue
                logits[:, model.end_token] = float("-inf")  # the length stays the utterance's
                spoken = sample_next(logits.cpu(), args.temperature, args.top_k, args.top_p, generator).tolist()
                same += sum(a == b for a, b in zip(spoken, true))
                total += len(true)
                out_codes.append(np.array(spoken, np.uint16))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    # The manifest goes first and comes back last: an interrupted rewrite leaves no manifest describing
    # other codes (reading the folder then fails in one line, until this runs again).
    (args.out_dir / "manifest.csv").unlink(missing_ok=True)
    lines, offset = [MANIFEST_HEADER], 0
    for row, c in zip(data.rows, out_codes):
        lines.append(f"{row['id']}|{row['speaker']}|{row['split']}|{offset}|{len(c)}|{row['text']}")
        offset += len(c)
    write_atomic(args.out_dir / "codes-000.npy", lambda p: np.save(p, np.concatenate(out_codes)))
    made = dict(info, teacher_forced=dict(checkpoint=str(args.checkpoint), temperature=args.temperature,
                                          top_k=args.top_k, top_p=args.top_p, cfg_scale=cfg_scale,
                                          clean_fraction=args.clean_fraction, seed=args.seed,
                                          same_as_true=same / max(1, total)))
    write_atomic(args.out_dir / "info.json", lambda p: p.write_text(json.dumps(made, indent=1)))
    write_atomic(args.out_dir / "manifest.csv", lambda p: p.write_text("\n".join(lines) + "\n", encoding="utf-8"))
    print(f"{len(out_codes)} utterances ({int(keep_true.sum())} with their true codes), {offset:,} codes "
          f"into {args.out_dir}; sampled codes equal to the true one: {same / max(1, total):.1%}")


def main():
    try:  # what the data and checkpoint readers raise: one line, no traceback
        run()
    except (DataError, CheckpointError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
