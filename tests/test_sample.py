import pytest

from enaslite.config import preset
from enaslite.data import load_dataset
from enaslite.sample import sample_from_run, saved_epochs
from enaslite.search import search


def test_sample_from_saved_controller(tmp_path):
    """A saved controller reloads and samples arcs scored with the run's shared weights."""
    cfg = preset("smoke", **{"search.epochs": 1, "search.steps_per_epoch": 2, "data.train_limit": 128})
    search(cfg, tmp_path, verbose=0)
    assert saved_epochs(tmp_path) == [1]
    recs = sample_from_run(tmp_path, 1, n=3)
    assert len(recs) == 3
    assert all(0.0 <= r["valid_acc"] <= 1.0 and r["log_prob"] <= 0 for r in recs)
    with pytest.raises(ValueError, match=r"argument `epoch`: expected one of the saved epochs \[1\], received 5"):
        sample_from_run(tmp_path, 5)


def test_sample_seed_and_weights_of_the_sampled_epoch(tmp_path):
    """`seed` changes the sample; scores use the sampled epoch's shared weights on `num_valid` images, and say so."""
    cfg = preset("smoke", **{"search.epochs": 2, "search.steps_per_epoch": 2, "data.train_limit": 128,
                             "controller.num_logged": 1})
    search(cfg, tmp_path, verbose=0)
    a = sample_from_run(tmp_path, 1, n=6, seed=0, num_valid=40)
    b = sample_from_run(tmp_path, 1, n=6, seed=1, num_valid=40)
    assert [r["arc"] for r in a] != [r["arc"] for r in b]
    assert a[0]["weights"] == "shared weights of epoch 1 (supernet_epoch0001.npz)" and a[0]["num_valid"] == 40
    (tmp_path / "supernet_epoch0001.npz").unlink()
    assert sample_from_run(tmp_path, 1, n=1)[0]["valid_acc"] is None
    assert sample_from_run(tmp_path, 2, n=1)[0]["weights"].startswith("shared weights of epoch 2")


def test_sample_from_a_missing_run_dir_creates_nothing(tmp_path):
    """A mistyped run dir is an error and is not created."""
    with pytest.raises(ValueError, match="argument `run_dir`: expected a search run directory"):
        sample_from_run(tmp_path / "typo", 1)
    assert not (tmp_path / "typo").exists()
