"""
Speak text with the TTS GPT (model/gpt.py) and the speech codec (tokenizer/codec.py).

    python infer.py --text "Hello there." --out out/hello.wav               # the shipped demo model
    python infer.py --text "Hello there." --speaker slt --out out/slt.wav
    python infer.py --text_file lines.txt --out_dir out/lines               # out/lines/001.wav, 002.wav, ...
    python infer.py --text "Read this in my voice." --prompt_wav me.wav --prompt_text "What I say in me.wav."
    python infer.py --text "A long story. In two sentences." --stream --out out/story.wav
    python infer.py --text "Hello there." --best_of 4 --out out/best.wav    # four tries, the likeliest kept

    from infer import TTS
    tts = TTS.load()                                    # checkpoints/gpt.pt and the codec it was trained with
    wav, sample_rate = tts("Hello there.", speaker="slt")
    for chunk in tts.stream("Hello there."): ...        # float tensors, as the tokens arrive

How a text is spoken:
1. normalise it (tokenizer/text.py) and split it at sentence ends into parts short enough for the model,
   each ending with . ? or ! as every training sentence did (a text typed without one gets a full stop);
2. for each part, lay out [START] [speaker] text [SPEECH_START], or, to clone a voice, [START] prompt_text
   text [SPEECH_START] prompt_codes (model/sequence.py), and let the GPT continue it with speech codes until
   it predicts END. The number of codes is bounded by the text: END is forbidden below a minimum and
   generation stops at a maximum, both from the speech-per-text rates the model saw in training. A model
   trained with text dropout is guided toward its text (classifier-free guidance, --cfg_scale). With
   --best_of N the GPT speaks each part N times (other seeds) and the one it finds most likely is kept;
3. decode the codes with the codec, all at once or, streaming, in chunks as they arrive (StreamDecoder),
   and join the parts with short pauses.
"""
import argparse
import math
import re
import sys
import time
from pathlib import Path

import soundfile as sf
import torch

from dataset.audio import AudioError, audio_info, load_audio, save_audio
from dataset.encode_corpus import codec_fits
from dataset.files import write_atomic
from model.checkpoint import CheckpointError, load_gpt
from model.sequence import TEXT_VOCAB_SIZE, build_example, spoken_ids
from tokenizer.codec import Codec, keep_freed_memory
from tokenizer.text import end_sentence, normalize

ROOT = Path(__file__).resolve().parent
DEFAULT_GPT = ROOT / "checkpoints" / "gpt.pt"
# Speech codes per byte of normalised text when a checkpoint does not record its own (older ones): the
# 1st and 99th percentiles of the demo training set, as an early model recorded them (2.84, 5.14; the
# shipped model, taking the 99th over texts of 20 bytes or more, records 2.84, 4.67).
DEFAULT_SPEECH_PER_BYTE = (2.8, 5.1)
# Classifier-free guidance for a model trained with text dropout (1, none, for one trained without): on
# the shipped model a range of scales around this one speak alike, clearly better than none, and much
# more overshoots (lab/README.md, "The GPT", Guidance).
GUIDED_CFG_SCALE = 1.5
MAX_PROMPT_SECONDS = 12.0  # a prompt's codes share max_seq_len with the text and the speech to come
# best_of: candidate k of part i is sampled with seed + i + k * CANDIDATE_SEED_STEP, so candidate 0 is
# what best_of=1 speaks, and no two candidates of a text of fewer parts than this share a seed.
CANDIDATE_SEED_STEP = 1000


class TTSError(Exception):
    """A problem with the input or the checkpoints, explained in one line."""


