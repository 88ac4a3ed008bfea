import importlib
import json
import subprocess
import sys

import numpy as np
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
     "argument `--set final.depth=3`: expected a field of final"),
])
def test_bad_input_fails_early(argv, message, capsys, tmp_path, monkeypatch):
    """Bad arcs, presets, datasets and fields exit with status 2 and a message naming the argument."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "X" / "checkpoint.npz").exists()


def test_parser_lists_commands():
    """The parser knows the nine commands."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"retrain", "params", "search", "sample", "bench", "show", "reproduce", "tensorboard",
                                "results"}


# -- user errors: one line on stderr, exit status 2, nothing created ------------------------------------------------

def _workspace(tmp_path):
    """Files the error cases below point at."""
    (tmp_path / "file.txt").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "arc.json").write_text('{"a": ')
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81")
    (tmp_path / "text.weights.h5").write_text("not hdf5\n")
    (tmp_path / "x.npz").write_text("x_train,y_train\n")
    np.savez(tmp_path / "pickled.npz", x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))


SMOKE = ["--preset", "smoke", "--run-dir", "X"]


@pytest.mark.parametrize("argv,message", [
    (["search", "--seed", "-5"] + SMOKE, "argument `--seed`: expected an int >= 0, received '-5'"),
    (["retrain", "--random", "--seed", "1.5"] + SMOKE, "argument `--seed`: expected an int >= 0, received '1.5'"),
    (["retrain", "--random", "--epochs", "0"] + SMOKE, "argument `--epochs`: expected an int >= 1, received '0'"),
    (["sample", "--run-dir", "X", "--epoch", "1", "-n", "0"], "argument `-n`: expected an int >= 1, received '0'"),
    (["sample", "--run-dir", "X", "--epoch", "last"], "argument `--epoch`: expected an int >= 1, received 'last'"),
    (["bench", "--steps", "0"], "argument `--steps`: expected an int >= 1, received '0'"),
    (["bench", "--repeats", "-1"], "argument `--repeats`: expected an int >= 1, received '-1'"),
    (["bench", "--num-arcs", "1"], "argument `--num-arcs`: expected an int >= 2, received '1'"),
    (["retrain", "--random", "--space", "nano"] + SMOKE,
     "argument `--space`: expected one of 'macro', 'micro', received 'nano'"),
    (["retrain", "--random", "--preset", "smoke"], "argument `--run-dir`: expected a value (required), received none"),
    (["retrain", "--random", "--bogus"] + SMOKE, "argument `--bogus`: expected an option of this command"),
    (["train"], "argument `command`: expected one of 'retrain', 'params', 'search', 'sample', 'bench'"),
    (["retrain", "--random", "--set", "final.epochs"] + SMOKE,
     "argument `--set`: expected FIELD=VALUE, received 'final.epochs'"),
    (["retrain", "--random", "--set", "controller.save_epochs=abc"] + SMOKE,
     "argument `--set controller.save_epochs=abc`: expected "),
    (["retrain", "--random", "--set", "controller.save_epochs=5"] + SMOKE,
     "argument `--set controller.save_epochs=5`: expected "),
    (["retrain", "--random", "--set", "final.epochs=8", "--set", "final.nope=1"] + SMOKE,
     "argument `--set final.nope=1`: expected a field of final"),
    (["retrain", "--arc-file", "arc.json"] + SMOKE,
     "argument `--arc-file`: expected a JSON architecture dict in arc.json, received invalid JSON (line 1, column 7: "),
    (["retrain", "--arc-file", "adir"] + SMOKE, "argument `--arc-file`: expected a file, received the directory 'adir'"),
    (["retrain", "--arc-file", "missing.json"] + SMOKE,
     "argument `--arc-file`: expected an existing file, received 'missing.json', which does not exist"),
    (["retrain", "--arc-file", "binary.txt"] + SMOKE,
     "argument `--arc-file`: expected a UTF-8 text file, received 'binary.txt' ("),
    (["search", "--init-controller", "missing.weights.h5"] + SMOKE, "'missing.weights.h5', which does not exist"),
    (["search", "--init-controller", "adir"] + SMOKE, "'adir', which is not a file"),
    (["search", "--init-controller", "file.txt"] + SMOKE, "'file.txt', whose name does not end in .weights.h5"),
    (["search", "--init-controller", "text.weights.h5"] + SMOKE, "'text.weights.h5', which is not an HDF5 file"),
    (["retrain", "--random", "--dataset", "x.npz"] + SMOKE,
     "argument `dataset`: expected an .npz with arrays x_train, y_train, x_test, y_test, received 'x.npz' "
     "(not a zip archive)"),
    (["search", "--dataset", "pickled.npz"] + SMOKE, "received 'pickled.npz' (it holds pickled Python objects"),
    (["bench", "--preset", "smoke", "--out", "file.txt"], "argument `--out`: expected a directory, received the file"),
    (["bench", "--preset", "smoke", "--out", "file.txt/sub"],
     "argument `--out`: expected a directory path, received 'file.txt/sub', which lies under the file 'file.txt'"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, capsys, tmp_path, monkeypatch):
    """A bad flag value is one stderr line naming the argument, exit status 2, before any run or out dir exists."""
    monkeypatch.chdir(tmp_path)
    _workspace(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument `") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "X").exists() and not (tmp_path / "bench-out").exists()


def test_usage_error_exits_2_from_the_shell(tmp_path):
    """`python -m enaslite` exits with status 2 and prints exactly the one error line, without argparse's usage."""
    proc = subprocess.run([sys.executable, "-m", "enaslite", "search", "--seed", "-5", "--run-dir", "X"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "error: argument `--seed`: expected an int >= 0, received '-5'\n"
    assert not (tmp_path / "X").exists()


def test_set_type_error_names_the_item(capsys, tmp_path, monkeypatch):
    """A TypeError while applying a --set override is reported as a one-line error naming that --set item."""
    from enaslite.config import Config
    real = Config.override

    def override(self, **dotted):
        if "final.epochs" in dotted:
            raise TypeError("'<' not supported between instances of 'list' and 'int'")
        return real(self, **dotted)

    monkeypatch.setattr(Config, "override", override)
    monkeypatch.chdir(tmp_path)
    assert main(["retrain", "--random", "--set", "final.epochs=[1]"] + SMOKE) == 2
    err = capsys.readouterr().err
    assert err == ("error: argument `--set final.epochs=[1]`: expected a valid value for `final.epochs`, received [1] "
                   "(TypeError: '<' not supported between instances of 'list' and 'int')\n")


def test_run_dir_under_a_file_is_one_line(capsys, tmp_path):
    """A run directory below a regular file fails with status 2 and one line, before anything is written."""
    (tmp_path / "file.txt").write_text("x\n")
    run_dir = tmp_path / "file.txt" / "run"
    assert main(["retrain", "--preset", "smoke", "--random", "--run-dir", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(tmp_path / "file.txt") in err
    assert (tmp_path / "file.txt").read_text() == "x\n"


def _raising(error):
    def fail(*args, **kwargs):
        raise error
    return fail


@pytest.mark.parametrize("error,message", [
    (PermissionError(13, "Permission denied", "/data/run/config.json"),
     "error: cannot use '/data/run/config.json': Permission denied\n"),
    (IsADirectoryError(21, "Is a directory", "/data/run/metrics.csv"),
     "error: cannot use '/data/run/metrics.csv': Is a directory\n"),
    (NotADirectoryError(20, "Not a directory", "/data/f.txt/run"),
     "error: cannot use '/data/f.txt/run': Not a directory\n"),
    (OSError(28, "No space left on device", "/data/a.tmp", None, "/data/a"),
     "error: cannot use '/data/a.tmp' -> '/data/a': No space left on device\n"),
])
def test_os_errors_are_one_line(error, message, capsys, tmp_path, monkeypatch):
    """An OSError from a command becomes one line naming the path and the reason, exit status 2."""
    monkeypatch.setattr(importlib.import_module("enaslite.retrain"), "retrain", _raising(error))
    assert main(["retrain", "--preset", "smoke", "--random", "--run-dir", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == message


def test_ctrl_c_during_retrain_says_how_to_resume(capsys, tmp_path, monkeypatch):
    """Ctrl-C during retrain prints one line saying how to resume, exit status 130, no traceback."""
    monkeypatch.setattr(importlib.import_module("enaslite.retrain"), "retrain", _raising(KeyboardInterrupt()))
    run_dir = str(tmp_path / "run")
    assert main(["retrain", "--preset", "smoke", "--random", "--run-dir", run_dir]) == 130
    assert capsys.readouterr().err == (f"interrupted: retrain stopped; rerun the same command to resume from the last "
                                       f"complete epoch in {run_dir}\n")


def test_ctrl_c_during_sample_is_one_word(capsys, tmp_path, monkeypatch):
    """Ctrl-C in a command without a resumable run prints just "interrupted", exit status 130."""
    monkeypatch.setattr(importlib.import_module("enaslite.sample"), "sample_from_run", _raising(KeyboardInterrupt()))
    assert main(["sample", "--run-dir", str(tmp_path), "--epoch", "1"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


# -- bench output directory ------------------------------------------------------------------------------------------

def test_bench_refuses_to_overwrite_results(capsys, tmp_path, monkeypatch):
    """bench refuses an --out that already holds this preset's results unless --overwrite is given."""
    bench = importlib.import_module("enaslite.bench")
    calls = []
    monkeypatch.setattr(bench, "run_bench", lambda config, out, **kw: calls.append(out))
    out = tmp_path / "results"
    out.mkdir()
    (out / "smoke-macro.md").write_text("old table\n")
    assert main(["bench", "--preset", "smoke", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument `--out`: expected a directory without this benchmark's results (pass "
                          "--overwrite to replace them)") and "['smoke-macro.md']" in err and err.count("\n") == 1
    assert calls == [] and (out / "smoke-macro.md").read_text() == "old table\n"
    assert main(["bench", "--preset", "smoke", "--out", str(out), "--overwrite"]) == 0
    assert calls == [str(out)]


def test_bench_output_names_match_the_check(tmp_path):
    """The files the CLI checks are the ones run_bench writes: <preset>-<space>.json and .md in --out."""
    from enaslite.bench import output_paths
    from enaslite.config import preset
    assert output_paths(preset("smoke"), tmp_path) == (tmp_path / "smoke-macro.json", tmp_path / "smoke-macro.md")
    assert build_parser().parse_args(["bench"]).out == "bench-out"
