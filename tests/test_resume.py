"""Killed runs resume from their last complete epoch with exactly one metrics row per epoch."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from enaslite.config import preset
from enaslite.data import load_dataset
from enaslite.macro_arc import MacroArc
from enaslite.retrain import retrain
from enaslite.runs import read_csv


def _without_seconds(rows):
    return [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows]


def test_crash_between_metrics_and_checkpoint(tmp_path, crash_before_checkpoint):
    """A crash after epoch 2's metrics row but before its checkpoint leaves no duplicate after resuming, and the
    resumed run's metrics equal those of an uninterrupted run with the same seed."""
    data = load_dataset("fashion_mnist", valid_size=64, train_limit=256, test_limit=128)
    cfg = preset("smoke", **{"final.epochs": 3})
    arc = MacroArc.random(np.random.default_rng(0), 3)
    with crash_before_checkpoint(2):
        retrain(arc, cfg, tmp_path / "killed", dataset=data, verbose=0)
    assert [r["epoch"] for r in read_csv(tmp_path / "killed" / "metrics.csv")] == [1, 2]
    retrain(arc, cfg, tmp_path / "killed", dataset=data, verbose=0)
    resumed = read_csv(tmp_path / "killed" / "metrics.csv")
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    retrain(arc, cfg, tmp_path / "whole", dataset=data, verbose=0)
    assert _without_seconds(resumed) == _without_seconds(read_csv(tmp_path / "whole" / "metrics.csv"))


@pytest.mark.smoke
def test_sigkill_mid_run_then_resume(tmp_path):
    """A retrain process killed with SIGKILL mid-run resumes and ends with one row per epoch."""
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "enaslite", "retrain", "--preset", "smoke", "--random", "--epochs", "4",
           "--set", "final.steps_per_epoch=8", "--run-dir", str(run_dir), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if len(read_csv(run_dir / "metrics.csv")) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(read_csv(run_dir / "metrics.csv"))
    assert 2 <= done < 4 and not (run_dir / "finished.json").exists()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert [r["epoch"] for r in read_csv(run_dir / "metrics.csv")] == [1, 2, 3, 4]
    assert (run_dir / "finished.json").exists()
