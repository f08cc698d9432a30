"""The speech codec (encoder, one VQ codebook, iSTFT decoder) and the text tokenizer will live here."""
