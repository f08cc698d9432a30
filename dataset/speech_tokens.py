"""
The GPT's training data: utterances of an encoded corpus (dataset/encode_corpus.py) as token sequences in
the layout of model/sequence.py, and a sampler that batches utterances of similar length.

    codes, rows, info = open_codes("dataset/demo/codes")
    speakers = extend_speaker_map({}, {row["speaker"] for row in rows})      # {"kal": 0, "ked": 1, ...}
    train = SpeechTokens(codes, select(rows, "train"), info, speakers, max_seq_len=1024, prompt_prob=0.3)
    sampler = LengthBucketSampler(train, max_tokens=4096, seed=0)            # batches of (index, prompt)
    loader = DataLoader(train, batch_sampler=sampler, collate_fn=collate)    # ids, targets (B, T)

Voice prompts: with probability prompt_prob an example starts with another utterance of the same speaker
(its text and codes, no loss on them), so the model learns to continue a voice it is shown; inference can
then clone a voice it never trained on. A prompted example has no speaker token: the voice comes from the
speaker token or from the prompt, never both, so the model must learn to read the voice off the prompt,
and a voice that has no token at all is laid out exactly as in training. Which examples get which prompt
is decided with the batches, so that batch lengths count the prompt too.

Text dropout: with probability text_dropout an example loses its text (and its prompt's text), leaving
[START] [speaker] [SPEECH_START] speech: the same model then also learns to speak with no text at all,
which classifier-free guidance at inference (model/gpt.py, generate_stream's cfg_scale) sets against the
text-conditioned prediction to push it further toward what the text says.
"""
import itertools
from pathlib import Path

import numpy as np
import torch

from dataset.encode_corpus import load_codes, same_tokens, shard_paths
from dataset.readers import DEMO_DIR
from model.sequence import MAX_SPEAKERS, TEXT_VOCAB_SIZE, build_example, encode_text


class DataError(ValueError):
    """Training data that cannot be used as asked (no such split or speakers, another codec's codes, too
    many voices), explained in one line."""


def open_codes(folder):
    """(codes, manifest rows, info) of an encoded corpus; FileNotFoundError if there is none, DataError if
    it cannot be read."""
    folder = Path(folder)
    files = [folder / "manifest.csv", folder / "info.json"]
    if not ((shard_paths(folder) or (folder / "codes.npy").is_file()) and all(p.is_file() for p in files)):
        demo = folder.resolve() == (DEMO_DIR / "codes").resolve()
        raise FileNotFoundError(f"no encoded corpus in {folder}: make it with python dataset/encode_corpus.py"
                                + ("" if demo else f" --data CORPUS --out_dir {folder}"))
    try:
        return load_codes(folder)
    except ValueError as e:  # a corpus it cannot read, in one line
        raise DataError(str(e)) from None


def select(rows, split=None, speakers=None, limit=None):
    """The rows of `split` (None: all) and of `speakers` (None: all); at most `limit` of them, a fixed
    random subset (seed 0) in corpus order, so that every run trains on the same ones."""
    rows = [r for r in rows
            if (split is None or r["split"] == split) and (not speakers or r["speaker"] in speakers)]
    if limit is not None and len(rows) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(rows), size=limit, replace=False))
        rows = [rows[i] for i in keep]
    return rows


def extend_speaker_map(speaker_map, names):
    """A copy of speaker_map (name -> index) with every new name added after the existing ones, in sorted
    order. Pretraining starts from {} (sorted names get 0, 1, ...); fine-tuning keeps the pretrained
    indices, and a new voice gets a fresh index whose embedding starts untrained."""
    speaker_map = dict(speaker_map)
    for name in sorted(set(names) - set(speaker_map)):
        speaker_map[name] = len(speaker_map)
    if len(speaker_map) > MAX_SPEAKERS:
        raise DataError(f"{len(speaker_map)} speakers, but the model has ids for {MAX_SPEAKERS}")
    return speaker_map


