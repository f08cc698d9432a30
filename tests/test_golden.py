"""Golden outputs: the shipped model's speech codes for fixed seeds, recorded in tests/data/golden_codes.json.

Reorganising the code must not change what the shipped checkpoints say. Each case is spoken again and
compared code for code: one sentence by speaker token without guidance and with it, one with a voice
prompt, and a text of several parts spoken one part at a time. After a change that is meant to change
them (a new checkpoint, a new sampling rule), record them again and say why in the commit:

    python tests/test_golden.py      # rewrites tests/data/golden_codes.json

The codes depend on float rounding, so they hold for this project's CPU build of torch; a GPU or another
build may tip a sample, and the test then says which case and from which code on.
"""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder

GOLDEN = ROOT / "tests" / "data" / "golden_codes.json"
PROMPT = (ROOT / "dataset" / "demo" / "audio" / "slt" / "slt_0001.ogg", "Why did Elizabeth swim a few laps on "
          "such a foggy day?")
LONG = ("The bus was late because of the heavy snow, so we walked to the station together. "
        "It took an hour! Did anyone bring a spare umbrella for the way back")
CASES = {  # name: (text, options for TTS.codes)
    "speaker_no_guidance": ("Please close the window before it rains.", dict(speaker="kal", cfg_scale=1.0, seed=7)),
    "speaker_guided": ("Please close the window before it rains.", dict(speaker="ked", cfg_scale=1.5, seed=7)),
    "voice_prompt": ("The garden looks lovely in the spring.", dict(prompt=PROMPT, seed=3)),
    "several_parts": (LONG, dict(speaker="slt", seed=11, batch_size=1, max_chars=5000)),
}


def speak_cases():
    """{case: [[codes of part 1], [codes of part 2], ...]} with the shipped checkpoints on the CPU."""
    import torch

    from infer import TTS
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # as recorded: a matmul split another way may round another way
    try:
        tts = TTS.load()
        spoken = {}
        for name, (text, options) in CASES.items():
            options = dict(options)
            if "prompt" in options:
                options["prompt"] = tts.prompt(*options["prompt"])
            spoken[name] = [codes for codes, _ in tts.codes(text, **options)]
    finally:
        torch.set_num_threads(threads)
    return spoken


@pytest.fixture(scope="module")
def spoken():
    return speak_cases()


@pytest.mark.parametrize("name", list(CASES))
def test_the_shipped_model_says_what_it_said(spoken, name):
    expected = json.loads(GOLDEN.read_text())[name]
    got = spoken[name]
    assert len(got) == len(expected), f"{name}: {len(got)} parts, recorded {len(expected)}"
    for part, (codes, recorded) in enumerate(zip(got, expected)):
        first = next((i for i, (a, b) in enumerate(zip(codes, recorded)) if a != b), None)
        assert codes == recorded, (f"{name}, part {part}: {len(codes)} codes against {len(recorded)} recorded, "
                                   f"first different at {first}")


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(speak_cases()) + "\n")
    print(f"wrote {GOLDEN}")
