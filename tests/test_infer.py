"""Tests for infer.py: repetition-aware sampling, length bounds, text splitting, streaming against
all-at-once decoding, and the command line's answers to bad input (one line, no partial files)."""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import infer
from dataset.audio import load_audio, save_audio_stream
from dataset.encode_corpus import file_sha256
from dataset.readers import DEMO_DIR
from lab.eval import character_error_rate
from infer import TTS, TTSError
from model import batched
from model.gpt import GPT, GPTConfig
from model.sampling import repetition_aware
from model.sequence import TEXT_VOCAB_SIZE, build_example, encode_text
from tokenizer.codec import Codec, CodecConfig
from tokenizer.streaming import StreamDecoder
from tokenizer.text import normalize, split_text

ROOT = Path(infer.__file__).resolve().parent
CODES = 64
RATES = (2.0, 4.0)  # speech codes per text byte recorded in the tiny checkpoint


def tiny_codec():
    torch.manual_seed(0)
    config = CodecConfig(codebook_size=CODES, codebook_dim=8, encoder_channels=4, encoder_max_channels=16,
                         decoder_dim=32, decoder_intermediate=64, decoder_layers=2)
    codec = Codec(config)
    codec.quantizer.initialized.fill_(True)
    return codec.eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tts")
    tiny_codec().save(folder / "codec.pt")
    torch.manual_seed(0)
    config = GPTConfig(speech_vocab_size=CODES, n_layer=2, n_head=2, n_kv_head=1, d_model=32, max_seq_len=512)
    model = GPT(config)
    torch.save({"config": asdict(config), "speaker_map": {"kal": 0, "slt": 1},
                "codes_info": {"codec": str(folder / "codec.pt"), "codebook_size": CODES,
                               "codec_sha256": file_sha256(folder / "codec.pt")},
                "speech_per_byte": list(RATES),
                "state_dict": {k: v.half() for k, v in model.state_dict().items()}}, folder / "gpt.pt")
    return folder / "gpt.pt"


@pytest.fixture(scope="module")
def tts(checkpoint):
    return TTS.load(checkpoint)


class FixedLogits(GPT):
    """A GPT whose every position predicts the same logits: sampling behaviour made visible."""

    def __init__(self, logits):
        super().__init__(GPTConfig(speech_vocab_size=CODES, n_layer=1, n_head=1, n_kv_head=1, d_model=8,
                                   max_seq_len=512))
        self.fixed = logits

    def forward(self, ids, targets=None, kv_cache=None, mask=None):
        return self.fixed.expand(ids.shape[0], ids.shape[1], -1), None


def favouring(code, end=-10.0):
    logits = torch.zeros(CODES + 1)
    logits[code], logits[CODES] = 10.0, end
    return logits


# -----------------------------------------------------------------------------------------------------
# Sampling and lengths


def test_repetition_aware_sampling_rejects_a_repeated_code():
    logits = favouring(5)
    for seed in range(20):
        generator = torch.Generator().manual_seed(seed)
        assert repetition_aware(logits, 5, [5, 1, 5], max_repeats=2, generator=generator) not in (5,)
        assert repetition_aware(logits, 5, [1, 5, 2], max_repeats=2, generator=generator) == 5


def test_generation_with_ras_leaves_no_loop():
    model = FixedLogits(favouring(5))
    prefix = torch.tensor([[256, 1, 2, 257]])
    plain = model.generate(prefix, max_new_tokens=60, top_k=1).tolist()
    assert plain == [5] * 60  # the loop RAS is there to break
    codes = model.generate(prefix, max_new_tokens=60, top_k=1, ras_window=10, ras_max_repeats=2,
                           generator=torch.Generator().manual_seed(0)).tolist()
    assert len(codes) == 60
    for i, code in enumerate(codes):
        assert codes[max(0, i - 10): i].count(code) < 2
    assert codes.count(5) >= 10  # the favourite still wins whenever the window allows it


