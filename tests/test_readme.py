"""Every `python -m enaslite` command in the README runs, and none leaves a trace in git.

The commands run in a throwaway git copy of the repository (its tracked files as they are now, committed runs
included), so a command that wrote into a committed run dir, or anywhere git sees, shows in `git status`.
A command whose `--run-dir` is a committed run runs exactly as written: it must say the run is finished and change
nothing. `reproduce` runs with `--check`: every run the book needs at its scale must be committed. Every other
command runs at the `smoke` preset with 2 epochs; commands that need CIFAR are skipped (it can't be downloaded here),
and files a command names as its input (an .npz, an arc file) are made for it.
"""

import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def bash_blocks() -> list[str]:
    """The README's bash code blocks, in order."""
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def readme_commands() -> list[str]:
    """The `python -m enaslite` lines of the README's bash blocks (a `.ci/setup && ` prefix dropped)."""
    lines = []
    for block in bash_blocks():
        for line in block.splitlines():
            line = line.strip().removeprefix(".ci/setup && ")
            if line.startswith("python -m enaslite"):
                lines.append(line)
    return lines


def at_smoke_scale(argv: list[str]) -> list[str]:
    """`argv` at the smoke preset, 2 epochs, and a 2-step benchmark."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--preset", "--epochs", "--epoch"):
            out += [arg, {"--preset": "smoke", "--epochs": "2", "--epoch": "2"}[arg]]
            i += 2
            continue
        out.append(re.sub(r"controller_epoch\d{4}", "controller_epoch0002", arg))
        i += 1
    if "--preset" not in out and out[3] in ("retrain", "search", "bench", "params"):
        out += ["--preset", "smoke"]
    if out[3] == "bench":
        out += ["--steps", "2", "--repeats", "1", "--num-arcs", "2"]
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A git repository holding the tracked files of this checkout, committed, plus the README's input files."""
    dest = tmp_path_factory.mktemp("clone")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes((ROOT / name).read_bytes())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-qm", "snapshot"], cwd=dest, check=True)
    # Inputs the README's examples assume the user has; git is told to ignore them.
    rng = np.random.default_rng(0)
    np.savez(dest / "my_images.npz", x_train=rng.integers(0, 255, (200, 12, 12, 3), dtype=np.uint8),
             y_train=rng.integers(0, 3, 200), x_test=rng.integers(0, 255, (40, 12, 12, 3), dtype=np.uint8),
             y_test=rng.integers(0, 3, 40))
    (dest / "arc.txt").write_text("0 3 0 2 1 0\n")
    (dest / ".git" / "info" / "exclude").write_text("my_images.npz\narc.txt\n")
    return dest


def test_readme_has_commands():
    """The README shows the main job, a search, sample, params and bench."""
    commands = " ".join(readme_commands())
    for verb in ("retrain", "search", "sample", "params", "bench"):
        assert f"python -m enaslite {verb}" in commands


def test_ci_runs_the_readmes_second_command():
    """The README's first bash block sets up and runs the main job, its second is the test command, and `.ci/run`
    ends with exactly that command after `.ci/setup`."""
    blocks = bash_blocks()
    assert blocks[0].strip().startswith(".ci/setup && python -m enaslite reproduce")
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-2:] == [".ci/setup", blocks[1].strip()]


@pytest.mark.smoke
def test_every_readme_command_runs_and_leaves_git_clean(clone, monkeypatch, capsys):
    """Each README command exits 0 (a committed run: unchanged, 'finished'), and `git status` stays clean.
    The commands run in this process through `cli.main` (what `python -m enaslite` calls), in the copy's folder:
    a fresh interpreter per command would only add TensorFlow's start-up time."""
    from enaslite.cli import main
    monkeypatch.chdir(clone)
    ran = 0
    committed_runs = {str(p.parent.relative_to(clone)) for p in clone.glob("runs/**/finished.json")}
    for line in readme_commands():
        argv = shlex.split(line)
        if any(d in argv for d in ("cifar10", "cifar100")):
            continue  # needs CIFAR, which can't be downloaded here
        run_dir = argv[argv.index("--run-dir") + 1] if "--run-dir" in argv else None
        committed = run_dir is not None and str(Path(run_dir)) in committed_runs
        if argv[3] == "reproduce":
            # The book's full build takes minutes (the smoke book test builds it); here the command must find every
            # run it needs committed, so that it trains nothing.
            argv = argv + ["--check"]
        elif not committed:
            argv = at_smoke_scale(argv)
        code = main(argv[3:])
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n{err[-2000:]}"
        if committed and argv[3] in ("retrain", "search"):
            assert "is a finished run" in out, line
        ran += 1
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", status
    assert ran >= 8
