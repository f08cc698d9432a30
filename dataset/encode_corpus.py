"""
Encode a speech corpus to codec tokens once, so GPT training never touches audio.

    python dataset/encode_corpus.py                              # demo corpus -> dataset/demo/codes/
    python dataset/encode_corpus.py --data /path/LJSpeech-1.1 --out_dir out/codes_lj --codec out/codec/codec.pt

Writes into --out_dir:
- codes-000.npy, codes-001.npy, ...
                every utterance's tokens, concatenated, uint16 (codebooks up to 65,536 entries); a file
                is written with at most 8 M tokens (16 MB)
- manifest.csv  `id|speaker|split|offset|length|text`: utterance i is codes[offset: offset + length] of
                the codes files joined
- info.json     the codec that made them (file, sha256, rate, codebook size), so codes from different
                codecs are never mixed

Resumable: utterances are encoded in parts of --part_size, each saved atomically under
out_dir/parts/ with the ids of its utterances (a rerun skips the finished parts that hold the same
utterances); the final files are assembled from the parts, then the parts are removed. Running it
again on a finished folder made by the same codec does nothing (if some files could not be read, it
tries those again and writes the manifest again). After the corpus has grown it encodes
only the utterances the folder does not hold yet, appended after the ones it holds, in new codes files:
the files already there are left as they are, so a grown corpus in git adds files instead of rewriting
them. Codes whose audio is not here (a fresh clone of the demo has only the committed part of the
audio; `make_demo.py --skip_encoded` makes audio for new sentences only) are kept unless --drop_missing
says otherwise.
"""
import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

import numpy as np
from tqdm import tqdm

from dataset.audio import AudioError, keep_freed_memory, load_audio
from dataset.files import write_atomic
from dataset.readers import DEMO_DIR, CorpusError, Utterance, read_corpus
from tokenizer.codec import DEFAULT_CHECKPOINT, Codec

MANIFEST_HEADER = "id|speaker|split|offset|length|text"
SHARD_CODES = 8_000_000  # tokens per codes file at most (16 MB): no committed file nears 25 MB


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_tokens(a, b):
    """Whether two codes descriptions (an info.json, a GPT's codes_info) come from codecs that make the
    same codes: by the codecs' tokens fingerprints when both have one (a codec whose decoder alone was
    fine-tuned keeps it), else by the codec files' sha256."""
    if a.get("tokens_sha256") and b.get("tokens_sha256"):
        return a["tokens_sha256"] == b["tokens_sha256"]
    return a.get("codec_sha256") == b.get("codec_sha256")


def codec_fits(codec, codec_path, info):
    """Whether a loaded codec makes (and so decodes) the codes `info` describes."""
    if info.get("tokens_sha256"):
        return codec.tokens_sha256() == info["tokens_sha256"]
    return file_sha256(codec_path) == info.get("codec_sha256")


def load_codec_of(info, path=None, device="cpu"):
    """The codec that made the codes `info` describes (an info.json, a GPT's codes_info): the file at
    `path`, or else the one info names (a path inside the repository is relative to it). A ValueError
    says why when it is missing, unreadable, or not the one that made the codes (it would decode noise)."""
    path = Path(path or info.get("codec", ""))
    if not path.is_absolute() and not path.is_file():
        path = Path(__file__).resolve().parents[1] / path
    if not path.is_file():
        raise ValueError(f"no codec at {path}, the one the codes were made with ({info.get('codec', '?')})")
    try:
        codec = Codec.load(path, device)
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    if info.get("codebook_size") not in (None, codec.codebook_size):
        raise ValueError(f"the codes are of a {info['codebook_size']}-entry codebook and {path} has "
                         f"{codec.codebook_size}: not the codec they were made with")
    if not codec_fits(codec, path, info):
        raise ValueError(f"{path} is not the codec the codes were made with: they would decode to noise")
    return codec, path