def test_speech_length_is_bounded_by_the_text(tts):
    text = "hello world."
    n_bytes = len(encode_text(text))
    # one second of codes on top: the silence around the words, which a short text cannot pay for
    pad = round(tts.codec.tokens_per_second)
    low, high = int(0.75 * RATES[0] * n_bytes), int(np.ceil(1.5 * RATES[1] * n_bytes)) + pad
    hop = tts.codec.hop_length
    model = tts.model
    try:
        tts.model = FixedLogits(favouring(CODES, end=20.0))  # END is by far the likeliest, always
        wav, _ = tts(text, top_k=1)
        assert len(wav) == low * hop
        (codes, cut), = tts.codes(text, top_k=1)
        assert len(codes) == low and not cut  # ended by the model, at the first step it was allowed to
        tts.model = FixedLogits(favouring(3, end=-float("inf")))  # END never comes
        wav, _ = tts(text)
        assert len(wav) == high * hop
        (codes, cut), = tts.codes(text)
        assert len(codes) == high and cut  # stopped by the bound, and said so
        two_parts = tts.codes("hello world. " * 30, max_chars=5000)
        assert len(two_parts) > 1 and all(cut for _, cut in two_parts)
        assert torch.equal(tts.render(two_parts, pause=0.5)[: len(two_parts[0][0]) * hop],
                           tts.codec.decode(torch.tensor(two_parts[0][0])))
    finally:
        tts.model = model


# -----------------------------------------------------------------------------------------------------
# Long text


def test_split_text_keeps_every_word_and_respects_the_limit():
    text = normalize("First sentence here. " * 30 + "A very long sentence, with commas, " * 12 + "word " * 80
                     + "x" * 300 + ". The end!")
    parts = split_text(text, max_bytes=100)
    assert all(len(part.encode()) <= 100 for part in parts)
    assert "".join(" ".join(parts).split()) == "".join(text.split())  # nothing lost, nothing added
    # Whole sentences packed while they fit: five of 20 bytes and their spaces make 104, so four.
    assert parts[0] == " ".join(["first sentence here."] * 4)
    text = "short one. and a second: with a colon."
    assert split_text(text, 100) == [text]
    assert split_text("one sentence here. and another one.", 20) == ["one sentence here.", "and another one."]


def test_every_part_ends_as_a_sentence_ends(tts):
    """A text typed without a final mark, and a long one cut at commas and spaces: each part the model
    reads ends with . ? or !, as every training sentence did, and each prefix holds that part's bytes once
    normalised (not normalised again)."""
    prefixes, parts = tts.prepare("the bus was late", "slt", None, 5000)
    assert parts == ["the bus was late."]
    assert bytes(t for t in prefixes[0][0].tolist() if t < 256).decode() == "the bus was late."
    long = "a clause, " * 60 + "and words " * 60 + "and a question?"
    prefixes, parts = tts.prepare(long, "slt", None, 5000)
    assert len(parts) > 3 and all(part[-1] in ".?!" for part in parts) and parts[-1].endswith("question?")
    assert all(len(part.encode()) <= 200 for part in parts)
    for prefix, part in zip(prefixes, parts):
        assert bytes(t for t in prefix[0].tolist() if t < 256).decode() == part


def test_long_text_is_split_and_every_part_is_spoken(tts, monkeypatch):
    spoken, batches = [], []
    original = batched.generate_rows

    def recording(model, prefixes, *args, **kwargs):
        codes = [[] for _ in prefixes]
        for step in original(model, prefixes, *args, **kwargs):
            for row, code in zip(codes, step):
                row += [] if code is None else [code]
            yield step
        spoken.extend(zip(prefixes, codes))
        batches.append(len(prefixes))

    monkeypatch.setattr(batched, "generate_rows", recording)
    text = " ".join(f"This is sentence number {i}, and it goes on for a while to be long." for i in range(12))
    prefixes, parts = tts.prepare(text, None, None, 5000)
    assert len(parts) > 3
    wav, sample_rate = tts(text, top_k=5, batch_size=3)
    assert len(spoken) == len(parts) and batches[0] == 3 and sum(batches) == len(parts)
    for (prefix, codes), part in zip(spoken, parts):
        # each part, in order (as the model reads it: normalised, so a comma that ends a part is dropped)
        assert bytes(t for t in prefix.tolist() if t < 256) == bytes(encode_text(part))
        assert len(codes) >= int(RATES[0] * 0.75 * len(encode_text(part)))  # and spoken at its length, at least
    samples_per_code = tts.codec.config.hop_length
    pauses = (len(parts) - 1) * int(0.25 * sample_rate)
    assert len(wav) == sum(len(codes) for _, codes in spoken) * samples_per_code + pauses


def test_one_try_at_a_time_speaks_through_the_plain_path(tts, monkeypatch):
    """One sentence, and a long text at batch_size 1, never touch the batched module: GPT.generate_stream
    speaks them, one part after another."""
    def refuse(*args, **kwargs):
        raise AssertionError("the batched path was taken")

    monkeypatch.setattr(batched, "generate_rows", refuse)
    wav, _ = tts("One sentence.", cfg_scale=2.0, batch_size=8)
    long = " ".join(f"Sentence {i} is long enough, with words enough, to need a part of its own." for i in range(6))
    assert len(tts.prepare(long, None, None, 5000)[1]) > 1
    parts = tts.codes(long, batch_size=1)
    assert len(wav) > 0 and len(parts) > 1 and all(codes for codes, _ in parts)