class SpeechTokens(torch.utils.data.Dataset):
    """Utterances (manifest rows) of an encoded corpus as (ids, targets) examples. An item is an index, or
    (index, prompt) with prompt the index of the voice prompt's utterance or None (see draw_prompt), or
    (index, prompt, True) for the example without its texts (see draw).
    Examples longer than max_seq_len are left out; `dropped` counts them."""

    def __init__(self, codes, rows, info, speaker_map, max_seq_len, prompt_prob=0.0, text_dropout=0.0):
        self.codes, self.info, self.speaker_map = codes, info, speaker_map
        self.max_seq_len, self.prompt_prob, self.text_dropout = max_seq_len, prompt_prob, text_dropout
        self.speech_vocab_size = info["codebook_size"]
        self.rows, self.text_ids, self.lengths = [], [], []
        for row in rows:
            text_ids = encode_text(row["text"])
            length = len(text_ids) + row["length"] + 3  # START, the speaker, SPEECH_START
            if length <= max_seq_len:
                self.rows.append(row)
                self.text_ids.append(text_ids)
                self.lengths.append(length)
        self.dropped = len(rows) - len(self.rows)
        self.by_speaker = {}  # speaker name -> indices of its utterances here: the prompt candidates
        for index, row in enumerate(self.rows):
            self.by_speaker.setdefault(row["speaker"], []).append(index)

    def __len__(self):
        return len(self.rows)

    def length(self, index, prompt=None, no_text=False):
        """Tokens in example `index` with voice prompt `prompt` (an index or None), without its texts if
        no_text."""
        length = self.lengths[index] - (len(self.text_ids[index]) if no_text else 0)
        if prompt is None:
            return length
        return length - 1 + (0 if no_text else len(self.text_ids[prompt])) + self.rows[prompt]["length"]

    def draw(self, index, rng):
        """The item for `index` in a batch: (index, prompt), or (index, prompt, True) to leave its texts
        out. Text dropout draws nothing from rng when it is off, so it leaves earlier runs' batches as
        they were."""
        prompt = self.draw_prompt(index, rng)
        if self.text_dropout and rng.random() < self.text_dropout:
            return index, prompt, True
        return index, prompt

    def draw_prompt(self, index, rng):
        """With probability prompt_prob, another utterance of the same speaker as voice prompt for
        `index` (None when it has no other, or when the two would not fit in max_seq_len together)."""
        same = self.by_speaker[self.rows[index]["speaker"]]
        if len(same) < 2 or rng.random() >= self.prompt_prob:
            return None
        # Uniform over the others: draw among len - 1 places, and let the last one stand in for `index`.
        choice = same[rng.integers(len(same) - 1)]
        prompt = same[-1] if choice == index else choice
        return prompt if self.length(index, prompt) <= self.max_seq_len else None

    def speech_per_byte(self, min_bytes=20):
        """Speech codes per text byte of the utterances here with at least min_bytes of text (all of them
        if none has), (N,): how fast the voices speak. Shorter ones would say more about the silence
        around the words than about the words: Festival's "Nope." is 1.1 s, 11 codes a byte at 50 codes/s,
        against 3 to 5 in sentences. What infer.py's length bound and train_pretrain.py's
        text_position_step (their median) are made from."""
        rates = [(row["length"] / max(1, len(text)), len(text) >= min_bytes)
                 for row, text in zip(self.rows, self.text_ids)]
        return np.array([rate for rate, long in rates if long] or [rate for rate, _ in rates])

    def speech_codes(self, index):
        row = self.rows[index]
        return self.codes[row["offset"]: row["offset"] + row["length"]].astype(np.int64).tolist()

    def __getitem__(self, item):  # -> ids (T,), targets (T,)
        item = item if isinstance(item, tuple) else (item, None)
        index, prompt, no_text = item[0], item[1], len(item) > 2 and item[2]
        prompt_text, prompt_codes = (None, None) if prompt is None else (self.text_ids[prompt],
                                                                           self.speech_codes(prompt))
        text = self.text_ids[index]
        if no_text:
            text, prompt_text = [], None
        speaker = self.speaker_map[self.rows[index]["speaker"]] if prompt is None else None
        return build_example(text, self.speech_codes(index), TEXT_VOCAB_SIZE, speaker=speaker,
                             prompt_text_ids=prompt_text, prompt_codes=prompt_codes,
                             speech_vocab_size=self.speech_vocab_size)

    def prefix(self, index):
        """[START] [speaker] text [SPEECH_START] of utterance `index`, shape (1, T0): what generation
        starts from to speak its sentence in its voice."""
        ids, _ = build_example(self.text_ids[index], [], TEXT_VOCAB_SIZE,
                               speaker=self.speaker_map[self.rows[index]["speaker"]],
                               speech_vocab_size=self.speech_vocab_size)
        return ids[None]


