"""Search, retrain and sample end to end on this backend: killed runs resume with one row per epoch, and every
checkpoint and run.json says which backend wrote it (enaslite/search.py, retrain.py, sample.py, runs.py)."""

import json
import os

import keras
import numpy as np
import pytest

from enaslite.config import preset
from enaslite.data import load_dataset
from enaslite.macro_arc import MacroArc
from enaslite.retrain import build_final_model, retrain
from enaslite.runs import RunDir, read_csv, read_jsonl
from enaslite.sample import sample_from_run
from enaslite.search import search

BACKEND = keras.backend.backend()


def tiny_data():
    """The data of these runs (tests/test_backend.py makes its TensorFlow run with it too)."""
    return load_dataset("fashion_mnist", valid_size=32, train_limit=64, test_limit=32)


def retrain_config():
    return preset("smoke", **{"final.epochs": 2, "final.steps_per_epoch": 2, "final.num_layers": 2})


ARC = MacroArc((1, 4), ((), (1,)))


@pytest.fixture(scope="module")
def tiny():
    return tiny_data()


def _written_by(path):
    return json.loads((path / "run.json").read_text())["created_by"]["backend"], RunDir(path).checkpoint_backend()


def test_search_killed_after_epoch_one_resumes_and_samples(tmp_path, tiny, crash_before_checkpoint):
    """A smoke search killed after epoch 2's rows (before its checkpoint) resumes from epoch 1 and ends with one
    row per epoch; the saved controller samples and its epoch's shared weights score."""
    cfg = preset("smoke", **{"search.epochs": 2, "search.steps_per_epoch": 2, "search.num_layers": 2,
                             "search.num_branches": 3, "controller.num_logged": 2})
    with crash_before_checkpoint(2):
        search(cfg, tmp_path, dataset=tiny, verbose=0)
    assert [r["epoch"] for r in read_csv(tmp_path / "epochs.csv")] == [1, 2]
    search(cfg, tmp_path, dataset=tiny, verbose=0)
    rows = read_csv(tmp_path / "epochs.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and (tmp_path / "finished.json").exists()
    assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["baseline"]) for r in rows)
    assert [s["epoch"] for s in read_jsonl(tmp_path / "samples.jsonl")] == [1, 1, 2, 2]
    assert _written_by(tmp_path) == (BACKEND, BACKEND)
    scored = sample_from_run(tmp_path, 2, n=2, seed=3, num_valid=16, dataset=tiny)
    assert [s["num_valid"] for s in scored] == [16, 16] and all(0 <= s["valid_acc"] <= 1 for s in scored)


def test_retrain_killed_after_epoch_one_resumes(tmp_path, tiny, crash_before_checkpoint):
    """A smoke retrain killed after epoch 2's row resumes from epoch 1 and ends with one row per epoch; its model
    is compiled (on JAX a model compiled with jit_compile=False runs op by op)."""
    assert build_final_model(ARC, retrain_config(), tiny).jit_compile == (BACKEND == "jax")
    with crash_before_checkpoint(2):
        retrain(ARC, retrain_config(), tmp_path, dataset=tiny, verbose=0)
    retrain(ARC, retrain_config(), tmp_path, dataset=tiny, verbose=0)
    rows = read_csv(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and (tmp_path / "finished.json").exists()
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["test_acc"] <= 1 for r in rows)
    assert _written_by(tmp_path) == (BACKEND, BACKEND)


@pytest.mark.skipif(not os.environ.get("ENASLITE_TF_RUN"), reason="needs a run that TensorFlow killed after "
                    "epoch 1 (tests/test_backend.py makes one and passes it in ENASLITE_TF_RUN)")
def test_retrain_killed_on_tensorflow_resumes_here(tiny):
    """A retrain checkpointed by TensorFlow resumes on this backend (the variables match), and run.json says so."""
    path = RunDir(os.environ["ENASLITE_TF_RUN"]).path
    assert RunDir(path).checkpoint_backend() == "tensorflow"
    retrain(ARC, retrain_config(), path, dataset=tiny, verbose=0)
    assert [r["epoch"] for r in read_csv(path / "metrics.csv")] == [1, 2]
    run = json.loads((path / "run.json").read_text())
    assert run["created_by"]["backend"] == "tensorflow" and run["resumed_on"] == [BACKEND]
    assert RunDir(path).checkpoint_backend() == BACKEND