# -----------------------------------------------------------------------------------------------------
# Streaming


def test_stream_decoder_equals_decoding_at_once_with_full_context():
    codec = tiny_codec()
    codes = torch.randint(0, CODES, (137,), generator=torch.Generator().manual_seed(1))
    full = codec.decode(codes)
    # Two ConvNeXt layers: the receptive field is 3 + 2 x 3 + 2 = 11 frames each way.
    for chunk, crossfade in [(1, 1), (7, 1), (10, 2), (50, 0)]:
        decoder = StreamDecoder(codec, chunk=chunk, lookahead=12, context=12, crossfade=crossfade)
        pieces = [decoder.push(c) for c in codes.tolist()] + [decoder.flush()]
        assert sum(len(p) for p in pieces[:-1]) > 0  # audio came out before the last code
        assert torch.allclose(torch.cat(pieces), full, atol=1e-5)


def test_stream_decoder_asks_the_decoder_for_its_reach():
    """A deeper decoder sees further: by default the stream keeps decoder.reach() codes of context, so with
    that much lookahead it still equals decoding at once (a fixed context of 32 would not: reach is 41)."""
    torch.manual_seed(0)
    deep = Codec(CodecConfig(codebook_size=CODES, codebook_dim=8, encoder_channels=4, encoder_max_channels=16,
                             decoder_dim=32, decoder_intermediate=64, decoder_layers=12)).eval()
    deep.quantizer.initialized.fill_(True)
    reach = deep.decoder.reach()
    assert reach == 41 and StreamDecoder(deep).context == reach
    codes = torch.randint(0, CODES, (160,), generator=torch.Generator().manual_seed(2))
    decoder = StreamDecoder(deep, chunk=5, lookahead=reach)
    streamed = torch.cat([decoder.push(c) for c in codes.tolist()] + [decoder.flush()])
    assert torch.allclose(streamed, deep.decode(codes), atol=1e-5)


def test_stream_decoder_with_short_lookahead_on_real_speech():
    codec = Codec.load()
    codes = codec.encode(load_audio(DEMO_DIR / "audio" / "slt" / "slt_0001.ogg"))
    full = codec.decode(codes)
    decoder = StreamDecoder(codec)  # the defaults infer.py streams with
    streamed = torch.cat([decoder.push(c) for c in codes.tolist()] + [decoder.flush()])
    assert len(streamed) == len(full)
    snr = 10 * torch.log10(full.pow(2).sum() / (streamed - full).pow(2).sum())
    # 52 dB with the shipped codec; 41 to 58 over seven clips; 27 to 39 with too short a lookahead (8 codes)
    assert snr > 40


def test_streaming_speaks_what_the_whole_call_speaks(tts):
    text = "One sentence here. And another one there."
    whole, _ = tts(text, seed=3)
    streamed = torch.cat(list(tts.stream(text, seed=3)))
    assert len(streamed) == len(whole)
    assert torch.allclose(streamed, whole, atol=1e-4)


@pytest.mark.parametrize("best_of", [1, 2])
def test_batch_size_changes_the_speed_not_the_speech(tts, best_of):
    """The parts of a long text (and best_of's tries) sampled side by side, a few at a time, speak what
    they speak one at a time, and what the stream speaks. (Padded rows round a little differently, which
    can tip a rare sample in a long run; these few codes of a tiny model come out the same.)"""
    text = " ".join(f"Part {i} of a text long enough to be split into several parts." for i in range(8))
    prefixes, _ = tts.prepare(text, None, None, 5000)
    assert len(prefixes) > 3 and len({p.shape[1] for p in prefixes}) > 1  # rows of different lengths
    one, _ = tts(text, seed=2, cfg_scale=2.0, best_of=best_of, batch_size=1)
    side_by_side, _ = tts(text, seed=2, cfg_scale=2.0, best_of=best_of, batch_size=3)
    assert torch.equal(one, side_by_side)
    with pytest.raises(TTSError, match="batch_size 0"):
        tts.codes(text, batch_size=0)
    if best_of == 1:
        streamed = torch.cat(list(tts.stream(text, seed=2, cfg_scale=2.0)))
        assert len(streamed) == len(one) and torch.allclose(streamed, one, atol=1e-4)


