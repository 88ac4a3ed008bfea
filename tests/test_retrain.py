import numpy as np
import pytest

from enaslite.config import preset
from enaslite.data import load_dataset
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc
from enaslite.retrain import retrain
from enaslite.runs import read_csv


@pytest.fixture(scope="module")
def fmnist_subset():
    return load_dataset("fashion_mnist", valid_size=500, train_limit=3000, test_limit=1000)


def test_retrain_fashion_mnist_subset_beats_chance(tmp_path, fmnist_subset):
    """A short macro retrain on a Fashion-MNIST subset ends well above the 10% chance level."""
    cfg = preset("smoke", **{"final.steps_per_epoch": None, "final.batch_size": 32, "final.epochs": 2,
                             "final.out_filters": 12, "final.lr_t0": 2})
    arc = MacroArc.random(np.random.default_rng(0), 3)
    acc = retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    assert acc > 0.5
    assert [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"epoch", "lr", "train_loss", "train_objective", "train_acc", "valid_acc", "test_acc",
                            "seconds_train", "seconds"}
    assert (tmp_path / "run" / "config.json").exists() and (tmp_path / "run" / "finished.json").exists()


def test_retrain_micro_with_aux_and_drop_path(tmp_path, fmnist_subset):
    """A micro retrain with drop-path and an aux head runs end to end on the smoke preset."""
    cfg = preset("smoke", space="micro", **{"final.num_layers": 1, "final.aux_weight": 0.4,
                                            "final.drop_path_keep_prob": 0.8})
    arc = MicroArc.random(np.random.default_rng(0), num_nodes=2)
    acc = retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    assert 0.0 <= acc <= 1.0
    assert len(read_csv(tmp_path / "run" / "metrics.csv")) == cfg.final.epochs


def test_arc_must_match_space(tmp_path):
    """A micro arc under a macro config is rejected before any work."""
    arc = MicroArc.random(np.random.default_rng(0), num_nodes=2)
    with pytest.raises(ValueError, match="argument `arc`: expected a MacroArc for space 'macro', received MicroArc"):
        retrain(arc, preset("smoke"), tmp_path / "run")


def test_finished_run_is_not_retrained(tmp_path, fmnist_subset):
    """Calling retrain again on a finished run returns its result without training more rows."""
    cfg = preset("smoke", **{"final.epochs": 1})
    arc = MacroArc.random(np.random.default_rng(1), 3)
    first = retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    second = retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    assert first == second and len(read_csv(tmp_path / "run" / "metrics.csv")) == 1


def test_other_arc_in_same_run_dir_is_refused(tmp_path, fmnist_subset):
    """A run dir belongs to one architecture."""
    cfg = preset("smoke", **{"final.epochs": 1})
    rng = np.random.default_rng(2)
    retrain(MacroArc.random(rng, 3), cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    with pytest.raises(ValueError, match="argument `arc`: this run dir .* was made with architecture"):
        retrain(MacroArc((0, 0, 0), ((), (1,), (1, 1))), cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)


def _snapshot(path):
    from test_runs import snapshot
    return snapshot(path)


def test_finished_run_without_checkpoint_is_left_alone(tmp_path, fmnist_subset):
    """A finished run whose checkpoint is absent (as in a fresh clone) is not restarted: same result, same bytes."""
    cfg = preset("smoke", **{"final.epochs": 1})
    arc = MacroArc.random(np.random.default_rng(1), 3)
    first = retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    (tmp_path / "run" / "checkpoint.npz").unlink()
    before = _snapshot(tmp_path / "run")
    assert retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0) == first
    assert _snapshot(tmp_path / "run") == before
    with pytest.raises(ValueError, match=r"argument `final.epochs`: .* checkpoint \(not kept in git\) is missing"):
        retrain(arc, cfg.override(**{"final.epochs": 2}), tmp_path / "run", dataset=fmnist_subset, verbose=0)
    assert _snapshot(tmp_path / "run") == before


