"""The results table: every run directory under a folder, with its status, epochs, accuracies and time."""

import json

import pytest

from enaslite.cli import main
from enaslite.config import preset
from enaslite.runs import atomic_write_json, write_csv
from enaslite.summary import duration, find_run_dirs, format_table, summarize, summarize_all


def make_run(path, kind, rows=(), finished=None, **overrides):
    """A run directory as search or retrain leave it (checkpoints aside): config, run.json, metrics, finished.json."""
    path.mkdir(parents=True)
    cfg = preset("smoke", **overrides)
    (path / "config.json").write_text(cfg.to_json() + "\n")
    atomic_write_json(path / "run.json", {"kind": kind, "identity": {"dataset": {"name": "fashion_mnist",
                                                                                 "num_classes": 10}}})
    if rows:
        write_csv(path / ("epochs.csv" if kind == "search" else "metrics.csv"), list(rows))
    if finished is not None:
        atomic_write_json(path / "finished.json", finished)
    return path


def search_row(epoch, acc, seconds=10.0):
    return {"epoch": epoch, "lr": 0.05, "train_loss": 2.0, "ctrl_loss": float("nan"), "logged_acc_mean": acc,
            "seconds": seconds}


def retrain_row(epoch, valid, test, seconds=60.0):
    return {"epoch": epoch, "lr": 0.05, "train_loss": 1.0, "train_acc": 0.5, "valid_acc": valid, "test_acc": test,
            "seconds": seconds}


@pytest.fixture
def runs(tmp_path):
    """A runs folder: a finished retrain, a partial search (2 of 3 epochs), a search that never completed an epoch,
    one whose finished.json is not JSON, and a stray folder that is no run."""
    root = tmp_path / "runs"
    make_run(root / "retrain" / "r0", "retrain", [retrain_row(1, 0.70, 0.69), retrain_row(2, 0.80, 0.78),
                                                 retrain_row(3, 0.79, 0.81)],
             finished={"epochs": 3, "test_acc": 0.81, "valid_acc": 0.79, "seconds": 200.5}, **{"final.epochs": 3})
    partial = make_run(root / "search" / "deep" / "s1", "search", [search_row(1, 0.30), search_row(2, 0.25, 12.5)],
                       seed=1, **{"search.epochs": 3, "controller.mode": "uniform", "data.classes": (0, 1, 2)})
    (partial / "tensorboard" / "search").mkdir(parents=True)  # a run's own folder, not a run
    (partial / "tensorboard" / "search" / "config.json").write_text("{}")
    make_run(root / "search" / "s2", "search")
    make_run(root / "search" / "s3", "search", [search_row(1, 0.3)], finished={"epochs": 1})
    (root / "search" / "s3" / "finished.json").write_text("{not json")
    (root / "notes").mkdir()
    (root / ".hidden" / "x").mkdir(parents=True)
    (root / ".hidden" / "x" / "config.json").write_text("{}")
    return root


def test_finds_run_dirs_recursively(runs):
    """Run dirs at any depth, in path order; not their subfolders, hidden folders or folders without a config."""
    assert [p.relative_to(runs).as_posix() for p in find_run_dirs(runs)] == [
        "retrain/r0", "search/deep/s1", "search/s2", "search/s3"]


def test_rows_say_status_epochs_accuracy_and_time(runs):
    """Finished: finished.json's epochs, time and test accuracy; partial: the rows' count and summed seconds; failed:
    no complete epoch, or an unreadable file, with the reason."""
    rows = {r["label"]: r for r in summarize_all(runs)}
    r0 = rows["r0"]
    assert (r0["kind"], r0["status"], r0["epochs_done"], r0["epochs_total"]) == ("retrain", "finished", 3, 3)
    assert (r0["best_acc"], r0["final_acc"], r0["seconds"]) == (0.80, 0.81, 200.5)
    assert (r0["dataset"], r0["classes"], r0["seed"], r0["mode"]) == ("fashion_mnist", 10, 0, "")
    s1 = rows["s1"]
    assert (s1["status"], s1["epochs_done"], s1["epochs_total"], s1["mode"]) == ("partial", 2, 3, "uniform")
    assert (s1["best_acc"], s1["final_acc"], s1["seconds"], s1["classes"], s1["seed"]) == (0.30, 0.25, 22.5,
                                                                                            "0 1 2", 1)
    assert rows["s2"]["status"] == "failed" and "no complete epoch" in rows["s2"]["reason"]
    assert rows["s3"]["status"] == "failed" and rows["s3"]["reason"].startswith("unreadable: finished.json")


def test_missing_config_and_odd_kinds_are_rows_not_crashes(tmp_path):
    """A run.json without config.json, and a rescore run, are reported rather than raised."""
    (tmp_path / "a").mkdir()
    atomic_write_json(tmp_path / "a" / "run.json", {"kind": "search"})
    make_run(tmp_path / "b", "rescore", finished={"epochs": 1})
    a, b = summarize(tmp_path / "a"), summarize(tmp_path / "b")
    assert (a["status"], a["reason"]) == ("failed", "unreadable: config.json is missing")
    assert (b["kind"], b["status"], b["epochs_done"]) == ("rescore", "finished", 1)


def test_table_lists_every_run(runs):
    """One aligned line per run under a header, and what best and final mean for each kind shown."""
    lines = format_table(summarize_all(runs)).splitlines()
    assert lines[0].split() == ["kind", "label", "space", "dataset", "seed", "mode", "epochs", "best", "final",
                                "time", "status"]
    assert lines[1].split() == ["retrain", "r0", "macro", "fashion_mnist", "(10)", "0", "3/3", "0.8000", "0.8100",
                                "3m20s", "finished"]
    assert lines[2].split() == ["search", "s1", "macro", "fashion_mnist", "[0", "1", "2]", "1", "uniform", "2/3",
                                "0.3000", "0.2500", "22s", "partial"]
    assert "failed: no complete epoch" in lines[3] and "failed: unreadable: finished.json" in lines[4]
    assert lines[5].startswith("retrain: best, final") and lines[6].startswith("search: best, final")
    assert lines[0].index("epochs") == lines[1].index("3/3") == lines[2].index("2/3")  # aligned columns


def test_cli_table_and_json(runs, capsys):
    """`results RUNS_DIR` prints the table, `--json` the same rows as a JSON list; nothing is written."""
    before = sorted(p.as_posix() for p in runs.rglob("*"))
    assert main(["results", str(runs)]) == 0
    assert capsys.readouterr().out.strip() == format_table(summarize_all(runs))
    assert main(["results", str(runs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == summarize_all(runs)
    assert sorted(p.as_posix() for p in runs.rglob("*")) == before


def test_cli_bad_runs_dir_is_one_line(tmp_path, capsys):
    """A missing folder or a file is a one-line error with exit 2; an empty folder says it has no runs."""
    assert main(["results", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: argument `runs_dir`: expected a directory, received "
                                               f"'{tmp_path / 'nope'}', which does not exist")
    (tmp_path / "f").write_text("x")
    assert main(["results", str(tmp_path / "f")]) == 2
    assert "(a file)" in capsys.readouterr().err
    assert main(["results", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("no run directories under")


def test_duration():
    assert [duration(s) for s in (None, 4.4, 59.6, 984.6, 7500)] == ["", "4s", "1m00s", "16m25s", "2h05m"]