def shard_paths(folder):
    """The codes files of an encoded corpus, in order (codes-000.npy, codes-001.npy, ...)."""
    return sorted(p for p in Path(folder).glob("codes-*.npy") if re.fullmatch(r"codes-\d{3}\.npy", p.name))


def load_codes(folder):
    """(codes uint16 array, manifest rows as dicts, info dict) of an encoded corpus."""
    folder = Path(folder)
    if not (folder / "manifest.csv").is_file():
        raise FileNotFoundError(f"{folder}: no manifest.csv (encode a corpus with dataset/encode_corpus.py)")
    shards = [np.load(path, mmap_mode="r") for path in shard_paths(folder)]
    # One file stays memory-mapped; several are joined in memory (2 bytes a token: 100 h of speech, 36 MB).
    codes = shards[0] if len(shards) == 1 else np.concatenate(shards or [np.zeros(0, np.uint16)])
    lines = (folder / "manifest.csv").read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != MANIFEST_HEADER:
        raise ValueError(f"{folder / 'manifest.csv'}: expected the header {MANIFEST_HEADER}")
    rows = []
    for line in lines[1:]:
        id, speaker, split, offset, length, text = line.split("|", 5)
        rows.append(dict(id=id, speaker=speaker, split=split, offset=int(offset), length=int(length), text=text))
    if rows and len(codes) < max(row["offset"] + row["length"] for row in rows):
        fix = ("rename codes.npy to codes-000.npy, the name a single codes file has now"
               if (folder / "codes.npy").is_file() and not shard_paths(folder)
               else "delete manifest.csv and run dataset/encode_corpus.py to encode the corpus afresh")
        raise ValueError(f"{folder}: the codes files end before manifest.csv does: {fix}")
    info = json.loads((folder / "info.json").read_text())
    return codes, rows, info


def write_codes(out_dir, codes, keep):
    """Store codes (uint16) in files of at most SHARD_CODES, where the first `keep` of them are stored
    already: the files that hold exactly those stay as they are and only the rest is written, in new
    files. Returns the codes files no longer needed, to delete once the manifest is written."""
    old = shard_paths(out_dir)
    kept, stored = [], 0
    for path in old:
        n = len(np.load(path, mmap_mode="r"))
        if stored + n > keep:
            break
        kept.append(path)
        stored += n
    if stored != keep:  # the files do not end where the kept codes do: write everything
        kept, stored = [], 0
    if len(kept) < len(old):
        # Files the manifest may point into are about to change. Remove it first, so that a crash before
        # the new one is written leaves no manifest that describes other codes; the next run then starts
        # afresh from the audio here (codes of utterances without audio here are gone with it: the demo's
        # are in the repository, `git checkout dataset/demo/codes` brings them back).
        (out_dir / "manifest.csv").unlink(missing_ok=True)
    new = []
    for start in range(stored, len(codes), SHARD_CODES):
        path = out_dir / f"codes-{len(kept) + len(new):03d}.npy"
        write_atomic(path, lambda p: np.save(p, codes[start: start + SHARD_CODES]))
        new.append(path)
    return [path for path in old if path not in kept + new]


def utterance_key(u):
    """What tells utterances apart: speaker and id (a folder corpus may hold spk1/001.wav and spk2/001.wav).
    u: an Utterance or a manifest row."""
    speaker, id = (u["speaker"], u["id"]) if isinstance(u, dict) else (u.speaker, u.id)
    return f"{speaker}/{id}"