def split_text(text, max_bytes):
    """Normalised text -> parts of at most max_bytes UTF-8 bytes. Whole sentences are packed into a part
    while they fit; a sentence too long for one part is cut at commas, and a clause still too long
    between words (a single word longer than max_bytes is cut as it is)."""
    pieces = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        cuts = [sentence]
        for separator in (r"(?<=,)\s+", r"\s+"):  # too long: cut finer, first at commas, then at spaces
            cuts = [c for cut in cuts for c in
                    ([cut] if len(cut.encode()) <= max_bytes else re.split(separator, cut))]
        for cut in cuts:
            while len(cut.encode()) > max_bytes:  # one enormous "word"
                keep = len(cut.encode()[:max_bytes].decode(errors="ignore"))
                pieces.append(cut[:keep])
                cut = cut[keep:]
            if cut:
                pieces.append(cut)
    parts = []
    for piece in pieces:  # greedy packing; the joining space counts too
        if parts and len(parts[-1].encode()) + 1 + len(piece.encode()) <= max_bytes:
            parts[-1] += " " + piece
        else:
            parts.append(piece)
    return parts


class StreamDecoder:
    """
    Codes arriving one at a time -> waveform chunks, each ready as soon as enough codes have arrived.

    The codec's decoder is not causal: the samples of frame n depend on codes n - R .. n + R (R is
    codec.decoder.reach(): 3 frames each way for the input conv and for every ConvNeXt layer of kernel 7,
    and the inverse STFT's overlap). So each chunk is decoded with `context` codes before it (default: R)
    and `lookahead` codes after it, and only its own frames are kept. With context and lookahead ≥ R every
    sample equals the all-at-once decoding; smaller values trade a little accuracy for less delay. Where
    two chunks meet, `crossfade` frames are decoded by both and blended linearly, so the small
    disagreement a short lookahead leaves can never make a click.
    """

    def __init__(self, codec, chunk=10, lookahead=12, context=None, crossfade=1):
        self.codec, self.chunk, self.lookahead = codec, chunk, lookahead
        self.context = codec.decoder.reach() if context is None else context  # past codes: nothing less
        self.fade = crossfade * codec.hop_length
        self.codes, self.done = [], 0  # codes so far; frames whose samples are out (or in the tail)
        self.tail = None  # the last `fade` samples of the previous chunk, still to be blended

    def _decode(self, end, final):
        start = max(0, self.done - self.context)
        wav = self.codec.decode(torch.tensor(self.codes[start:], dtype=torch.long)).cpu()
        hop = self.codec.hop_length
        first = (self.done - start) * hop  # where this chunk's own samples begin in wav
        piece = wav[first - (self.fade if self.tail is not None else 0): (end - start) * hop]
        if self.tail is not None:  # blend the overlap: the old chunk fades out as the new one fades in
            ramp = torch.linspace(0, 1, self.fade + 2)[1:-1]
            piece = torch.cat([self.tail * (1 - ramp) + piece[:self.fade] * ramp, piece[self.fade:]])
        self.done = end
        if final or len(piece) <= self.fade:
            self.tail = None
            return piece
        self.tail = piece[-self.fade:] if self.fade else None
        return piece[:len(piece) - self.fade] if self.fade else piece

    def push(self, code):
        """Add one code; returns the samples that became ready (a possibly empty tensor)."""
        self.codes.append(int(code))
        ready = len(self.codes) - self.lookahead
        if ready - self.done >= self.chunk:
            return self._decode(ready, final=False)
        return torch.zeros(0)

    def flush(self):
        """All remaining samples: call once, after the last code."""
        if len(self.codes) == self.done and self.tail is None:
            return torch.zeros(0)
        if len(self.codes) == self.done:
            tail, self.tail = self.tail, None
            return tail
        return self._decode(len(self.codes), final=True)