def test_overwrite_trains_a_finished_run_again(tmp_path, fmnist_subset):
    """overwrite=True deletes the finished run's files and trains from scratch to the same rows."""
    cfg = preset("smoke", **{"final.epochs": 1})
    arc = MacroArc.random(np.random.default_rng(1), 3)
    retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    (tmp_path / "run" / "checkpoint.npz").unlink()
    retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0, overwrite=True)
    again = read_csv(tmp_path / "run" / "metrics.csv")
    assert [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in again] == \
        [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows]
    assert (tmp_path / "run" / "checkpoint.npz").exists()


def test_other_dataset_is_refused_before_any_write(tmp_path, fmnist_subset):
    """Another dataset on a finished run is refused in words (name, classes) and the run dir stays byte-identical."""
    from enaslite.data import Dataset
    cfg = preset("smoke", **{"final.epochs": 1})
    arc = MacroArc.random(np.random.default_rng(1), 3)
    retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    before = _snapshot(tmp_path / "run")
    rng = np.random.default_rng(0)
    other = Dataset.from_arrays(rng.random((64, 28, 28, 1), "float32"), rng.integers(0, 3, 64),
                                rng.random((16, 28, 28, 1), "float32"), rng.integers(0, 3, 16), valid_size=16,
                                name="three", num_classes=3)
    with pytest.raises(ValueError, match=r"argument `dataset`: this run dir \(.*\) was made with dataset "
                                         r"fashion_mnist \(10 classes.*received dataset three \(3 classes"):
        retrain(arc, cfg, tmp_path / "run", dataset=other, verbose=0)
    assert _snapshot(tmp_path / "run") == before


def test_missing_dataset_leaves_no_debris(tmp_path):
    """A dataset that fails to load leaves no run dir behind, so the corrected command is not refused."""
    cfg = preset("smoke", **{"data.dataset": str(tmp_path / "missing.npz")})
    with pytest.raises(ValueError, match="argument `dataset`"):
        retrain(MacroArc.random(np.random.default_rng(1), 3), cfg, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


def test_arc_depth_must_match_the_config(tmp_path):
    """A 2-layer arc on a 3-layer preset is an error, not a 2-layer model recorded as 3 layers."""
    with pytest.raises(ValueError, match=r"argument `arc`: expected 3 layers \(final.num_layers of preset smoke\), "
                                         r"received an architecture of 2 layers"):
        retrain(MacroArc.random(np.random.default_rng(0), 2), preset("smoke"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_checkpoint_of_another_backend_that_does_not_fit_is_refused_before_any_write(tmp_path, fmnist_subset,
                                                                                      crash_before_checkpoint,
                                                                                      monkeypatch):
    """A partial run whose checkpoint another backend wrote with other variables is refused in one line naming both
    backends, and the run dir stays byte-identical (run.json does not record a resume that did not happen)."""
    from enaslite import runs
    cfg = preset("smoke", **{"final.epochs": 2, "final.steps_per_epoch": 2})
    arc = MacroArc.random(np.random.default_rng(1), 3)
    with crash_before_checkpoint(2):
        retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    run = runs.RunDir(tmp_path / "run")
    epoch, arrays, _ = run.load_checkpoint()
    del arrays[max(k for k in arrays if k.startswith("w"))]  # a variable fewer, as another backend's layer might keep
    with monkeypatch.context() as m:
        m.setattr(runs, "_backend", lambda: "jax")
        run.save_checkpoint(epoch, cfg, arrays)
    before = _snapshot(tmp_path / "run")
    with pytest.raises(ValueError, match=r"^argument `checkpoint`: written on the jax backend, it can't be resumed on "
                                         r"the tensorflow backend \(expected \d+ model variables, received \d+\); "
                                         r"resume it with KERAS_BACKEND=jax$"):
        retrain(arc, cfg, tmp_path / "run", dataset=fmnist_subset, verbose=0)
    assert _snapshot(tmp_path / "run") == before
