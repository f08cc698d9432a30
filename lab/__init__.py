"""The lab: measuring and experimenting with the models, beside the code a learner reads.

    python lab/eval.py tts --asr --out_dir out/eval_tts    # what the TTS says, judged by a recogniser
    python lab/bench.py tts                                 # speed: real-time factor, time to first audio
    python lab/train_dpo.py ...                             # preference tuning (measured; did not help)
    python lab/teacher_forced_codes.py ...                  # codes for a decoder tuned on the GPT's own

lab/EXPERIMENTS.md is the lab notebook: every run behind the shipped models, with its command and numbers.
"""