def check_sampling(temperature, top_k, top_p, cfg_scale=None, best_of=1, seed=0, batch_size=1):
    """One-line errors for sampling settings that would make no distribution to sample from."""
    if best_of < 1:
        raise TTSError(f"best_of {best_of} < 1: speak each part at least once")
    if batch_size < 1:
        raise TTSError(f"batch_size {batch_size} < 1: sample at least one try at a time")
    if cfg_scale is not None and not (math.isfinite(cfg_scale) and cfg_scale >= 0):
        raise TTSError(f"cfg_scale {cfg_scale}: give a number from 0; 1 is no guidance, more pushes toward "
                       "the text")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise TTSError(f"temperature {temperature}: use 0 (greedy) or a larger finite number")
    if not -2 ** 62 < seed < 2 ** 62:  # parts and tries add to the seed; a torch.Generator takes 64 bits
        raise TTSError(f"seed {seed} outside -2**62 to 2**62")
    if temperature == 0 and best_of > 1:
        raise TTSError("best_of needs sampling: at temperature 0 every try is the same greedy one")
    if top_k is not None and top_k < 1:
        raise TTSError(f"top_k {top_k} < 1: keep at least one token")
    if top_p is not None and not 0 < top_p <= 1:
        raise TTSError(f"top_p {top_p} outside (0, 1]")


def check_output(path, stream=False):
    """A one-line error, before any work, for an output path soundfile could not write."""
    allowed = (".wav", ".flac") if stream else (".wav", ".flac", ".ogg")
    if Path(path).suffix.lower() not in allowed:
        raise TTSError(f"{path}: the output must end in {' or '.join(allowed)}")
    if Path(path).is_dir():
        raise TTSError(f"{path} is a folder: give a file name")


