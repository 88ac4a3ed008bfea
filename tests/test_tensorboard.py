"""TensorBoard event files hold exactly the numbers of the metrics rows, one step per epoch, also after a resume."""

import math
import shutil
import warnings

import numpy as np
import pytest

from enaslite import tensorboard as tb
from enaslite.cli import main
from enaslite.config import preset
from enaslite.data import load_dataset
from enaslite.macro_arc import MacroArc
from enaslite.retrain import retrain
from enaslite.runs import RunDir, read_csv, read_jsonl
from enaslite.search import search


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("fashion_mnist", valid_size=64, train_limit=128, test_limit=64)


def _search_cfg():
    return preset("smoke", **{"search.epochs": 2, "search.steps_per_epoch": 3})


@pytest.fixture(scope="module")
def search_run(tmp_path_factory, tiny):
    path = tmp_path_factory.mktemp("search")
    search(_search_cfg(), path, dataset=tiny, verbose=0)
    return path


def read_events(folder):
    """[(step, tag, value)] of every event file in `folder`, in file order: scalars as floats, histograms as their
    [k, 3] bucket arrays."""
    import tensorflow as tf
    out = []
    for path in sorted(folder.iterdir()):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                data = tf.make_ndarray(value.tensor)
                out.append((event.step, value.tag, float(data) if data.ndim == 0 else data))
    return out


def expected_scalars(kind, row):
    """{tag: value} a row should give: every numeric cell but the epoch and NaNs, at TensorBoard's float32."""
    return {tb.tag(kind, k): float(np.float32(v)) for k, v in row.items()
            if k != "epoch" and isinstance(v, (int, float)) and not math.isnan(v)}


def scalars_by_step(events):
    out = {}
    for step, tag, value in events:
        if isinstance(value, float):
            assert tag not in out.setdefault(step, {}), f"step {step} logs {tag} twice"
            out[step][tag] = value
    return out


def test_search_events_equal_the_metrics_rows(search_run):
    """One file per epoch, each at its epoch's step, whose scalars are the epochs.csv row (controller, child, shared
    weights, ops, times), plus the row's op fractions and the epoch's logged accuracies as histograms."""
    rows = read_csv(search_run / "epochs.csv")
    assert sorted(tb.epoch_files(search_run, "search")) == [1, 2]
    events = read_events(search_run / "tensorboard" / "search")
    by_step = scalars_by_step(events)
    assert sorted(by_step) == [1, 2]
    for row in rows:
        assert by_step[row["epoch"]] == expected_scalars("search", row)
    assert {"controller/ctrl_entropy", "controller/baseline", "controller/ctrl_loss", "controller/ctrl_reward",
            "controller/skip_rate", "child/train_loss", "child/train_acc", "child/lr",
            "shared_weights/logged_acc_mean", "ops/op0"} <= set(by_step[1])
    hists = {(step, tag): value for step, tag, value in events if not isinstance(value, float)}
    samples = read_jsonl(search_run / "samples.jsonl")
    for row in rows:
        ops = hists[row["epoch"], "ops/sampled_ops"]
        assert ops[:, 2].tolist() == [row[f"op{i}"] for i in range(6)]
        assert ops[:, 0].tolist() == [i - 0.5 for i in range(6)]
        logged = hists[row["epoch"], "shared_weights/logged_valid_acc"]
        accs = [s["valid_acc"] for s in samples if s["epoch"] == row["epoch"]]
        assert logged[:, 2].sum() == len(accs) == _search_cfg().controller.num_logged


def test_retrain_events_equal_the_metrics_rows(tmp_path, tiny):
    """A retrain logs lr, train loss and accuracy, valid and test accuracy and times: its metrics.csv rows."""
    arc = MacroArc.random(np.random.default_rng(0), 3)
    retrain(arc, preset("smoke"), tmp_path, dataset=tiny, verbose=0)
    rows = read_csv(tmp_path / "metrics.csv")
    by_step = scalars_by_step(read_events(tmp_path / "tensorboard" / "retrain"))
    assert sorted(by_step) == [r["epoch"] for r in rows] == [1, 2]
    for row in rows:
        assert by_step[row["epoch"]] == expected_scalars("retrain", row)
    assert {"train/lr", "train/train_loss", "train/train_acc", "eval/valid_acc", "eval/test_acc"} <= set(by_step[2])