def part_ids(path):
    """The utterances (by utterance_key) a finished part holds (None: no part there, or one without).
    The order of the utterances can differ between runs (a grown corpus keeps the stored order; a folder
    without a manifest takes the corpus's), so a part is reused only for the very utterances it was made
    for."""
    if not path.is_file():
        return None
    with np.load(path) as part:
        return part["ids"].tolist() if "ids" in part else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo", help="'demo' or a corpus folder any reader knows")
    parser.add_argument("--codec", type=Path, default=DEFAULT_CHECKPOINT, help="codec checkpoint")
    parser.add_argument("--out_dir", type=Path, default=None, help="default: dataset/demo/codes for the demo")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--part_size", type=int, default=256, help="utterances per resumable part")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N utterances of every speaker and split (quick trials)")
    parser.add_argument("--drop_missing", action="store_true",
                        help="let the codes of utterances whose audio is gone drop out of out_dir")
    args = parser.parse_args()
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with

    out_dir = args.out_dir or (DEMO_DIR / "codes" if args.data == "demo" else None)
    if out_dir is None:
        sys.exit("error: give --out_dir for a corpus other than the demo")
    try:
        corpus = read_corpus(args.data)
        codec = Codec.load(args.codec, device=args.device)
    except (CorpusError, FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    root = Path(__file__).resolve().parents[1]
    codec_path = args.codec.resolve()
    # A path inside the repository is stored relative to it, so the folder stays valid in any clone.
    codec_name = str(codec_path.relative_to(root)) if codec_path.is_relative_to(root) else str(codec_path)
    if args.limit is not None:
        seen, kept = Counter(), []
        for u in corpus.utterances:
            seen[u.speaker, u.split] += 1
            if seen[u.speaker, u.split] <= args.limit:
                kept.append(u)
        corpus.utterances = kept
    info = {"codec": codec_name, "codec_sha256": file_sha256(args.codec), "tokens_sha256": codec.tokens_sha256(),
            "sample_rate": codec.sample_rate,
            "tokens_per_second": codec.tokens_per_second, "codebook_size": codec.codebook_size,
            "limit": args.limit}
    if codec.codebook_size > 65536:
        sys.exit("error: uint16 codes need a codebook of at most 65,536 entries")
    summary = corpus.summary()  # of the audio here, before stored codes without audio join the list below
    parts_dir = out_dir / "parts"
    info_path = out_dir / "info.json"
    stored = json.loads(info_path.read_text()) if info_path.is_file() else None
    encoded = {}  # id -> codes already in out_dir, made by this codec
    keep = 0  # how many codes at the start of out_dir's codes files stay as they are
    if stored is not None and not (same_tokens(stored, info) and stored.get("limit") == args.limit):
        # Another codec (or another selection) made what is here: its codes mean different things, or
        # its parts hold other utterances, so start afresh.
        for stale in list(parts_dir.glob("*.npz")) + shard_paths(out_dir) + [out_dir / "manifest.csv"]:
            stale.unlink(missing_ok=True)
    elif (out_dir / "manifest.csv").is_file():
        try:
            codes_done, rows, _ = load_codes(out_dir)
        except ValueError as e:
            sys.exit(f"error: {e}")
        # An utterance whose text changed since it was encoded (an edited sentences.txt: make_demo.py
        # speaks it anew) is encoded again, like a new one.
        texts = {utterance_key(u): u.text for u in corpus.utterances}
        changed = [row for row in rows if texts.get(utterance_key(row), row["text"]) != row["text"]]
        if changed:
            print(f"{len(changed)} utterances have another text than when they were encoded: encoding them again")
            changed = {utterance_key(row) for row in changed}
            rows = [row for row in rows if utterance_key(row) not in changed]
        here, stored_ids = {utterance_key(u) for u in corpus.utterances}, {utterance_key(row) for row in rows}
        absent = [row for row in rows if utterance_key(row) not in here]
        if here <= stored_ids and not (absent and args.drop_missing):  # every utterance here is encoded
            # Utterances whose audio is not here (a fresh clone has only the committed part of the demo
            # audio) keep their codes: the folder is left as it is.
            print(f"{out_dir}: already encoded with this codec ({len(rows)} utterances"
                  + (f", {len(absent)} of them without audio here)" if absent else ")"))
            if stored != info:  # the same tokens from another codec file (a new decoder): name that file
                write_atomic(info_path, lambda p: p.write_text(json.dumps(info, indent=1) + "\n"))
            return
        # The corpus grew (or codes are to be dropped): the same codec made these codes, so keep them
        # instead of encoding those utterances again (growing the demo corpus by a batch costs only the new
        # batch), and keep those whose audio is not here as well, unless told to drop them. Stored
        # utterances keep their place; new ones follow in corpus order.
        stored_rows = rows
        if absent and args.drop_missing:
            print(f"dropping the codes of {len(absent)} utterances whose audio is not here")
            rows = [row for row in rows if utterance_key(row) in here]
        elif absent:
            print(f"keeping the codes of {len(absent)} utterances whose audio is not here")
        current = {utterance_key(u): u for u in corpus.utterances}
        encoded = {utterance_key(row): np.array(codes_done[row["offset"]: row["offset"] + row["length"]])
                   for row in rows}
        for row in stored_rows:  # the leading stored utterances that stay, and stay where they are
            if utterance_key(row) not in encoded or row["offset"] != keep:
                break
            keep += row["length"]

        def without_audio(row):  # stands in for a kept utterance whose audio is not here
            return Utterance(audio_path=None, text=row["text"], speaker=row["speaker"], duration=0.0,
                             id=row["id"], split=row["split"])

        kept = [current.get(utterance_key(row)) or without_audio(row) for row in rows]
        corpus.utterances = kept + [u for u in corpus.utterances if utterance_key(u) not in encoded]
    parts_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(info_path, lambda p: p.write_text(json.dumps(info, indent=1) + "\n"))
    print(summary)

    utterances = corpus.utterances
    n_parts = (len(utterances) + args.part_size - 1) // args.part_size
    skipped = []
    with tqdm(total=len(utterances), desc="encoding", unit="utt") as progress:
        for part in range(n_parts):
            chunk = utterances[part * args.part_size: (part + 1) * args.part_size]
            part_path = parts_dir / f"part{part:05d}.npz"
            ids = [utterance_key(u) for u in chunk]
            if part_ids(part_path) == ids:  # finished by an earlier run, for the same utterances
                progress.update(len(chunk))
                continue
            codes, lengths = [], []
            for u in chunk:
                if utterance_key(u) in encoded:
                    tokens = encoded[utterance_key(u)]
                else:
                    try:
                        tokens = codec.encode(load_audio(u.audio_path, codec.sample_rate)).cpu().numpy()
                    except AudioError as e:
                        skipped.append(str(e))
                        tokens = np.zeros(0, dtype=np.int64)  # length 0: left out of the manifest
                codes.append(tokens.astype(np.uint16))
                lengths.append(len(tokens))
                progress.update(1)
            write_atomic(part_path, lambda p: np.savez(p, codes=np.concatenate(codes),
                                                       lengths=np.array(lengths), ids=np.array(ids)))

    # Assemble the final files from the parts, in corpus order.
    all_codes, lines, offset = [], [MANIFEST_HEADER], 0
    for part in range(n_parts):
        with np.load(parts_dir / f"part{part:05d}.npz") as stored:
            part_codes, lengths = stored["codes"], stored["lengths"]
        chunk = utterances[part * args.part_size: (part + 1) * args.part_size]
        all_codes.append(part_codes)
        for u, length in zip(chunk, lengths):
            if length > 0:
                lines.append(f"{u.id}|{u.speaker}|{u.split}|{offset}|{length}|{u.text}")
            offset += int(length)
    unused = write_codes(out_dir, np.concatenate(all_codes).astype(np.uint16), keep)
    write_atomic(out_dir / "manifest.csv", lambda p: p.write_text("\n".join(lines) + "\n", encoding="utf-8"))
    for path in unused:
        path.unlink()
    for part_path in parts_dir.glob("*.npz"):
        part_path.unlink()
    parts_dir.rmdir()
    hours = offset / codec.tokens_per_second / 3600
    print(f"{len(lines) - 1} utterances, {offset} tokens ({hours:.2f} h) -> {out_dir}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable files, e.g. {skipped[0]}")


if __name__ == "__main__":
    main()