def test_guided_streaming_speaks_what_the_guided_call_speaks(tts, monkeypatch):
    """cfg_scale reaches the GPT on both paths (and changes what is said: the guidance is not ignored)."""
    text = "Guide this sentence."
    whole, _ = tts(text, seed=4, cfg_scale=3.0)
    streamed = torch.cat(list(tts.stream(text, seed=4, cfg_scale=3.0)))
    assert len(streamed) == len(whole) and torch.allclose(streamed, whole, atol=1e-4)
    plain, _ = tts(text, seed=4)
    assert len(plain) != len(whole) or not torch.allclose(plain, whole, atol=1e-4)
    # A model trained with text dropout is guided by default; one without is not (plain, above). The
    # default scale is raised to 3 here: on this untrained model 1.5 may change no code at all.
    assert TTS(tts.model, tts.codec, tts.speaker_map, text_dropout=0.1).cfg_scale == infer.GUIDED_CFG_SCALE
    monkeypatch.setattr(infer, "GUIDED_CFG_SCALE", 3.0)
    default, _ = TTS(tts.model, tts.codec, tts.speaker_map, tts.speech_per_byte, text_dropout=0.1)(text, seed=4)
    assert len(default) == len(whole) and torch.allclose(default, whole, atol=1e-4)


def test_score_is_minus_the_training_loss_of_the_same_example(tts):
    """batched.score against the model's own loss on the example train_pretrain.py would build: same tokens,
    loss on the codes and END only, so the two must agree to rounding."""
    prefixes, parts = tts.prepare("Score me.", "slt", None, 5000)
    codes = list(tts.part_codes(prefixes[0], parts[0], 5, tts.sampling(temperature=0.8, top_k=None, top_p=None)))
    ids, targets = build_example(encode_text(parts[0]), codes, TEXT_VOCAB_SIZE,
                                 speaker=tts.speaker_map["slt"], speech_vocab_size=CODES)
    with torch.no_grad():
        _, loss = tts.model(ids[None], targets[None])
    assert abs(batched.score(tts.model, prefixes[0], codes) + loss.item()) < 1e-4


def test_best_of_speaks_the_candidate_the_model_scores_highest(tts):
    text = "Pick the likeliest one."
    prefixes, parts = tts.prepare(text, "kal", None, 5000)
    sampling = tts.sampling(temperature=0.8)
    candidates = [list(tts.part_codes(prefixes[0], parts[0], 7 + k * infer.CANDIDATE_SEED_STEP, sampling))
                  for k in range(3)]
    scores = [batched.score(tts.model, prefixes[0], c) for c in candidates]
    assert len(set(scores)) == 3  # distinct candidates, so the choice below is a real one
    best = candidates[scores.index(max(scores))]
    wav, _ = tts(text, speaker="kal", temperature=0.8, seed=7, best_of=3)
    assert torch.allclose(wav, tts.codec.decode(torch.tensor(best)).cpu(), atol=1e-5)
    # candidate 0 is what one try speaks
    one, _ = tts(text, speaker="kal", temperature=0.8, seed=7)
    assert torch.allclose(one, tts.codec.decode(torch.tensor(candidates[0])).cpu(), atol=1e-5)


def test_best_of_prefers_a_try_the_model_ended_to_one_cut_off(tts, monkeypatch):
    """A try that reached the length bound was stopped, still talking (or looping): whatever its score, a
    try the model ended beats it."""
    text = "Pick the one that ends."
    prefixes, parts = tts.prepare(text, "kal", None, 5000)
    limit = tts.max_codes(prefixes[0], parts[0])
    cut, ended = [1] * limit, [2] * (limit - 5)
    monkeypatch.setattr(infer, "sample_rows", lambda *args, **kwargs: [(cut, True), (ended, False)])
    monkeypatch.setattr(batched, "score", lambda model, prefix, codes: 0.0 if codes is cut else -9.0)
    wav, _ = tts(text, speaker="kal", best_of=2)
    assert torch.allclose(wav, tts.codec.decode(torch.tensor(ended)).cpu(), atol=1e-5)


def test_a_stream_that_cannot_be_written_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match="cannot write"):
        save_audio_stream(tmp_path / "missing" / "x.wav", iter([torch.zeros(100)]), 16000)
    assert not (tmp_path / "missing").exists()


def test_an_interrupted_stream_leaves_no_file(tmp_path):
    """A stream that fails halfway (the model raising, Ctrl-C) must not leave a short wav that looks
    finished, nor its temp file; an earlier file of that name stays as it was."""
    def chunks():
        yield torch.zeros(1600)
        yield torch.zeros(1600)
        raise KeyboardInterrupt

    out = tmp_path / "x.wav"
    with pytest.raises(KeyboardInterrupt):
        save_audio_stream(out, chunks(), 16000)
    assert list(tmp_path.iterdir()) == []
    sf.write(str(out), np.ones(800, dtype=np.float32) * 0.5, 16000)
    with pytest.raises(KeyboardInterrupt):
        save_audio_stream(out, chunks(), 16000)
    assert list(tmp_path.iterdir()) == [out] and sf.info(str(out)).frames == 800