def test_killed_and_resumed_search_logs_each_step_once(tmp_path, tiny, crash_before_checkpoint):
    """A search killed after epoch 2's rows and event file (before its checkpoint) replays epoch 2 on resume and
    replaces that file: every tag has steps 1 and 2 once, with the values of the final rows. An epoch whose file is
    missing (a run begun before event files existed) is written from the metrics on resume."""
    with crash_before_checkpoint(2):
        search(_search_cfg(), tmp_path, dataset=tiny, verbose=0)
    assert sorted(tb.epoch_files(tmp_path, "search")) == [1, 2]
    tb.epoch_files(tmp_path, "search")[1].unlink()
    search(_search_cfg(), tmp_path, dataset=tiny, verbose=0)
    # The replayed epoch 2 has other wall times than the killed one, so the equality below needs the replay's file.
    rows = read_csv(tmp_path / "epochs.csv")
    events = read_events(tmp_path / "tensorboard" / "search")
    steps = {}
    for step, tag, _ in events:
        steps.setdefault(tag, []).append(step)
    assert all(sorted(s) == [1, 2] for s in steps.values()), steps
    by_step = scalars_by_step(events)
    assert [by_step[r["epoch"]] for r in rows] == [expected_scalars("search", r) for r in rows]


def test_logging_changes_no_result(search_run, tmp_path, tiny, monkeypatch):
    """The same search with the writer off gives the same rows and samples (wall times aside)."""
    monkeypatch.setattr(tb, "_STATE", {"writer": None})
    search(_search_cfg(), tmp_path, dataset=tiny, verbose=0)
    assert not (tmp_path / "tensorboard").exists()

    def results(path):
        return [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in read_csv(path / "epochs.csv")]

    assert results(tmp_path) == results(search_run)
    assert read_jsonl(tmp_path / "samples.jsonl") == read_jsonl(search_run / "samples.jsonl")


def test_cli_writes_the_logs_of_a_run_without_them(search_run, tmp_path, capsys):
    """`tensorboard RUN_DIR` gives a run made before event files existed one file per epoch (run twice: still one
    per epoch) and prints the command that opens them; a leftover temporary folder of a killed writer goes too."""
    run = tmp_path / "old"
    shutil.copytree(search_run, run, ignore=shutil.ignore_patterns("tensorboard", "*.npz", "*.h5"))
    (run / ".tensorboard.x.tmp").mkdir()
    for _ in range(2):
        assert main(["tensorboard", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {run / 'tensorboard'}" in out and "wrote 2 event files" in out
    assert sorted(p.name for p in run.iterdir() if "tensorboard" in p.name) == ["tensorboard"]
    rows = read_csv(run / "epochs.csv")
    by_step = scalars_by_step(read_events(run / "tensorboard" / "search"))
    assert [by_step[r["epoch"]] for r in rows] == [expected_scalars("search", r) for r in rows]


def test_cli_refuses_what_is_not_a_search_or_retrain_run(tmp_path, capsys):
    """A folder without config.json, or a rescore run, is one line and exit 2, and nothing is written."""
    assert main(["tensorboard", str(tmp_path)]) == 2
    assert "argument `run_dir`: expected a run directory (holding config.json)" in capsys.readouterr().err
    RunDir(tmp_path).create("rescore", preset("smoke"))
    assert main(["tensorboard", str(tmp_path)]) == 2
    assert "a rescore run, which has no epochs to log" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "run.json"]


def test_writer_off_warns_once_and_cli_fails(search_run, tmp_path, monkeypatch, capsys):
    """Without TensorFlow's writer (another backend, or no tensorboard package) logging is skipped with one warning
    per process, while the CLI command, asked for files, fails with the reason."""
    monkeypatch.setattr(tb, "_STATE", {})
    monkeypatch.setattr(tb, "unavailable", lambda: "the Keras backend is jax")
    row = read_csv(search_run / "epochs.csv")[0]
    with pytest.warns(RuntimeWarning, match="TensorBoard logs are off: the Keras backend is jax"):
        assert tb.log_epoch(tmp_path, "search", row) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tb.log_epoch(tmp_path, "search", row) is None
    assert list(tmp_path.iterdir()) == []
    assert main(["tensorboard", str(search_run)]) == 2
    assert "cannot write TensorBoard event files: the Keras backend is jax" in capsys.readouterr().err


def test_other_backends_are_refused(monkeypatch):
    """On a JAX or PyTorch backend TensorFlow is not imported for logging."""
    import keras
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert "Keras backend is jax" in tb.unavailable()


def test_tags_group_the_columns():
    """Columns land in TensorBoard sections by what they measure, keeping their own names."""
    assert [tb.tag("search", c) for c in ("train_loss", "ctrl_entropy", "baseline", "skip_rate", "op3",
                                          "logged_acc_mean", "seconds_child")] == [
        "child/train_loss", "controller/ctrl_entropy", "controller/baseline", "controller/skip_rate", "ops/op3",
        "shared_weights/logged_acc_mean", "time/seconds_child"]
    assert [tb.tag("retrain", c) for c in ("lr", "train_acc", "valid_acc", "test_acc", "seconds")] == [
        "train/lr", "train/train_acc", "eval/valid_acc", "eval/test_acc", "time/seconds"]
    assert tb.scalars("search", {"epoch": 3, "ctrl_loss": float("nan"), "lr": 0.1, "arc": "0 1"}) == {"child/lr": 0.1}
