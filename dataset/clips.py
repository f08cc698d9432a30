"""
The codec's training data (train_tokenizer.py): random fixed-length clips of peak-normalised utterances,
and, for a decoder trained alone, the tokens those clips were encoded to, or, for the phone loss, the
phone of every frame.

    clips = RandomClips(utterances, n_samples=16000)                  # item: samples (16000,)
    fits, spans = token_spans(utterances, rows, n_tokens=50, tokens_per_second=50)
    clips = RandomClips(fits, 16000, spans, codes, hop=320)           # item: (samples (16000,), tokens (50,))
    clips = RandomClips(utterances, 16000, hop=320, phones=(labels, phone_spans))  # (samples, phones (50,))

The tokens come from an encoded corpus (dataset/encode_corpus.py): Codec.encode pads an utterance with
zeros to a whole number of hops and gives token j for samples [j * hop, (j + 1) * hop), so a window of
tokens [s, s + n) goes with samples [s * hop, (s + n) * hop) of the padded utterance. Phone labels
(dataset/phone_labels.py) give frame j's phone the same way; an utterance without labels (phone_spans[i]
None) gets -100, "unknown", for every frame.
"""
import torch
from tqdm import tqdm

from dataset.audio import AudioError, load_audio
from tokenizer.codec import peak_normalize


class RandomClips(torch.utils.data.Dataset):
    """Item i: a random `n_samples` window of utterance i (zero-padded if shorter), peak-normalised as
    the codec expects. Unreadable files are replaced by another random utterance (and reported once).
    Given `spans` (utterance i's tokens are codes[offset : offset + length], see token_spans), the codes
    and the hop, item i is (samples, tokens): a random window of n_samples / hop tokens and the samples
    they encode. Given `phones` (labels, phone_spans: utterance i's labels are labels[offset : offset +
    length], or it has none), item i is (samples, phone ids (n_samples / hop,)), the clip starting on a
    hop so that its frames are the codec's."""

    def __init__(self, utterances, n_samples, spans=None, codes=None, hop=None, phones=None):
        self.utterances, self.n_samples, self.reported = utterances, n_samples, set()
        self.spans, self.codes, self.hop, self.phones = spans, codes, hop, phones

    def __len__(self):
        return len(self.utterances)

    def __getitem__(self, index):
        for _ in range(10):
            try:
                wav = peak_normalize(load_audio(self.utterances[index].audio_path))
                break
            except AudioError as e:
                if index not in self.reported:
                    self.reported.add(index)
                    tqdm.write(f"skipping {e}")
                index = int(torch.randint(len(self.utterances), ()))
        else:
            raise RuntimeError("ten unreadable files in a row: check the corpus")
        if self.spans is not None:
            offset, length = self.spans[index]
            n_tokens = self.n_samples // self.hop
            # Padded (or, if the file's length and the tokens disagree by under a hop, cut) to length hops.
            wav = torch.nn.functional.pad(wav, (0, max(0, length * self.hop - len(wav))))[: length * self.hop]
            start = int(torch.randint(length - n_tokens + 1, ()))
            tokens = torch.from_numpy(self.codes[offset + start: offset + start + n_tokens].astype("int64"))
            return wav[start * self.hop: (start + n_tokens) * self.hop], tokens  # (n_samples,), (n_tokens,)
        if self.phones is not None:
            n_frames = self.n_samples // self.hop
            frames = -(-len(wav) // self.hop)  # ceil: the codec's tokens of the whole utterance
            start = int(torch.randint(max(1, frames - n_frames + 1), ()))  # in frames
            labels = torch.full((n_frames,), -100, dtype=torch.long)
            if self.phones[1][index] is not None:
                offset, length = self.phones[1][index]
                known = self.phones[0][offset + start: offset + min(length, start + n_frames)].astype("int64")
                labels[:len(known)] = torch.from_numpy(known)
            clip = wav[start * self.hop: start * self.hop + self.n_samples]
            return torch.nn.functional.pad(clip, (0, self.n_samples - len(clip))), labels
        if len(wav) <= self.n_samples:
            return torch.nn.functional.pad(wav, (0, self.n_samples - len(wav)))
        start = int(torch.randint(len(wav) - self.n_samples + 1, ()))
        return wav[start: start + self.n_samples]


def token_spans(utterances, rows, n_tokens, tokens_per_second):
    """The utterances that an encoded corpus's manifest rows hold tokens for, at least `n_tokens` of
    them (a clip's worth) and as many as the audio's duration calls for (one token per hop, give or take
    one); and their (offset, length) spans in the codes array. Others are left out: a corpus encoded in
    part, or audio changed since it was encoded."""
    # An utterance is named by its speaker and id: a folder corpus may hold spk1/001.wav and spk2/001.wav.
    spans = {(row["speaker"], row["id"]): (row["offset"], row["length"]) for row in rows}
    fits = [u for u in utterances if (u.speaker, u.id) in spans and spans[u.speaker, u.id][1] >= n_tokens
            and abs(u.duration * tokens_per_second - spans[u.speaker, u.id][1]) <= 1]
    return fits, [spans[u.speaker, u.id] for u in fits]
