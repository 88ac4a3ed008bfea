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
