"""The TTS GPT (a decoder-only transformer over text and speech tokens) will live here."""
