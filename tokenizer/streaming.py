"""
Decoding speech codes while they are still being generated: infer.py's --stream and TTS.stream.

    decoder = StreamDecoder(codec)
    for code in model.generate_stream(prefix, ...):
        samples = decoder.push(code)       # often empty; a chunk of waveform once enough codes are in
    samples = decoder.flush()              # the rest, after the last code
"""
import torch


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
