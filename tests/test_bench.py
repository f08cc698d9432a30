"""bench.py prints numbers (no timing is asserted: machines differ); these check that the numbers it prints
are consistent with each other and with the model they describe."""
import re

import pytest
import torch

from bench import main
from model.gpt import GPT, PRESETS, GPTConfig


@pytest.fixture(autouse=True)
def keep_threads():
    """--threads sets torch's thread count for the whole process: give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_train_bench_reports_consistent_tokens_per_second_and_mfu(capsys):
    main(["train", "--preset", "cpu", "--max_tokens", "256", "--seq_len", "128", "--repeats", "1",
          "--peak_flops", "1e9", "--threads", "1"])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("cpu "))
    _, params, tokens_per_s, mfu, step_ms, memory, _ = row.split()
    tokens_per_s, mfu, step_s = float(tokens_per_s), float(mfu.rstrip("%")) / 100, float(step_ms[:-2]) / 1000
    model = GPT(GPTConfig(**PRESETS["cpu"]))
    assert params == f"{model.num_parameters() / 1e6:.1f}M"
    assert abs(tokens_per_s * step_s / 256 - 1) < 0.01  # two sequences of 128 tokens a step, no padding
    expected = model.estimate_flops_per_token(128) * tokens_per_s / 1e9
    assert abs(mfu - expected) < 0.001 + 0.01 * expected
    assert float(memory) > 0


def test_codec_and_tts_bench_print_their_figures(capsys):
    main(["codec", "--seconds", "0.5", "--repeats", "1", "--threads", "1"])
    main(["tts", "--preset", "cpu", "--seconds", "0.5", "--repeats", "1", "--threads", "1"])
    main(["tts", "--preset", "cpu", "--seconds", "0.5", "--repeats", "1", "--threads", "1", "--cfg_scale", "2"])
    out = capsys.readouterr().out
    assert "batch 1, " in out and "batch 1 (x2: guidance 2), " in out
    assert len(re.findall(r"x real time", out)) == 3  # encode, decode, both
    factor = float(re.search(r"real-time factor ([\d.]+)", out).group(1))
    assert factor > 0 and re.search(r"first audio after \d+ ms", out)


def test_synthetic_training_batches_fill_seq_len_and_bad_sizes_are_refused():
    from bench import synthetic_batch
    ids, targets = synthetic_batch(1024, 1024, 256, torch.Generator().manual_seed(0))
    assert ids.shape == targets.shape == (4, 256)
    for bad in (["--seq_len", "48"], ["--seconds", "0"]):
        with pytest.raises(SystemExit, match="^error:"):
            main(["train" if "--seq_len" in bad else "tts", *bad])
