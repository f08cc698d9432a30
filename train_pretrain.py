"""
Pretrain the TTS GPT on speech tokens of a corpus (default: the embedded demo corpus).

Not built yet: this script arrives with the GPT and inference issues. Until then it says so and exits.
"""
import sys

if __name__ == "__main__":
    sys.exit("train_pretrain.py: not built yet (the corpus and audio plumbing are; see README.md)")
