import json

import numpy as np
import pytest

from enaslite.macro_arc import MacroArc
from enaslite.runs import write_csv, write_jsonl
from enaslite.study import load, plan
from enaslite.study.jobs import Job
from enaslite.study.results import ID_COLUMNS

SMOKE = plan.scale_overrides("smoke", "macro")


def arc(i):
    return MacroArc.random(np.random.default_rng(i), 3).to_string()


def fake_run(job, root, finished=None, csv=None, jsonl=None):
    """A run dir written by hand: config.json, optional metrics (`csv`, `jsonl`: {name: rows}) and finished.json."""
    d = job.run_dir(root)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(job.config.to_json())
    for name, rows in (csv or {}).items():
        write_csv(d / name, rows)
    for name, rows in (jsonl or {}).items():
        write_jsonl(d / name, rows)
    if finished is not None:
        (d / "finished.json").write_text(json.dumps(finished))


def fake_experiment(root):
    """A learning-curve search (finished), its ep1 retrain (finished), its ep2 retrain (one epoch in, unfinished),
    a second seed's search (not started) and a rescore (finished)."""
    s0, s1 = plan.search_jobs(seeds=[0, 1], **SMOKE)
    samples = [{"epoch": e, "index": i, "arc": arc(10 * e + i), "valid_acc": 0.2 + 0.1 * i + 0.3 * (e == 2)}
               for e in (1, 2) for i in range(2)]
    fake_run(s0, root, {"epochs": 2, "seconds": 4.0}, csv={"epochs.csv": [{"epoch": 1, "train_loss": 2.0},
                                                                           {"epoch": 2, "train_loss": 1.5}]},
             jsonl={"samples.jsonl": samples})
    ep1, ep2 = plan.best_retrains(s0, root, [1, 2])
    fake_run(ep1, root, {"test_acc": 0.7, "valid_acc": 0.72, "params": 1234, "seconds": 3.5, "epochs": 1,
                         "arc": ep1.arc}, csv={"metrics.csv": [{"epoch": 1, "valid_acc": 0.72, "test_acc": 0.7}]})
    fake_run(ep2, root, csv={"metrics.csv": [{"epoch": 1, "valid_acc": 0.5, "test_acc": 0.4}]})
    rescore = Job("rescore", s0.config, "r", parent=s0.key(), epoch=1, n=2, seed=0)
    fake_run(rescore, root, {"n": 2}, jsonl={"scores.jsonl": [{"index": i, "arc": arc(i), "valid_acc": 0.3}
                                                              for i in range(2)]})
    return [s0, ep1, ep2, s1, rescore]


def test_load_reads_every_kind_of_row(tmp_path):
    """Search epochs, samples, retrain epochs, finished retrains and rescore scores each get their rows, with the
    job's identity columns."""
    jobs = fake_experiment(tmp_path)
    r = load(jobs, tmp_path)
    assert list(r.searches["epoch"]) == [1, 2] and set(r.searches["label"]) == {"macro-reinforce-s0"}
    assert list(r.searches.columns[:len(ID_COLUMNS)]) == ID_COLUMNS
    assert len(r.samples) == 4 and set(r.samples["seed"]) == {0} and set(r.samples["mode"]) == {"reinforce"}
    assert list(r.retrains["label"]) == ["macro-reinforce-s0-ep1best", "macro-reinforce-s0-ep2best"]
    assert list(r.retrains["status"]) == ["finished", "started"]
    assert len(r.scores) == 2 and set(r.scores["parent"]) == {"macro-reinforce-s0"}


def test_finals_hold_finished_retrains_only(tmp_path):
    """finals: one row per finished retrain, with its parent's label and the shared accuracy that chose it."""
    r = load(fake_experiment(tmp_path), tmp_path)
    assert len(r.finals) == 1
    row = r.finals.iloc[0]
    assert (row["label"], row["parent"], row["test_acc"], row["valid_acc"], row["params"], row["seconds"]) == \
           ("macro-reinforce-s0-ep1best", "macro-reinforce-s0", 0.7, 0.72, 1234, 3.5)
    assert row["arc"] == arc(11) and row["source_epoch"] == 1 and row["shared_acc"] == pytest.approx(0.3)


def test_missing_runs_are_absent_with_their_status(tmp_path):
    """A job never started appears only in `jobs`, as missing; an empty plan gives empty frames with the columns."""
    r = load(fake_experiment(tmp_path), tmp_path)
    status = dict(zip(r.jobs["label"], r.jobs["status"]))
    assert status == {"macro-reinforce-s0": "finished", "macro-reinforce-s0-ep1best": "finished",
                      "macro-reinforce-s0-ep2best": "started", "macro-reinforce-s1": "missing", "r": "finished"}
    assert "macro-reinforce-s1" not in set(r.searches["label"]) | set(r.samples["label"])
    empty = load([], tmp_path)
    assert empty.finals.empty and "test_acc" in empty.finals and list(empty.searches.columns[:2]) == ["label", "key"]
