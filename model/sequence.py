"""
How one training example is laid out as a single token sequence, and which positions carry a loss.

    [START] [speaker?] text [SPEECH_START] speech                  (inputs)
       -        -       -    speech[0]     speech[1:] END          (targets)

    [START] prompt_text text [SPEECH_START] prompt_speech[:-1] prompt_speech[-1] speech
       -         -       -         -                -                speech[0]     speech[1:] END

With a voice prompt (second layout: inputs, then targets) the last prompt code predicts speech[0]: the
target of a position is always the token after it, and only the utterance's own speech and END are
trained.

Everything lives in one id space so a sequence is one LongTensor (see model/gpt.py, GPT.embed):
ids in [0, text_vocab_size) are text-side tokens (256 UTF-8 byte values, then START, SPEECH_START,
PAD, then one id per speaker); speech code c is id text_vocab_size + c.

Targets are the *next* token: the position holding token t is trained to predict t + 1, and only where
t + 1 is speech the model has to produce. Text, speaker and the voice prompt are given, never predicted
(-100, ignored by the loss). END (code index speech_vocab_size) is only ever a target, never an input:
generation stops when the model predicts it, so it never has to be fed back.
"""
import torch
import torch.nn.functional as F

from tokenizer.text import normalize

BYTE_VALUES = 256
START, SPEECH_START, PAD = 256, 257, 258
FIRST_SPEAKER = 259
# 1,024 ids cover the demo corpus, LJSpeech, and either of LibriTTS's clean training subsets (247 and 904
# speakers; the two together have 1,151, all of LibriTTS about 2,500: past 1,024, training stops with a
# one-line error, so train on a subset of the voices). Other voices come in through the speech prompt.
MAX_SPEAKERS = 1024
TEXT_VOCAB_SIZE = FIRST_SPEAKER + MAX_SPEAKERS
SPEECH_VOCAB_SIZE = 1024  # the codec's codebook size (tokenizer/codec.py, CodecConfig.codebook_size)
IGNORE = -100  # F.cross_entropy's default ignore_index


def speaker_id(index):
    """The text-side id of speaker number `index` (0, 1, ...)."""
    if not 0 <= index < MAX_SPEAKERS:
        raise ValueError(f"speaker index {index} outside [0, {MAX_SPEAKERS})")
    return FIRST_SPEAKER + index


def encode_text(text):
    """Any Unicode string -> the UTF-8 bytes of its normalised form, as a list of ids in [0, 256)."""
    return spoken_ids(normalize(text))


def spoken_ids(spoken):
    """Text that is normalised already -> its UTF-8 bytes as ids: encode_text without normalising again."""
    return list(spoken.encode("utf-8"))


def build_example(text_ids, speech_codes, text_vocab_size, speaker=None, prompt_text_ids=None,
                  prompt_codes=None, speech_vocab_size=SPEECH_VOCAB_SIZE):
    """One utterance -> (ids (T,), targets (T,)) LongTensors in the layout of the module docstring.

    speaker: a speaker index for speaker_id, or None. prompt_text_ids / prompt_codes: an optional voice
    prompt (its transcript and codes), given to the model but never trained on. Targets for speech are
    raw codes in [0, speech_vocab_size); END is speech_vocab_size.
    """
    prompt_text_ids, prompt_codes = list(prompt_text_ids or []), list(prompt_codes or [])
    speech_codes = list(speech_codes)
    for code in prompt_codes + speech_codes:
        if not 0 <= code < speech_vocab_size:
            raise ValueError(f"speech code {code} outside [0, {speech_vocab_size})")
    speaker_ids = [] if speaker is None else [speaker_id(speaker)]
    given = [START] + speaker_ids + prompt_text_ids + list(text_ids) + [SPEECH_START]
    ids = given + [text_vocab_size + code for code in prompt_codes + speech_codes]
    # The last given position (SPEECH_START, or the last prompt code) predicts the first code to learn;
    # every position before it predicts something given, so it has no target.
    targets = [IGNORE] * (len(given) + len(prompt_codes) - 1) + speech_codes + [speech_vocab_size]
    return torch.tensor(ids, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


def without_text(ids):
    """ids (T,) or (1, T) of a prefix with every text byte (its own and a voice prompt's) taken out: the
    layout of an example that lost its text to text dropout (dataset/speech_tokens.py), which is what
    classifier-free guidance sets against the prefix that has it (model/gpt.py, generate_stream). One
    prefix at a time: rows of a batch hold different numbers of bytes, so no (B, T) result would fit."""
    if ids.dim() > 2 or (ids.dim() == 2 and len(ids) != 1):
        raise ValueError(f"without_text takes one prefix, (T,) or (1, T), not {tuple(ids.shape)}")
    return ids[..., ids.reshape(-1) >= BYTE_VALUES]


def collate(examples, pad_id=PAD):
    """[(ids (T_i,), targets (T_i,)), ...] -> right-padded ids (B, T) and targets (B, T).

    Padding goes on the right, after every real token, so causal attention already keeps real tokens
    from seeing it; its targets are IGNORE so it adds nothing to the loss.
    """
    longest = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), longest), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), longest), IGNORE, dtype=torch.long)
    for row, (example_ids, example_targets) in enumerate(examples):
        ids[row, :len(example_ids)] = example_ids
        targets[row, :len(example_targets)] = example_targets
    return ids, targets


def left_pad(rows):
    """Prefixes to generate from, 1-D id tensors of different lengths -> ids (R, T0) with the shorter rows
    padded on the left, and key_mask (R, T0), False at the pads (None when no row is padded). Unlike
    collate's training batches, generation reads each row's *last* position, so the rows end together."""
    T0 = max(len(row) for row in rows)
    ids = torch.stack([F.pad(row, (T0 - len(row), 0), value=PAD) for row in rows])  # (R, T0)
    starts = torch.tensor([T0 - len(row) for row in rows], device=ids.device)  # where real tokens begin
    return ids, (torch.arange(T0, device=ids.device) >= starts[:, None] if starts.any() else None)


def padded_mask(key_mask, T):
    """The attention mask (R, 1, T, T_all) for the last T of T_all tokens of left-padded rows (key_mask
    (R, T_all), False at pads), or None when nothing is padded. No real token sees a pad. A pad sees what
    precedes it, so that no row of the mask is empty (an empty row makes NaNs); what it computes is never
    seen."""
    if key_mask is None:
        return None
    past = key_mask.shape[1] - T
    if T == 1:  # one new (real) token: every key but the pads
        return key_mask[:, None, None, :]  # (R, 1, 1, T_all)
    causal = torch.ones(T, past + T, dtype=torch.bool, device=key_mask.device).tril(diagonal=past)
    return causal & (key_mask[:, None, None, :] | ~key_mask[:, None, past:, None])  # (R, 1, T, T_all)
