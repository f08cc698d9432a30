"""speedrun.py end to end in its smoke preset: a few steps of every stage on the audio already present,
so the stages are known to fit together (flags, files one stage leaves for the next, the summary)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_speedrun_runs_every_stage_and_resumes(tmp_path):
    command = [sys.executable, "speedrun.py", "--preset", "smoke", "--out_dir", str(tmp_path), "--no-asr"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["minutes"]) == ["codec training", "encoding", "GPT pretraining", "codec evaluation",
                                        "TTS evaluation"]
    assert set(summary["tts"]) == {"kal", "ked", "slt", "all"} and summary["tts"]["all"]["rtf"] > 0
    assert summary["codec"]["all"]["utterances"] == 3
    info = json.loads((tmp_path / "codes" / "info.json").read_text())
    assert info["limit"] == 2 and info["codec"] == str(tmp_path / "codec" / "codec.pt")
    assert result.stdout.strip().splitlines()[-1].startswith("all")
    # The GPT trained with text dropout (model.pt records it) and the evaluation spoke with guidance.
    assert torch.load(tmp_path / "gpt" / "model.pt", weights_only=True)["text_dropout"] == 0.1
    report = json.loads((tmp_path / "eval_tts" / "report.json").read_text())
    assert report["sampling"]["cfg_scale"] == 1.5

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)  # finished stages: skipped
    assert again.returncode == 0
    for stage in ["codec training", "GPT pretraining", "codec evaluation", "TTS evaluation"]:
        assert f"{stage}: already done" in again.stdout
    # Skipped stages keep the minutes they cost the first time; encoding ran again (it checks its own work
    # and finds it done), so its minutes only grow.
    second = json.loads((tmp_path / "summary.json").read_text())["minutes"]
    for stage in ["codec training", "GPT pretraining", "codec evaluation", "TTS evaluation"]:
        assert second[stage] == summary["minutes"][stage] > 0
    assert second["encoding"] > summary["minutes"]["encoding"]
    # One preset per folder: another would resume this one's checkpoints
    other = subprocess.run(command[:3] + ["cpu"] + command[4:], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)  # a refusal is quick; a run that went on would take hours
    assert other.returncode != 0 and "holds a speedrun of preset 'smoke'" in other.stderr


def test_an_evaluation_counts_as_done_only_for_the_same_command(tmp_path):
    from speedrun import evaluated
    source = tmp_path / "model.pt"
    source.write_bytes(b"weights")
    report = tmp_path / "report.json"
    command = [sys.executable, "lab/eval.py", "tts", "--limit", "40", "--asr"]
    report.write_text(json.dumps({"command": "python lab/eval.py tts --limit 40 --asr"}))
    assert evaluated(report, command, source)
    assert not evaluated(report, command[:-1], source)  # without --asr: another measurement
    assert not evaluated(report, command[:4] + ["60", "--asr"], source)
    source.write_bytes(b"newer weights")  # written after the report
    os.utime(source, (report.stat().st_mtime + 10,) * 2)
    assert not evaluated(report, command, source)