# -----------------------------------------------------------------------------------------------------
# The command line and bad input


def run(argv, checkpoint):
    """infer.main's exit message, or None when it finished."""
    try:
        infer.main(["--checkpoint", str(checkpoint), *argv])
    except SystemExit as e:
        return str(e.code)
    return None


def write(path, samples, rate):
    sf.write(str(path), samples, rate)
    return path


@pytest.mark.parametrize("text, expected", [
    ("", "nothing to say"),
    ("   \t  ", "nothing to say"),
    ("🙂🎉👍", "nothing to say"),
    ("word " * 2000, "longer than 5,000"),
])
def test_bad_text_is_a_one_line_error_and_no_file(checkpoint, tmp_path, text, expected):
    out = tmp_path / "x.wav"
    message = run(["--text", text, "--out", str(out)], checkpoint)
    assert message.startswith("error:") and expected in message and "\n" not in message
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_context_too_short_for_any_text_is_named_as_such(tts):
    config = GPTConfig(speech_vocab_size=CODES, n_layer=1, n_head=1, n_kv_head=1, d_model=8, max_seq_len=64)
    small = TTS(GPT(config), tts.codec, tts.speaker_map, RATES)
    with pytest.raises(TTSError, match="a context of 64 tokens leaves no room"):
        small.prepare("Hello.", "kal", None, 5000)


def test_cli_says_when_the_length_bound_stopped_a_part(checkpoint, tmp_path, monkeypatch, capsys):
    load = infer.TTS.load

    def never_ending(*args, **kwargs):
        tts = load(*args, **kwargs)
        tts.model = FixedLogits(favouring(3, end=-float("inf")))
        return tts

    monkeypatch.setattr(infer.TTS, "load", never_ending)
    assert run(["--text", "Say this.", "--out", str(tmp_path / "x.wav")], checkpoint) is None
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "real-time factor" in out[0] and "1 of 1 part(s) did not end by themselves" in out[0]


@pytest.mark.parametrize("extra, expected", [
    (["--temperature", "-1"], "temperature"),
    (["--top_k", "0"], "top_k"),
    (["--top_p", "0"], "top_p"),
    (["--cfg_scale", "-0.5"], "cfg_scale"),
    (["--cfg_scale", "inf"], "cfg_scale"),
    (["--temperature", "nan"], "temperature"),
    (["--seed", str(2 ** 64)], "seed"),
    (["--best_of", "0"], "best_of"),
    (["--batch_size", "0"], "batch_size"),
    (["--best_of", "2", "--stream"], "cannot stream"),
    (["--best_of", "2", "--temperature", "0"], "greedy"),
    (["--out", "OUT/x.mp3"], "must end in"),
    (["--out", "OUT"], "must end in"),
    (["--out", "OUT/x.ogg", "--stream"], "must end in"),
    (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "nonsense"], "device"),
])
def test_bad_options_are_one_line_errors(checkpoint, tmp_path, extra, expected):
    extra = [a.replace("OUT", str(tmp_path)) for a in extra]
    message = run(["--text", "Say this.", "--out", str(tmp_path / "x.wav"), *extra], checkpoint)
    assert message is not None and message.startswith("error:") and expected in message, message
    assert "\n" not in message and sorted(tmp_path.iterdir()) == []