class TTS:
    """A GPT and the codec its training codes came from, and everything needed to speak with them."""

    def __init__(self, model, codec, speaker_map, speech_per_byte=DEFAULT_SPEECH_PER_BYTE, text_dropout=0.0):
        self.model, self.codec = model.eval(), codec.eval()
        # > 0: the model also learned to speak without text, so classifier-free guidance works; the
        # default cfg_scale follows
        self.text_dropout = text_dropout
        self.cfg_scale = GUIDED_CFG_SCALE if text_dropout else 1.0
        self.speaker_map, self.speech_per_byte = speaker_map, tuple(speech_per_byte)
        self.sample_rate = codec.sample_rate
        self.device = codec.codebook_device
        # The upper length bound is 1.5 x the fastest rate per byte, plus one second: the silence before
        # and after the words, which a short text cannot pay for (Festival's "Nope." is 1.1 s long).
        self.pad_codes = round(codec.tokens_per_second)

    @classmethod
    def load(cls, checkpoint=None, codec=None, device="cpu"):
        """checkpoint: a model.pt of train_pretrain.py / train_sft.py (default: the shipped one);
        codec: the codec file (default: the one the model's training codes name, checked by hash)."""
        checkpoint = Path(checkpoint or DEFAULT_GPT)
        try:
            model, saved = load_gpt(checkpoint)
        except (CheckpointError, FileNotFoundError) as e:
            raise TTSError(str(e)) from None
        info = saved["codes_info"]
        codec_path = Path(codec) if codec else Path(info.get("codec", ""))
        if not codec_path.is_absolute() and not codec_path.is_file():
            codec_path = ROOT / codec_path
        if not codec_path.is_file():
            raise TTSError(f"no codec at {codec_path} (the model was trained on codes of "
                           f"{info.get('codec', '?')}; pass --codec)")
        try:
            codec = Codec.load(codec_path, device)
        except (ValueError, RuntimeError) as e:
            raise TTSError(str(e)) from None
        if codec.codebook_size != model.cfg.speech_vocab_size:
            raise TTSError(f"{checkpoint} speaks codes of a {model.cfg.speech_vocab_size}-entry codebook and "
                           f"{codec_path} has {codec.codebook_size}: not the codec it was trained with")
        if not codec_fits(codec, codec_path, info):
            raise TTSError(f"{codec_path} is not the codec {checkpoint} was trained with: "
                           f"its codes would decode to noise")
        tts = cls(model.to(device), codec, saved["speaker_map"],
                  saved.get("speech_per_byte", DEFAULT_SPEECH_PER_BYTE), saved.get("text_dropout", 0.0))
        tts.checkpoint, tts.codec_path = checkpoint, codec_path  # what spoke, for reports
        return tts

    @property
    def speakers(self):
        return list(self.speaker_map)

    def prompt(self, wav_path, text):
        """(prompt text ids, prompt codes) for cloning the voice of wav_path, whose transcript is text."""
        text = normalize(text or "")  # ends as a sentence does: its last word and the text's first stay apart
        if not re.search(r"\w", text):
            raise TTSError("a voice prompt needs its transcript: pass --prompt_text with what is said in it")
        try:
            file_rate, n_samples = audio_info(wav_path)  # the length first: a long file is never loaded
            seconds = n_samples / file_rate
            wav = load_audio(wav_path, self.sample_rate) if seconds <= MAX_PROMPT_SECONDS else None
        except AudioError as e:
            raise TTSError(f"prompt: {e}") from None
        if seconds > MAX_PROMPT_SECONDS:
            raise TTSError(f"prompt {wav_path} is {seconds:.1f} s long; give a clip of 0.5 to "
                           f"{MAX_PROMPT_SECONDS:g} s with its transcript")
        if seconds < 0.5 or wav.abs().max() < 1e-3:
            raise TTSError(f"prompt {wav_path} is {'silent' if seconds >= 0.5 else 'shorter than 0.5 s'}: "
                           f"a voice prompt must hold speech")
        return spoken_ids(text), self.codec.encode(wav.to(self.device)).tolist()

    def prepare(self, text, speaker, prompt, max_chars):
        """(prefix ids (1, T0) per part, the parts' texts) for a text, checked: a TTSError says what is
        wrong with the text, the voice or the prompt before any speaking starts."""
        if speaker is not None and prompt is not None:
            raise TTSError("give a speaker or a voice prompt, not both (the model learned them apart)")
        if speaker is None and prompt is None:
            if not self.speakers:
                raise TTSError("this model knows no voice by name: give a voice prompt")
            speaker = self.speakers[0]
        if speaker is not None and speaker not in self.speaker_map:
            raise TTSError(f"unknown speaker {speaker!r}; this model knows {', '.join(self.speakers)}")
        if len(text) > max_chars:
            raise TTSError(f"text of {len(text):,} characters is longer than {max_chars:,}: split it "
                           f"(--text_file speaks one line per file) or raise --max_chars")
        spoken = normalize(text)
        if not re.search(r"\w", spoken):
            raise TTSError("nothing to say: the text has no words once normalised")
        prompt_text, prompt_codes = prompt or ([], [])
        # Room for the text once the prompt and the longest speech it may need are in max_seq_len.
        room = self.model.cfg.max_seq_len - 3 - len(prompt_text) - len(prompt_codes)
        max_bytes = min(200, int((room - self.pad_codes) / (1 + 1.5 * self.speech_per_byte[1])))
        if max_bytes < 20:
            raise TTSError("the voice prompt leaves no room for text: use a shorter prompt" if prompt else
                           f"a context of {self.model.cfg.max_seq_len} tokens leaves no room for text and speech")
        # Every part ends as a sentence does, as every training text did: the model learned that speech ends
        # after that mark, and without it runs on (a part cut at a comma, too). One byte kept for the mark.
        parts = [end_sentence(part) for part in split_text(spoken, max_bytes - 1)]
        prefixes = []
        for part in parts:
            ids, _ = build_example(spoken_ids(part), [], TEXT_VOCAB_SIZE,
                                   speaker=None if speaker is None else self.speaker_map[speaker],
                                   prompt_text_ids=prompt_text, prompt_codes=prompt_codes,
                                   speech_vocab_size=self.codec.codebook_size)
            prefixes.append(ids[None].to(self.device))
        return prefixes, parts

    def max_codes(self, prefix, part):
        """The most codes one part may take: its length bound, or what max_seq_len leaves after the prefix.
        A try of this many codes was stopped, not ended by the model."""
        n_bytes = len(part.encode())
        return min(math.ceil(1.5 * self.speech_per_byte[1] * n_bytes) + self.pad_codes,
                   self.model.cfg.max_seq_len - prefix.shape[1] + 1)

    def _row(self, prefix, part, seed):
        """What one part's sampling takes beside the shared settings: the most and the fewest codes it may
        take, and its generator."""
        low = self.speech_per_byte[0]
        return (self.max_codes(prefix, part), int(0.75 * low * len(part.encode())),
                torch.Generator(self.device).manual_seed(seed))

    def _sampling(self, temperature, top_k, top_p, ras, cfg_scale):
        # Repetition-aware sampling over the last 10 codes, each allowed 3 times (generate_rows' default):
        # in real speech codes that happens rarely, and nearly always in pauses, so speech is hardly
        # touched (lab/README.md, "Speaking"). cfg_scale None: the model's default.
        return dict(temperature=temperature, top_k=top_k, top_p=top_p, ras_window=10 if ras else 0,
                    cfg_scale=self.cfg_scale if cfg_scale is None else cfg_scale)

    def _codes(self, prefix, part, temperature, top_k, top_p, ras, cfg_scale, seed):
        """Speech codes of one part, yielded as they are sampled."""
        max_new, min_new, generator = self._row(prefix, part, seed)
        yield from self.model.generate_stream(prefix, max_new_tokens=max_new, min_new_tokens=min_new,
                                              generator=generator,
                                              **self._sampling(temperature, top_k, top_p, ras, cfg_scale))

    def _codes_batched(self, prefixes, parts, seeds, sampling, batch_size):
        """[(codes, cut)] for each (prefix, part, seed), batch_size at a time (GPT.generate_rows): each
        sampled with its own seed, so it says what _codes says for it alone, but for a rare sample that a
        padded row's float rounding tips (generate_rows), or a padded batch that runs into max_seq_len
        first (parts of one text stay below it on their own; cut tells)."""
        if batch_size < 1:
            raise TTSError(f"batch_size {batch_size} < 1: sample at least one try at a time")
        results = []
        for first in range(0, len(prefixes), batch_size):
            batch = range(first, min(first + batch_size, len(prefixes)))
            most, fewest, generators = zip(*(self._row(prefixes[i], parts[i], seeds[i]) for i in batch))
            codes = [[] for _ in batch]
            for step in self.model.generate_rows([prefixes[i][0] for i in batch], most, fewest,
                                                 generators=generators, **sampling):
                for spoken, code in zip(codes, step):
                    if code is not None:
                        spoken.append(code)
            # The rows share the longest prefix's room in max_seq_len (generate_rows): a try this long was cut.
            longest = max(prefixes[i].shape[1] for i in batch)
            limits = [min(m, self.model.cfg.max_seq_len - longest + 1) for m in most]
            results += [(c, len(c) >= limit) for c, limit in zip(codes, limits)]
        return results

    def candidates(self, prefix, part, n, seed, temperature=0.5, top_k=50, top_p=0.9, ras=True,
                   cfg_scale=None, batch_size=8):
        """n tries at the speech codes of one part: try k is sampled with seed + k * CANDIDATE_SEED_STEP,
        so try 0 is what one try speaks; batch_size tries at a time. What best_of chooses from, and what
        lab/train_dpo.py judges."""
        tries = self._codes_batched([prefix] * n, [part] * n, [seed + k * CANDIDATE_SEED_STEP for k in range(n)],
                                    self._sampling(temperature, top_k, top_p, ras, cfg_scale), batch_size)
        return [codes for codes, _ in tries]

    def score(self, prefix, codes):
        """Mean log-probability per token that the model gives codes (a list) and END after prefix (1, T0),
        without guidance: how likely the model finds a candidate it sampled. Higher is more likely; it is
        minus the training loss of the same example, so it does not grow or shrink with the length."""
        end = self.model.end_token
        ids = torch.tensor([prefix[0].tolist() + [TEXT_VOCAB_SIZE + c for c in codes]], device=prefix.device)
        targets = torch.tensor(codes + [end], device=prefix.device)
        # A part cut off at max_seq_len has no position left to predict its END from: score its codes only.
        keep = self.model.cfg.max_seq_len
        ids, targets = ids[:, :keep], targets[: keep - prefix.shape[1] + 1]
        with torch.inference_mode():
            logits, _ = self.model(ids)  # (1, T, V)
        logp = logits[0, prefix.shape[1] - 1:].float().log_softmax(-1)  # (len(targets), V)
        return logp.gather(1, targets[:, None]).mean().item()

    def stream(self, text, speaker=None, prompt=None, temperature=0.5, top_k=50, top_p=0.9, ras=True,
               cfg_scale=None, seed=0, pause=0.25, max_chars=5000, lookahead=12, chunk=10):
        """Yield float tensors of samples as soon as they are decoded. prompt: a tts.prompt(...) result.
        The same seed speaks the same codes as __call__ (but for a rare sample that a padded batch's float
        rounding tips there: GPT.generate_rows)."""
        check_sampling(temperature, top_k, top_p, cfg_scale, seed=seed)
        prefixes, parts = self.prepare(text, speaker, prompt, max_chars)
        for i, (prefix, part) in enumerate(zip(prefixes, parts)):
            if i:
                yield torch.zeros(int(pause * self.sample_rate))
            decoder = StreamDecoder(self.codec, chunk=chunk, lookahead=lookahead)
            for code in self._codes(prefix, part, temperature, top_k, top_p, ras, cfg_scale, seed + i):
                samples = decoder.push(code)
                if len(samples):
                    yield samples
            yield decoder.flush()

    def codes(self, text, speaker=None, prompt=None, temperature=0.5, top_k=50, top_p=0.9, ras=True,
              cfg_scale=None, seed=0, max_chars=5000, best_of=1, batch_size=8):
        """-> [(codes, cut)], one pair per part of the text: the speech codes it speaks (a list) and whether
        the length bound stopped them (cut: the model did not end the part by itself). best_of N: each part
        is sampled N times and the candidate the model scores highest (TTS.score) is kept. batch_size: how
        many tries (of all parts) are sampled side by side; it changes the speed, and the codes only where
        float rounding tips a sample (GPT.generate_rows)."""
        return self.codes_many([text], speaker, prompt, temperature, top_k, top_p, ras, cfg_scale, seed,
                               max_chars, best_of, batch_size)[0]

    def codes_many(self, texts, speaker=None, prompt=None, temperature=0.5, top_k=50, top_p=0.9, ras=True,
                   cfg_scale=None, seed=0, max_chars=5000, best_of=1, batch_size=8):
        """TTS.codes of several texts, each spoken as it would be alone (with the same seed), their parts
        and tries sampled side by side: -> one [(codes, cut)] per text."""
        check_sampling(temperature, top_k, top_p, cfg_scale, best_of, seed, batch_size)
        prepared = [self.prepare(text, speaker, prompt, max_chars) for text in texts]  # [(prefixes, parts)]
        # Try k of part i is sampled with seed + i + k * CANDIDATE_SEED_STEP: try 0 is what one try speaks.
        tries = [(prefixes[i], parts[i], seed + i + k * CANDIDATE_SEED_STEP)
                 for prefixes, parts in prepared for i in range(len(parts)) for k in range(best_of)]
        sampled = iter(self._codes_batched([t[0] for t in tries], [t[1] for t in tries], [t[2] for t in tries],
                                           self._sampling(temperature, top_k, top_p, ras, cfg_scale),
                                           batch_size))
        spoken = []
        for prefixes, _ in prepared:
            spoken.append([])
            for prefix in prefixes:
                candidates = [next(sampled) for _ in range(best_of)]
                # A try the model ended beats one cut off at the length bound (still talking, or looping)
                # whatever their scores; max keeps the first of equals; one candidate needs no scoring.
                spoken[-1].append(candidates[0] if best_of == 1 else max(
                    candidates, key=lambda c: (not c[1], self.score(prefix, c[0]))))
        return spoken

    def render(self, parts, pause=0.25):
        """Decode the parts TTS.codes returned and join them with `pause` seconds of silence."""
        pieces = []
        for i, (codes, _) in enumerate(parts):
            if i:
                pieces.append(torch.zeros(int(pause * self.sample_rate)))
            codes = torch.tensor(codes, dtype=torch.long)
            pieces.append(self.codec.decode(codes).cpu() if len(codes) else torch.zeros(0))
        return torch.cat(pieces)

    def __call__(self, text, speaker=None, prompt=None, temperature=0.5, top_k=50, top_p=0.9, ras=True,
                 cfg_scale=None, seed=0, pause=0.25, max_chars=5000, best_of=1, batch_size=8):
        """-> (waveform (T,) float tensor, sample rate). best_of N: each part is sampled N times and the
        candidate the model scores highest (TTS.score) is spoken: N times the work, fewer misspoken words."""
        parts = self.codes(text, speaker, prompt, temperature, top_k, top_p, ras, cfg_scale, seed, max_chars,
                           best_of, batch_size)
        return self.render(parts, pause), self.sample_rate


