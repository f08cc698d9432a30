"""lab/bench.py prints numbers (no timing is asserted: machines differ); these check that the numbers it prints
are consistent with each other and with the model they describe."""
import re

import pytest
import torch

from lab.bench import main
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
    assert params == f"{sum(p.numel() for p in model.state_dict().values()) / 1e6:.1f}M"
    assert abs(tokens_per_s * step_s / 256 - 1) < 0.01  # two sequences of 128 tokens a step, no padding
    # FLOPs per token counted here from the matmuls themselves (PaLM's 6 per weight of every Linear layer,
    # plus 12 x layers x width x tokens for the attention scores and their weighted sum)
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    flops = 6 * linear + 12 * model.cfg.n_layer * model.cfg.d_model * 128
    assert abs(mfu - flops * tokens_per_s / 1e9) < 0.001 + 0.01 * mfu
    assert float(memory) > 0.05  # GB: the process, with torch and a 5 M-parameter model in it


def test_codec_and_tts_bench_print_their_figures(capsys):
    main(["codec", "--seconds", "0.5", "--repeats", "1", "--threads", "1"])
    main(["tts", "--preset", "cpu", "--seconds", "0.5", "--repeats", "1", "--threads", "1"])
    main(["tts", "--preset", "cpu", "--seconds", "0.5", "--repeats", "1", "--threads", "1", "--cfg_scale", "2",
          "--rows", "1", "3"])
    out = capsys.readouterr().out
    rows = re.findall(r"(\d+) rows at once +([\d.]+) s +([\d.]+) ms/step +([\d.]+) ms/code", out)
    assert [int(r[0]) for r in rows] == [8, 1, 3]  # the default, then the ones asked for
    for n, seconds, per_step, per_code in rows:  # 25 steps of n codes each
        assert float(per_step) * 25 / 1000 == pytest.approx(float(seconds), rel=0.05, abs=0.01)
        assert float(per_code) == pytest.approx(float(per_step) / int(n), rel=0.05, abs=0.01)
    assert "batch 1, " in out and "batch 1 (x2: guidance 2), " in out
    codec_rows = re.findall(r"([\d.]+) ms +([\d.]+) x real time", out)
    assert len(codec_rows) == 3  # encode, decode, both
    for ms, speed in codec_rows:  # half a second of audio in that many ms
        assert float(speed) == pytest.approx(0.5 / (float(ms) / 1000), rel=0.01, abs=0.1)
    (encode, _), (decode, _), (both, _) = codec_rows
    assert float(both) == pytest.approx(float(encode) + float(decode), abs=0.3)
    for seconds, ms_per_code in re.findall(r"generate +([\d.]+) s +([\d.]+) ms/code", out):
        assert float(ms_per_code) * 25 / 1000 == pytest.approx(float(seconds), rel=0.05, abs=0.01)  # 25 codes
    factors = [float(f) for f in re.findall(r"real-time factor ([\d.]+)", out)]
    assert len(factors) == 2 and all(f > 0 for f in factors)
    assert len(re.findall(r"first audio after \d+ ms", out)) == 2


def test_synthetic_training_batches_fill_seq_len_and_bad_sizes_are_refused():
    from lab.bench import synthetic_batch
    ids, targets = synthetic_batch(1024, 1024, 256, torch.Generator().manual_seed(0))
    assert ids.shape == targets.shape == (4, 256)
    for bad in (["--seq_len", "48"], ["--seconds", "0"], ["--rows", "0"]):
        with pytest.raises(SystemExit, match="^error:"):
            main(["train" if "--seq_len" in bad else "tts", *bad])


def test_serve_bench_prints_first_byte_and_throughput(capsys):
    main(["serve", "--repeats", "1", "--clients", "1", "2"])
    out = capsys.readouterr().out
    first = re.search(r"first audio byte after (\d+) ms, last after ([\d.]+) s: real-time factor ([\d.]+)", out)
    assert first and 0 < int(first.group(1)) <= 1000 * float(first.group(2))
    rows = re.findall(r"(\d) client\(s\) at once: +([\d.]+) sentences per minute, 95th-percentile latency ([\d.]+) s",
                      out)
    assert [clients for clients, _, _ in rows] == ["1", "2"] and all(float(rate) > 0 for _, rate, _ in rows)
