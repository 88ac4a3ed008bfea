import json

import pytest

from enaslite.cli import build_parser, main
from enaslite.runs import read_csv


@pytest.mark.parametrize("command", ["retrain", "params", "search", "sample", "bench"])
def test_help_for_each_command(command, capsys):
    """Every command documents its options with --help."""
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m enaslite {command}")
    assert ("--run-dir" if command == "sample" else "--preset") in out


def test_params_prints_count(capsys):
    """`params` builds a child and prints its parameter count."""
    assert main(["params", "--preset", "smoke", "--arc", "0 1 0 2 1 1"]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out and "macro child, 3 layers" in out


def test_retrain_from_cli_with_npz(tmp_path, capsys):
    """`retrain` trains from an .npz dataset path and writes its run dir."""
    import numpy as np
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=rng.integers(0, 255, (96, 12, 12, 3), dtype=np.uint8), y_train=rng.integers(0, 3, 96),
             x_test=rng.integers(0, 255, (32, 12, 12, 3), dtype=np.uint8), y_test=rng.integers(0, 3, 32))
    code = main(["retrain", "--preset", "smoke", "--dataset", str(path), "--set", "data.valid_size=16",
                 "--set", "data.train_limit=null", "--set", "data.test_limit=null", "--epochs", "1", "--random",
                 "--run-dir", str(tmp_path / "run"), "--quiet"])
    assert code == 0
    assert len(read_csv(tmp_path / "run" / "metrics.csv")) == 1
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["dataset"] == str(path)


@pytest.mark.parametrize("argv,message", [
    (["retrain", "--preset", "smoke", "--arc", "0 1 2", "--run-dir", "X"], "argument `arc`"),
    (["retrain", "--preset", "quick", "--random", "--run-dir", "X"], "argument `preset`: expected one of"),
    (["retrain", "--preset", "smoke", "--random", "--dataset", "mnist", "--run-dir", "X"],
     "argument `data.dataset`: expected one of"),
    (["retrain", "--preset", "smoke", "--run-dir", "X"], "expected exactly one of them, received 0"),
    (["retrain", "--preset", "smoke", "--random", "--set", "final.depth=3", "--run-dir", "X"],
     "argument `final.depth`"),
])
def test_bad_input_fails_early(argv, message, capsys, tmp_path, monkeypatch):
    """Bad arcs, presets, datasets and fields exit with status 2 and a message naming the argument."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "X" / "checkpoint.npz").exists()


def test_parser_lists_commands():
    """The parser knows the five commands."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"retrain", "params", "search", "sample", "bench"}