def write_stream(path, chunks, sample_rate):
    """Write chunks to path as they come (to a temp file, renamed at the end, so an interrupted run never
    leaves a partial file that looks complete). Returns (seconds to the first audio, samples written)."""
    start, first, total = time.perf_counter(), None, 0

    def write(tmp):
        nonlocal first, total
        with sf.SoundFile(str(tmp), "w", sample_rate, 1, subtype="PCM_16") as f:
            for chunk in chunks:
                if len(chunk):
                    f.write(chunk.clamp(-1, 1).numpy())
                    total += len(chunk)
                    first = first if first is not None else time.perf_counter() - start

    try:
        write_atomic(Path(path), write)
    except sf.SoundFileError as e:  # libsndfile's errors (cannot open, disk full) are no OSError
        raise OSError(f"cannot write {path}: {e}") from None
    return first, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="what to say")
    what.add_argument("--text_file", type=Path, help="a UTF-8 file: one utterance per line, numbered wavs")
    parser.add_argument("--out", type=Path, default=Path("out/tts.wav"), help="output wav for --text")
    parser.add_argument("--out_dir", type=Path, default=Path("out/tts"), help="output folder for --text_file")
    parser.add_argument("--speaker", default=None, help="a voice the model trained on; None: its first")
    parser.add_argument("--prompt_wav", type=Path, default=None,
                        help=f"clone this voice: 0.5 to {MAX_PROMPT_SECONDS:g} s of speech")
    parser.add_argument("--prompt_text", default=None, help="the transcript of --prompt_wav")
    # 0.5: the shipped model speaks as well at 0.3 and 0.7 (README, "Guidance" and "Temperature")
    parser.add_argument("--temperature", type=float, default=0.5, help="0: greedy; more: more varied")
    parser.add_argument("--top_k", type=int, default=50, help="sample among the k likeliest codes only")
    parser.add_argument("--top_p", type=float, default=0.9,
                        help="sample among the likeliest codes that together hold this much probability")
    parser.add_argument("--no_ras", action="store_true", help="turn off repetition-aware sampling")
    parser.add_argument("--cfg_scale", type=float, default=None,
                        help=f"classifier-free guidance: 1 is none, more follows the text harder; None: "
                             f"{GUIDED_CFG_SCALE:g} for a model trained with --text_dropout, else 1")
    parser.add_argument("--best_of", type=int, default=1,
                        help="sample each part (a sentence or a few) N times and keep the try the model "
                             "finds most likely")
    parser.add_argument("--batch_size", type=int, default=8,
                        help="tries sampled side by side (the parts of a text, --best_of's tries, and "
                             "this many lines of --text_file at a time): the speed changes, the codes hardly "
                             "(float rounding may tip a rare sample)")
    parser.add_argument("--stream", action="store_true", help="decode and write audio as tokens arrive")
    parser.add_argument("--seed", type=int, default=0, help="part i of a text samples with seed + i")
    parser.add_argument("--max_chars", type=int, default=5000, help="longest text accepted")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_GPT, help="GPT model.pt")
    parser.add_argument("--codec", type=Path, default=None, help="codec; None: the one the GPT names")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, auto")
    args = parser.parse_args(argv)
    keep_freed_memory()  # the allocator setting Codec.encode and decode run faster with
    from train_common import pick_device  # here: train_common pulls in the training machinery
    try:
        if args.prompt_text and not args.prompt_wav:
            raise TTSError("--prompt_text goes with --prompt_wav (the recording it transcribes)")
        if args.text_file is not None:
            try:
                lines = [line.strip() for line in args.text_file.read_text(encoding="utf-8").splitlines()]
            except (OSError, UnicodeDecodeError) as e:
                raise TTSError(f"cannot read {args.text_file}: {e}") from None
            jobs = [(text, args.out_dir / f"{i:03d}.wav", f"{args.text_file} line {i}: ")
                    for i, text in enumerate(lines, 1) if text]
            if not jobs:
                raise TTSError(f"{args.text_file} has no text")
        else:
            check_output(args.out, args.stream)
            jobs = [(args.text, args.out, "")]
        check_sampling(args.temperature, args.top_k, args.top_p, args.cfg_scale, args.best_of, args.seed,
                       args.batch_size)
        if args.stream and args.best_of > 1:
            raise TTSError("--best_of chooses among whole candidates, so it cannot stream: drop one of them")
        tts = TTS.load(args.checkpoint, args.codec, pick_device(args.device))
        if args.cfg_scale not in (None, 1) and not tts.text_dropout:
            print(f"note: {args.checkpoint} never trained without text (train_pretrain.py --text_dropout), "
                  f"so --cfg_scale {args.cfg_scale:g} guides it with a prediction it never learned",
                  file=sys.stderr)
        prompt = tts.prompt(args.prompt_wav, args.prompt_text) if args.prompt_wav else None
        options = dict(speaker=args.speaker, prompt=prompt, temperature=args.temperature, top_k=args.top_k,
                       top_p=args.top_p, ras=not args.no_ras, cfg_scale=args.cfg_scale, seed=args.seed,
                       max_chars=args.max_chars)
        for text, out, where in jobs:  # check every line before speaking any
            try:
                tts.prepare(text, args.speaker, prompt, args.max_chars)
            except TTSError as e:
                raise TTSError(f"{where}{e}") from None
        # Streaming speaks one text at a time; otherwise up to --batch_size texts share the batches.
        chunks = [jobs[i:i + 1] for i in range(len(jobs))] if args.stream else \
            [jobs[i:i + args.batch_size] for i in range(0, len(jobs), args.batch_size)]
        for chunk in chunks:
            start, audio_seconds = time.perf_counter(), 0.0
            if args.stream:
                (text, out, _), = chunk
                out.parent.mkdir(parents=True, exist_ok=True)
                first, n = write_stream(out, tts.stream(text, **options), tts.sample_rate)
                audio_seconds = n / tts.sample_rate
                note = f", first audio after {1000 * first:.0f} ms" if first is not None else ""
            else:
                spoken = tts.codes_many([text for text, _, _ in chunk], **options, best_of=args.best_of,
                                        batch_size=args.batch_size)
                for (_, out, _), parts in zip(chunk, spoken):
                    wav = tts.render(parts)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    save_audio(out, wav, tts.sample_rate)
                    audio_seconds += len(wav) / tts.sample_rate
                    cut = sum(cut for _, cut in parts)
                    note = (f"; {cut} of {len(parts)} part(s) did not end by themselves and were stopped at "
                            f"the length bound (another --seed may end)" if cut else "")
                    if len(chunk) > 1:  # one line a file; the time is the chunk's, below
                        print(f"{out}: {len(wav) / tts.sample_rate:.2f} s of audio{note}")
            seconds = time.perf_counter() - start
            rtf = seconds / audio_seconds if audio_seconds else float("inf")
            what, note = (chunk[0][1], note) if len(chunk) == 1 else (f"{len(chunk)} files side by side", "")
            print(f"{what}: {audio_seconds:.2f} s of audio in {seconds:.2f} s, real-time factor {rtf:.3f}{note}")
    except (TTSError, OSError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
