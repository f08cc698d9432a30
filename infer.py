"""
Speak text with the trained TTS GPT and the speech codec.

Not built yet: this script arrives with the GPT and inference issues. Until then it says so and exits.
"""
import sys

if __name__ == "__main__":
    sys.exit("infer.py: not built yet (see the Status section of README.md)")
