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