def test_broken_checkpoint_and_bad_line_are_named(checkpoint, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(checkpoint.read_bytes()[:1000])
    message = run(["--text", "hi", "--out", str(tmp_path / "x.wav")], broken)
    assert message.startswith("error:") and "broken.pt" in message and "\n" not in message
    lines = tmp_path / "lines.txt"
    lines.write_text("Fine.\n🙂\n", encoding="utf-8")
    message = run(["--text_file", str(lines), "--out_dir", str(tmp_path / "o")], checkpoint)
    assert message.startswith("error:") and "line 2" in message
    assert not (tmp_path / "o" / "001.wav").exists()  # nothing is spoken before every line is checked


def test_guidance_on_a_model_without_text_dropout_speaks_with_a_note(checkpoint, tmp_path, capsys):
    out = tmp_path / "g.wav"
    assert run(["--text", "Guide me.", "--cfg_scale", "2", "--out", str(out)], checkpoint) is None
    assert sf.info(str(out)).frames > 0
    assert "never trained without text" in capsys.readouterr().err


def test_control_characters_and_missing_folders_are_handled(checkpoint, tmp_path):
    out = tmp_path / "new" / "deeper" / "x.wav"
    text = "Hello\x00 there\x1b[31m, friend\x07."
    prefixes, parts = TTS.load(checkpoint).prepare(text, None, None, 5000)
    assert parts == ["hello there, friend."]
    assert not any(t < 32 for t in prefixes[0][0].tolist())  # no control byte reaches the model
    assert run(["--text", text, "--out", str(out)], checkpoint) is None
    assert sf.info(str(out)).frames > 0
    assert [p.name for p in out.parent.iterdir()] == ["x.wav"]  # no temp file left beside it


def test_text_file_writes_numbered_wavs(checkpoint, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nThird line!\n", encoding="utf-8")
    assert run(["--text_file", str(lines), "--out_dir", str(tmp_path / "o"), "--stream"], checkpoint) is None
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["001.wav", "003.wav"]


def test_text_file_lines_spoken_side_by_side_are_what_each_line_speaks(checkpoint, tmp_path, capsys):
    texts = ["The first line.", "A second line, a little longer than the first one.", "Third!"]
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert run(["--text_file", str(lines), "--out_dir", str(tmp_path / "o"), "--batch_size", "2"],
               checkpoint) is None
    assert "2 files side by side" in capsys.readouterr().out  # lines 1 and 2 together, then line 3
    for i, text in enumerate(texts, 1):
        alone = tmp_path / f"alone{i}.wav"
        assert run(["--text", text, "--out", str(alone)], checkpoint) is None
        assert np.array_equal(sf.read(str(tmp_path / "o" / f"{i:03d}.wav"))[0], sf.read(str(alone))[0])


def test_prompt_errors(checkpoint, tmp_path):
    rate = 16000
    speech = 0.3 * np.sin(np.linspace(0, 2000, 3 * rate)).astype(np.float32)
    silent = write(tmp_path / "silent.wav", np.zeros(3 * rate, np.float32), rate)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wav file")
    long = write(tmp_path / "long.wav", np.zeros(600 * 8000, np.int16), 8000)
    good = write(tmp_path / "good.wav", speech, rate)
    out = tmp_path / "out.wav"
    cases = [
        (["--prompt_wav", str(silent), "--prompt_text", "hello"], "silent"),
        (["--prompt_wav", str(corrupt), "--prompt_text", "hello"], "cannot read"),
        (["--prompt_wav", str(long), "--prompt_text", "hello"], "600.0 s long"),
        (["--prompt_wav", str(good)], "transcript"),
        (["--prompt_text", "hello"], "goes with --prompt_wav"),
        (["--prompt_wav", str(good), "--prompt_text", "hello", "--speaker", "kal"], "not both"),
        (["--speaker", "nobody"], "unknown speaker 'nobody'; this model knows kal, slt"),
    ]
    for extra, expected in cases:
        message = run(["--text", "Say this.", "--out", str(out), *extra], checkpoint)
        assert message is not None and message.startswith("error:") and expected in message, (extra, message)
        assert "\n" not in message and not out.exists()


def test_stereo_48k_prompt_clones(checkpoint, tmp_path, monkeypatch):
    t = np.arange(3 * 48000) / 48000
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], axis=1)
    prompt = write(tmp_path / "stereo.wav", stereo.astype(np.float32), 48000)
    out = tmp_path / "clone.wav"
    prefixes = []
    original = GPT.generate_stream

    def recording(self, prefix_ids, *args, **kwargs):
        prefixes.append(prefix_ids[0].tolist())
        yield from original(self, prefix_ids, *args, **kwargs)

    monkeypatch.setattr(GPT, "generate_stream", recording)
    assert run(["--text", "Say this.", "--out", str(out), "--prompt_wav", str(prompt),
                "--prompt_text", "what the prompt says"], checkpoint) is None
    assert sf.info(str(out)).samplerate == 16000
    # What the prompt's codes are made from: the channels' mean at 16 kHz, against the same tones
    # computed at 16 kHz (the resampler's edges left out), and one code per hop of it.
    t16 = np.arange(3 * 16000) / 16000
    mono = 0.5 * (0.3 * np.sin(2 * np.pi * 220 * t16) + 0.2 * np.sin(2 * np.pi * 330 * t16))
    loaded = load_audio(prompt, 16000).numpy()
    assert len(loaded) == len(mono) and np.abs(loaded - mono)[400:-400].max() < 0.01
    tts = TTS.load(checkpoint)
    _, codes = tts.prompt(prompt, "what the prompt says")
    assert codes == tts.codec.encode(torch.from_numpy(loaded)).tolist() and len(codes) == 3 * 50
    # The model spoke after the prompt, written out by hand: START, the prompt's transcript (given its full
    # stop), the text, SPEECH_START, the prompt's codes; no speaker token.
    assert prefixes == [[256, *b"what the prompt says.", *b"say this.", 257, *(TEXT_VOCAB_SIZE + c for c in codes)]]


