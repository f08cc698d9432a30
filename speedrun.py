"""
From the demo audio to a speaking model in one command: make the corpus, train the codec, encode the
corpus, pretrain the GPT, evaluate both, and print what each stage cost and what came out.

    python speedrun.py --preset cpu        # 2 CPU cores: the README's cost table says how long
    python speedrun.py --preset gpu        # one GPU
    python speedrun.py --preset cpu        # again after an interruption: finished stages are skipped,
                                           # interrupted trainings resume from their last.pt

Every stage is one of the project's own scripts, run as a subprocess with the flags printed, so each can
be rerun by hand. Everything goes to --out_dir (default out/speedrun; one preset per folder), except the
demo corpus's own audio and metadata (dataset/demo/, which make_demo.py completes); the shipped checkpoints
are not touched. The table at the end is also saved as --out_dir/summary.json. Each stage's minutes are kept in
--out_dir/minutes.json and add up over interruptions, so the table shows what the whole run cost.
"""
import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from dataset.files import write_atomic

ROOT = Path(__file__).resolve().parent


def write_json(path, obj):
    """A JSON file written atomically (dataset/files.py): no half-written report."""
    write_atomic(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


# Steps per stage. cpu: fits 2 CPU cores in a few hours; gpu: one GPU, where the codec also gets its
# adversarial stage. The GPT trains with text dropout and speaks with classifier-free guidance
# (model/gpt.py, generate_stream). eval_limit: test sentences per voice for the WER measurements.
GUIDANCE = dict(text_dropout=0.1, cfg_scale=1.5)
PRESETS = {
    "cpu": dict(device="cpu", codec_steps=12_000, gan_start=12_000, gpt_preset="cpu", gpt_steps=2_000,
                eval_limit=40, **GUIDANCE),
    "gpu": dict(device="cuda", codec_steps=30_000, gan_start=5_000, gpt_preset="gpu", gpt_steps=10_000,
                eval_limit=120, **GUIDANCE),
    # A few steps of everything on the audio already there (no corpus making): checks that the stages fit
    # together (the tests run it); its numbers mean nothing.
    "smoke": dict(device="cpu", codec_steps=4, gan_start=2, gpt_preset="cpu", gpt_steps=4, eval_limit=1,
                  encode_limit=2, **GUIDANCE),
}


def run_stage(name, command, log, done, spent):
    """Run `command` (a list) unless done() says the stage has finished; returns the minutes the stage has
    cost so far, this run and earlier interrupted ones (kept in the file `spent`)."""
    record = json.loads(spent.read_text()) if spent.is_file() else {}
    if done():
        print(f"== {name}: already done, skipped")
        return record.get(name, 0.0)
    print(f"== {name}: {shlex.join(command)}", flush=True)
    start = time.time()
    try:
        with open(log, "a") as f:
            result = subprocess.run(command, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    finally:  # an interrupted stage's minutes count too: its training resumes, its time was spent
        minutes = (time.time() - start) / 60
        record[name] = record.get(name, 0.0) + minutes
        write_json(spent, record)
    if result.returncode != 0:
        tail = "".join(Path(log).read_text(errors="replace").splitlines(keepends=True)[-5:])
        sys.exit(f"error: {name} failed after {minutes:.1f} min (exit {result.returncode}); "
                 f"its output is in {log}:\n{tail}")
    print(f"   {minutes:.1f} min")
    return record[name]


def evaluated(report, command, *sources):
    """True when `report` (a report.json) was written after every one of `sources`, by this very command
    (another --limit, or no --asr, would have measured something else)."""
    if not (report.is_file() and all(report.stat().st_mtime > Path(s).stat().st_mtime for s in sources)):
        return False
    try:
        return json.loads(report.read_text()).get("command") == shlex.join(["python"] + command[1:])
    except ValueError:
        return False


def steps_done(folder, steps, artifact):
    """True when folder/log.csv's last row is step `steps` and folder/artifact was written after it: a
    training run that finished (the last row is logged just before the final save)."""
    log, artifact = Path(folder) / "log.csv", Path(folder) / artifact
    if not log.is_file() or not artifact.is_file() or artifact.stat().st_mtime < log.stat().st_mtime:
        return False
    lines = log.read_text().strip().splitlines()
    return len(lines) > 1 and lines[-1].split(",")[0] == str(steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=list(PRESETS), default="cpu")
    parser.add_argument("--out_dir", type=Path, default=Path("out/speedrun"))
    parser.add_argument("--asr", action=argparse.BooleanOptionalAction, default=True,
                        help="measure WER with pocketsphinx (an optional extra)")
    args = parser.parse_args(argv)
    p = PRESETS[args.preset]
    if args.asr:  # find out now, not after hours of training
        try:
            import pocketsphinx  # noqa: F401
        except ImportError:
            sys.exit("error: --asr needs pocketsphinx (pip install -r requirements-extra.txt); "
                     "or run with --no-asr")
    out = args.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    preset_file = out / "preset.json"  # one preset per folder: its stages resume each other's checkpoints
    if preset_file.is_file() and json.loads(preset_file.read_text()).get("preset") != args.preset:
        sys.exit(f"error: {out} holds a speedrun of preset {json.loads(preset_file.read_text())['preset']!r}: "
                 f"give --preset {args.preset} another --out_dir")
    write_json(preset_file, {"preset": args.preset})
    log, spent = out / "speedrun.log", out / "minutes.json"
    python = [sys.executable]
    codec_dir, codes_dir, gpt_dir = out / "codec", out / "codes", out / "gpt"
    asr = ["--asr"] if args.asr else []
    minutes = {}

    if args.preset != "smoke":
        # The repository ships the test and validation audio; the training audio is spoken here.
        minutes["demo corpus"] = run_stage("demo corpus", python + ["dataset/make_demo.py"], log,
                                           done=lambda: False, spent=spent)  # make_demo.py skips what exists
    codec_resume = ["--resume"] if (codec_dir / "last.pt").is_file() else []
    minutes["codec training"] = run_stage(
        "codec training", python + ["train_tokenizer.py", "--device", p["device"],
                                    "--max_steps", str(p["codec_steps"]), "--gan_start", str(p["gan_start"]),
                                    "--out_dir", str(codec_dir), *codec_resume], log,
        done=lambda: steps_done(codec_dir, p["codec_steps"], "codec.pt"), spent=spent)
    minutes["encoding"] = run_stage(
        "encoding", python + ["dataset/encode_corpus.py", "--codec",
                              str(codec_dir / "codec.pt"), "--out_dir", str(codes_dir),
                              "--device", p["device"],
                              *(["--limit", str(p["encode_limit"])] if p.get("encode_limit") else [])],
        log, done=lambda: False, spent=spent)  # encode_corpus.py itself skips work done with this codec
    gpt_resume = ["--resume"] if (gpt_dir / "last.pt").is_file() else []
    minutes["GPT pretraining"] = run_stage(
        "GPT pretraining", python + ["train_pretrain.py", "--data", str(codes_dir), "--device", p["device"],
                                     "--preset", p["gpt_preset"], "--max_steps", str(p["gpt_steps"]),
                                     "--text_dropout", str(p["text_dropout"]), "--out_dir", str(gpt_dir),
                                     *gpt_resume], log,
        done=lambda: steps_done(gpt_dir, p["gpt_steps"], "model.pt"), spent=spent)
    limit = ["--limit", str(p["eval_limit"])]
    command = python + ["lab/eval.py", "codec", "--codec", str(codec_dir / "codec.pt"), "--out_dir",
                        str(out / "eval_codec"), "--device", p["device"], *limit, *asr]
    minutes["codec evaluation"] = run_stage(
        "codec evaluation", command, log,
        done=lambda: evaluated(out / "eval_codec" / "report.json", command, codec_dir / "codec.pt"), spent=spent)
    tts_command = python + ["lab/eval.py", "tts", "--checkpoint", str(gpt_dir / "model.pt"), "--out_dir",
                            str(out / "eval_tts"), "--device", p["device"], "--cfg_scale", str(p["cfg_scale"]),
                            *limit, *asr]
    minutes["TTS evaluation"] = run_stage(
        "TTS evaluation", tts_command, log,
        done=lambda: evaluated(out / "eval_tts" / "report.json", tts_command, codec_dir / "codec.pt",
                               gpt_dir / "model.pt"), spent=spent)

    codec_report = json.loads((out / "eval_codec" / "report.json").read_text())
    tts_report = json.loads((out / "eval_tts" / "report.json").read_text())
    summary = dict(preset=args.preset, minutes=minutes, codec=codec_report["metrics"],
                   tts=tts_report["metrics"])
    write_json(out / "summary.json", summary)

    print(f"\nspeedrun ({args.preset}) in {out}")
    print(f"{'stage':<18}{'minutes':>8}")
    for stage, value in minutes.items():
        print(f"{stage:<18}{value:>8.1f}")
    print(f"{'total':<18}{sum(minutes.values()):>8.1f}\n")

    def number(row, key, spec):
        return "n/a" if row.get(key) is None else format(row[key], spec)

    print(f"{'voice':<7}{'codec WER ratio':>16}{'STOI':>7}{'TTS WER':>9}{'WER orig':>10}{'TTS WER ratio':>15}"
          f"{'TTS RTF':>9}")
    for voice, row in tts_report["metrics"].items():
        c = codec_report["metrics"].get(voice, {})
        print(f"{voice:<7}{number(c, 'wer_ratio', '.2f'):>16}{number(c, 'stoi', '.3f'):>7}"
              f"{number(row, 'wer', '.3f'):>9}{number(row, 'wer_original', '.3f'):>10}"
              f"{number(row, 'wer_ratio', '.2f'):>15}{number(row, 'rtf', '.3f'):>9}")


if __name__ == "__main__":
    main()
