"""The committed runs are made by the committed code: rerunning the first epoch of one gives the committed rows."""

from pathlib import Path

import pytest

from enaslite.runs import RunDir, read_csv, read_jsonl
from enaslite.search import search

RUN = Path(__file__).resolve().parent.parent / "runs" / "search" / "cpu-macro-reinforce-seed0"


def _results(rows):
    return [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows]


@pytest.mark.smoke
def test_first_epoch_of_the_committed_cpu_macro_search_reproduces(tmp_path):
    """Epoch 1 of `search --preset cpu-macro --seed 0`, rerun here, equals the committed epoch-1 row (all but wall
    times) and the committed epoch-1 architectures and shared-weight accuracies, exactly."""
    assert (RUN / "finished.json").exists(), f"{RUN} is not a finished committed run"
    config = RunDir(RUN).load_config().override(**{"search.epochs": 1})  # the lr schedule is per epoch index
    search(config, tmp_path / "rerun", verbose=0)
    assert _results(read_csv(tmp_path / "rerun" / "epochs.csv")) == _results(read_csv(RUN / "epochs.csv")[:1])
    committed = [s for s in read_jsonl(RUN / "samples.jsonl") if s["epoch"] == 1]
    assert read_jsonl(tmp_path / "rerun" / "samples.jsonl") == committed