class LengthBucketSampler:
    """Batches of examples of similar length, so that little of a batch is padding, in random order.

    Each epoch: shuffle all examples (and draw their voice prompts), cut the shuffled list into pools of
    pool_size, sort each pool by length and cut it into batches, then shuffle the batches. Sorting within
    pools rather than globally keeps batch contents random from epoch to epoch. A batch holds at most
    batch_size examples and at most max_tokens tokens once padded to its longest (either may be None);
    an example longer than max_tokens gets a batch of its own.

    Everything follows from (seed, epoch), so every process of a DDP job computes the same batches and
    takes its own share: batches rank, rank + world_size, ... Iterating yields batches forever, epoch
    after epoch, starting after the first `start` (how a resumed run continues where it stopped).
    """

    def __init__(self, dataset, max_tokens=None, batch_size=None, seed=0, rank=0, world_size=1,
                 pool_size=1024, start=0):
        self.dataset, self.max_tokens, self.batch_size = dataset, max_tokens, batch_size
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.pool_size, self.start = pool_size, start

    def fits(self, n_examples, longest):
        return ((self.max_tokens is None or n_examples * longest <= self.max_tokens)
                and (self.batch_size is None or n_examples <= self.batch_size))

    def epoch_batches(self, epoch):
        """This process's batches of `epoch`: lists of items (index, prompt[, no_text]) (SpeechTokens.draw)."""
        rng = np.random.default_rng([self.seed, epoch])
        items = [self.dataset.draw(int(i), rng) for i in rng.permutation(len(self.dataset))]
        batches = []
        for pool_start in range(0, len(items), self.pool_size):
            pool = sorted(items[pool_start: pool_start + self.pool_size],
                          key=lambda item: self.dataset.length(*item))
            batch = []
            for item in pool:  # ascending lengths: the newcomer is always the batch's longest
                if batch and not self.fits(len(batch) + 1, self.dataset.length(*item)):
                    batches.append(batch)
                    batch = []
                batch.append(item)
            batches.append(batch)
        batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches[self.rank::self.world_size]

    def __iter__(self):
        skip = self.start
        for epoch in itertools.count():
            batches = self.epoch_batches(epoch)
            if not batches:
                raise ValueError(f"{len(self.dataset)} examples make no batch for process {self.rank} "
                                 f"of {self.world_size}")
            yield from batches[skip:]
            skip = max(0, skip - len(batches))


# -----------------------------------------------------------------------------------------------------
# A corpus's training and validation sets, as the training scripts select them


def check_same_codec(expected, found, what):
    """Codes of different codecs mean different sounds: never train a model on another codec's codes."""
    if not same_tokens(expected, found):
        expected, found = str(expected.get("codec_sha256")), str(found.get("codec_sha256"))
        raise DataError(f"{what} was trained on codes of another codec "
                         f"(codec sha256 {expected[:12]}..., the data's {found[:12]}...)")


def load_data(args, max_seq_len, speaker_map=None, codes_info=None):
    """(train set, validation set) of args.data, selected by args.split, args.speakers and
    args.max_utterances. Validation: the 'val' split of the same speakers, or, for a corpus without one,
    training utterances held out. speaker_map: the map to extend (fine-tuning), or None to start one
    from the speakers here. codes_info: the info.json of the codes a model was trained on, if any."""
    codes, rows, info = open_codes(args.data)
    if codes_info is not None:
        check_same_codec(codes_info, info, "the model")
    split = None if args.split == "all" else args.split
    train_rows = select(rows, split, args.speakers, args.max_utterances)
    if not train_rows:
        raise DataError(f"{args.data}: no utterances of split {args.split!r} and speakers "
                         f"{args.speakers or 'any'} (speakers here: {sorted({r['speaker'] for r in rows})})")
    val_rows = select(rows, "val", args.speakers, args.val_utterances)
    if not val_rows or split in ("val", None):
        val_rows = select(train_rows, limit=min(args.val_utterances, max(1, len(train_rows) // 20)))
        held_out = {(r["speaker"], r["id"]) for r in val_rows}  # ids may repeat across speakers
        train_rows = [r for r in train_rows if (r["speaker"], r["id"]) not in held_out] or train_rows
    speaker_map = extend_speaker_map(speaker_map or {}, {r["speaker"] for r in train_rows + val_rows})
    train_set = SpeechTokens(codes, train_rows, info, speaker_map, max_seq_len, args.prompt_prob,
                             args.text_dropout)
    val_set = SpeechTokens(codes, val_rows, info, speaker_map, max_seq_len)
    if not len(train_set) or not len(val_set):
        raise DataError(f"every {'training' if not len(train_set) else 'validation'} utterance is "
                         f"longer than max_seq_len, {max_seq_len} tokens")
    return train_set, val_set
