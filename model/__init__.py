"""The TTS GPT (model/gpt.py) and the token layout it reads and learns from (model/sequence.py)."""
from model.gpt import GPT, PRESETS, GPTConfig, KVCache
from model.sampling import repetition_aware, sample_next
from model.sequence import (IGNORE, PAD, SPEECH_START, SPEECH_VOCAB_SIZE, START, TEXT_VOCAB_SIZE,
                            build_example, collate, encode_text, speaker_id)