def test_wrong_codec_or_missing_model_is_one_line(checkpoint, tmp_path):
    other = tmp_path / "other.pt"
    codec = tiny_codec()
    codec.decoder.head.bias.data += 1  # a different file than the one the model names
    codec.save(other)
    message = run(["--text", "hi", "--codec", str(other), "--out", str(tmp_path / "o.wav")], checkpoint)
    assert message.startswith("error:") and "not the codec" in message
    with pytest.raises(TTSError, match="no model"):
        TTS.load(tmp_path / "missing.pt")
    config = asdict(tiny_codec().config)
    smaller = Codec(CodecConfig(**{**config, "codebook_size": CODES // 2}))
    smaller.save(tmp_path / "smaller.pt")
    message = run(["--text", "hi", "--codec", str(tmp_path / "smaller.pt"), "--out", str(tmp_path / "o.wav")],
                  checkpoint)
    assert message.startswith("error:") and f"{CODES}-entry codebook" in message and f"has {CODES // 2}" in message
    message = run(["--text", "hi", "--out", str(tmp_path / "o.wav")], other)  # the codec as the GPT
    assert message.startswith("error:") and "is not a GPT checkpoint" in message and "\n" not in message
    assert not (tmp_path / "o.wav").exists()


def test_a_new_decoder_serves_a_model_trained_on_the_same_tokens(checkpoint, tmp_path):
    """A model that knows its codec's tokens fingerprint takes any codec with the same encoder and
    codebook (a decoder fine-tuned with train_tokenizer.py --decoder_only), and still refuses others."""
    saved = torch.load(checkpoint, weights_only=True)
    codec = tiny_codec()
    saved["codes_info"]["tokens_sha256"] = codec.tokens_sha256()
    torch.save(saved, tmp_path / "gpt.pt")
    codec.decoder.head.bias.data += 1
    codec.save(tmp_path / "new_decoder.pt")
    tts = TTS.load(tmp_path / "gpt.pt", codec=tmp_path / "new_decoder.pt")
    assert torch.equal(tts.codec.decoder.head.bias, codec.decoder.head.bias.half().float())
    codec.encoder.input.bias.data += 1
    codec.save(tmp_path / "new_encoder.pt")
    with pytest.raises(TTSError, match="not the codec"):
        TTS.load(tmp_path / "gpt.pt", codec=tmp_path / "new_encoder.pt")


# -----------------------------------------------------------------------------------------------------
# lab/eval.py tts


def test_eval_tts_counts_the_utterances_the_length_bound_stopped(checkpoint, tmp_path, monkeypatch, capsys):
    import json

    from lab import eval as evaluation
    load = infer.TTS.load
    ends_at = {"One.": True, "Two words.": False}  # END likeliest at once, or never

    def load_fixed(*args, **kwargs):
        tts = load(*args, **kwargs)
        speak = tts.codes

        def codes(text, **options):
            tts.model = FixedLogits(favouring(CODES, end=20.0) if ends_at[text] else
                                    favouring(3, end=-float("inf")))
            return speak(text, **options)

        tts.codes = codes
        return tts

    monkeypatch.setattr(infer.TTS, "load", load_fixed)
    sentences = tmp_path / "s.txt"
    sentences.write_text("One.\nTwo words.\n", encoding="utf-8")
    evaluation.main(["tts", "--sentences", str(sentences), "--out_dir", str(tmp_path / "out"),
                     "--checkpoint", str(checkpoint), "--speaker", "slt"])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [u["cut"] for u in report["utterances"]] == [0, 1] and report["metrics"]["all"]["cut"] == 1
    header, _, row = capsys.readouterr().out.strip().splitlines()[-3:]
    assert row.split()[header.split().index("cut") - 2] == "1"  # "audio s" and "mean s" are two words each


def test_eval_tts_speaks_typed_forms_and_scores_the_sentence_as_written(checkpoint, tmp_path):
    """--form types each sentence another way: a form that normalises to the written text speaks the
    same audio (same seed, same input); the report keeps the written text, which the WER is scored on."""
    import json

    from lab import eval as evaluation
    written = ["Is it late, Dr. Lee?", "The bus was late."]
    assert [evaluation.TYPED_FORMS[form](written[0]) for form in ("lower_bare", "upper", "trailing_dash")] == [
        "is it late, dr. lee", "IS IT LATE, DR. LEE?", "Is it late, Dr. Lee -"]
    sentences = tmp_path / "s.txt"
    sentences.write_text("\n".join(written) + "\n", encoding="utf-8")
    reports, audio = {}, {}
    for form in ("clean", "upper", "emoji", "lower_bare"):
        evaluation.main(["tts", "--sentences", str(sentences), "--out_dir", str(tmp_path / form), "--checkpoint",
                         str(checkpoint), "--speaker", "slt", "--form", form])
        reports[form] = json.loads((tmp_path / form / "report.json").read_text())
        audio[form] = [sf.read(str(tmp_path / form / name))[0] for name in ("001.wav", "002.wav")]
    assert [u["text"] for u in reports["upper"]["utterances"]] == written
    assert [u["typed"] for u in reports["upper"]["utterances"]] == [w.upper() for w in written]
    assert [reports[form]["form_same_text"] for form in ("clean", "upper", "emoji", "lower_bare")] == [2, 2, 2, 1]
    for form in ("upper", "emoji"):
        assert all(np.array_equal(a, b) for a, b in zip(audio[form], audio["clean"]))
    assert np.array_equal(audio["lower_bare"][1], audio["clean"][1])  # "the bus was late" gets its full stop


def test_eval_tts_speaks_numbered_files_and_reports(checkpoint, tmp_path):
    import importlib.util
    import json
    import subprocess
    import sys

    sentences, refs, out = tmp_path / "s.txt", tmp_path / "refs", tmp_path / "out"
    sentences.write_text("The first sentence.\n\nThe third one, after a blank line.\n", encoding="utf-8")
    refs.mkdir()
    sf.write(str(refs / "001.wav"), 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    asr = ["--asr"] if importlib.util.find_spec("pocketsphinx") else []
    result = subprocess.run([sys.executable, "lab/eval.py", "tts", "--sentences", str(sentences), "--ref_dir",
                             str(refs), "--out_dir", str(out), "--checkpoint", str(checkpoint), "--speaker",
                             "slt", *asr], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["001.wav", "003.wav", "report.json"]
    report = json.loads((out / "report.json").read_text())
    first, third = report["utterances"]
    assert first["reference"] == str(refs / "001.wav") and third["reference"] is None
    assert first["seconds"] == sf.info(str(out / "001.wav")).duration
    overall = report["metrics"]["all"]
    assert overall["utterances"] == 2 and overall["rtf"] > 0
    assert overall["duration_ratio"] == pytest.approx(first["seconds"] / 1.0)  # only 001 has a reference
    if asr:
        assert overall["wer"] is not None and "heard" in third
        # scored on the utterances that have a reference
        assert overall["cer"] == character_error_rate([first["text"]], [first["heard"]])
        assert overall["cer_original"] == character_error_rate([first["text"]], [first["heard_original"]])
    assert result.stdout.strip().splitlines()[-1].startswith("all ")

    (refs / "003.wav").write_bytes(b"RIFF, but broken")
    for extra in (["--sentences", str(tmp_path / "none.txt")],  # no such file
                  ["--sentences", str(sentences), "--ref_dir", str(refs)],  # a corrupt reference
                  ["--sentences", str(sentences), "--ref_dir", str(tmp_path / "nowhere")],
                  ["--sentences", str(sentences), "--speaker", "kal", "--prompt_wav", str(refs / "001.wav")],
                  ["--sentences", str(sentences), "--limit", "0"],
                  ["--sentences", str(sentences), "--asr", "--asr_workers", "0"],
                  ["--speaker", "bob"],  # the demo's test sentences, in a voice the model lacks
                  ["--sentences", str(sentences), "--temperature", "nan"]):
        bad = subprocess.run([sys.executable, "lab/eval.py", "tts", "--out_dir", str(tmp_path / "bad"),
                              "--checkpoint", str(checkpoint), *extra],
                             capture_output=True, text=True, cwd=ROOT)
        assert bad.returncode != 0 and bad.stderr.startswith("error:"), (extra, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert not (tmp_path / "bad").exists()
    (tmp_path / "a_file").write_text("")
    bad = subprocess.run([sys.executable, "lab/eval.py", "tts", "--out_dir", str(tmp_path / "a_file"), "--sentences",
                          str(sentences), "--checkpoint", str(checkpoint)], capture_output=True, text=True,
                         cwd=ROOT)
    assert bad.returncode != 0 and bad.stderr.startswith("error: --out_dir"), bad.stderr
