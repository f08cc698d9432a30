"""The README's commands: every script it quotes exists, and so does every flag it gives one."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quoted_commands(markdown):
    """[(script, [arguments])] of every `python X.py ...` or `torchrun ... X.py ...` in the text: the lines
    of code blocks and inline code spans, a trailing comment left out."""
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.DOTALL):
        lines += block.splitlines()
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", markdown, flags=re.DOTALL))
    commands = []
    for line in lines:
        line = line.split(" #")[0].strip()
        for part in line.split("&&"):
            if part.split()[:1] not in (["python"], ["torchrun"]):
                continue
            words = shlex.split(part)
            script = next((w for w in words if w.endswith(".py")), None)
            if words and words[0] in ("python", "torchrun") and script is not None:
                commands.append((script, words[words.index(script) + 1:]))
    return commands


def help_text(script, subcommand):
    command = [sys.executable, str(ROOT / script)] + ([subcommand] if subcommand else []) + ["--help"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command[1:])}: {result.stderr[-500:]}"
    return result.stdout


def test_every_script_and_flag_the_readme_quotes_exists():
    commands = quoted_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) > 20 and any(script == "train_pretrain.py" and not args for script, args in commands)
    helps = {}
    for script, args in commands:
        assert (ROOT / script).is_file(), f"the README quotes {script}, which does not exist"
        subcommand = args[0] if args and not args[0].startswith("-") and script == "lab/eval.py" else None
        key = (script, subcommand)
        if key not in helps:
            helps[key] = help_text(script, subcommand)
        for flag in (a.split("=")[0] for a in args if a.startswith("--")):
            assert re.search(rf"{re.escape(flag)}\b", helps[key]), f"{script} {subcommand or ''}: no flag {flag}"


def test_quoted_commands_are_found():
    text = "run `python a.py --x 1` or\n```bash\npython b.py --y  # a comment --z\ntorchrun --n=2 c.py --w\n```\n"
    assert quoted_commands(text) == [("b.py", ["--y"]), ("c.py", ["--w"]), ("a.py", ["--x", "1"])]
