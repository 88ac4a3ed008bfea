import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enaslite.config import preset
from enaslite.study.jobs import Job, by_key

PARENT = "0123456789"


def _search(**kw):
    return Job("search", preset("smoke", **kw), "macro-reinforce-s0")


def _rescore(**kw):
    fields = dict(kind="rescore", config=preset("smoke"), label="r", parent=PARENT, epoch=1, n=4, seed=0)
    return Job(**{**fields, **kw})


def test_key_is_short_hex_and_ignores_the_label():
    """A key is 10 hex digits of the job's result-changing fields; the label only names the directory."""
    job = _search()
    assert len(job.key()) == 10 and int(job.key(), 16) >= 0
    relabelled = Job("search", job.config, "another-name")
    assert relabelled.key() == job.key() and relabelled.run_dir("r") != job.run_dir("r")


def test_key_is_stable_across_processes(tmp_path):
    """A fresh interpreter (another hash seed) computes the same key for the same job."""
    code = ("from enaslite.config import preset; from enaslite.study.jobs import Job; "
            "print(Job('retrain', preset('smoke', seed=3), 'x', arc='0 1 0 2 1 1', parent='0123456789', epoch=2)"
            ".key())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    here = Job("retrain", preset("smoke", seed=3), "x", arc="0 1 0 2 1 1", parent=PARENT, epoch=2).key()
    assert out.stdout.strip() == here


@pytest.mark.parametrize("change", [
    {"config": preset("smoke", seed=1)},
    {"config": preset("smoke", **{"final.epochs": 3})},
    {"config": preset("smoke", **{"data.classes": [0, 1]})},
    {"config": preset("smoke", **{"controller.mode": "uniform"})},
    {"parent": "abcdefabcd"},
    {"epoch": 2},
    {"n": 5},
    {"seed": 1},
])
def test_key_changes_with_every_result_changing_field(change):
    """Changing the config, the parent, the epoch, n or the sampling seed changes the key."""
    assert _rescore(**change).key() != _rescore().key()


def test_key_changes_with_kind_and_arc():
    """A retrain's key depends on its architecture; a rescore and a retrain of one config differ."""
    a = Job("retrain", preset("smoke"), "x", arc="0 1 0 2 1 1")
    b = Job("retrain", preset("smoke"), "x", arc="0 1 0 2 1 0")
    assert a.key() != b.key() and a.key() != _search().key()


def test_run_dir_layout_and_status(tmp_path):
    """The run dir is root/<kind>/<label>-<key>; status follows config.json and finished.json."""
    job = _search()
    assert job.run_dir(tmp_path) == tmp_path / "search" / f"macro-reinforce-s0-{job.key()}"
    assert job.status(tmp_path) == "missing" and not job.finished(tmp_path)
    job.run_dir(tmp_path).mkdir(parents=True)
    (job.run_dir(tmp_path) / "config.json").write_text(job.config.to_json())
    assert job.status(tmp_path) == "started"
    (job.run_dir(tmp_path) / "finished.json").write_text(json.dumps({}))
    assert job.status(tmp_path) == "finished" and job.finished(tmp_path)


@pytest.mark.parametrize("kw, message", [
    ({"kind": "train"}, r"argument `kind`: expected one of \['search', 'retrain', 'rescore', 'probe'\], received 'train'"),
    ({"label": "a/b"}, r"argument `label`: expected a name of letters"),
    ({"config": {"space": "macro"}}, r"argument `config`: expected an enaslite.config.Config, received 'dict'"),
    ({"arc": "0 1 0"}, r"argument `arc`: expected an architecture string for a retrain job and None otherwise"),
    ({"parent": "xyz"}, r"argument `parent`: expected None or a job key"),
    ({"epoch": 2}, r"argument `epoch`: expected None for a job without a parent"),
    ({"parent": PARENT}, r"argument `epoch`: expected the parent's epoch for a search job with a parent"),
    ({"n": 3}, r"argument `n`: expected n and seed only on rescore and probe jobs"),
    ({"kind": "probe", "parent": PARENT, "epoch": 1, "n": 2, "seed": 0, "config": preset("smoke", space="micro")},
     r"argument `config`: expected a macro config for a probe job"),
])
def test_invalid_search_jobs_are_refused(kw, message):
    """A malformed job fails at construction, naming the argument."""
    fields = dict(kind="search", config=preset("smoke"), label="s")
    with pytest.raises(ValueError, match=message):
        Job(**{**fields, **kw})


def test_invalid_rescore_and_retrain_jobs_are_refused():
    """A rescore needs a parent, an epoch, n and a seed; a retrain needs an architecture."""
    with pytest.raises(ValueError, match=r"argument `n`: expected an int >= 1 for a rescore job, received 0"):
        _rescore(n=0)
    with pytest.raises(ValueError, match=r"argument `seed`: expected an int for a rescore job, received None"):
        _rescore(seed=None)
    with pytest.raises(ValueError, match=r"argument `parent`: expected the key of the search"):
        _rescore(parent=None, epoch=None)
    with pytest.raises(ValueError, match=r"argument `arc`: expected an architecture string for a retrain job"):
        Job("retrain", preset("smoke"), "x")


def test_by_key_refuses_two_jobs_with_one_key():
    """Two labels for one result would be two directories of one key: refused; exact duplicates collapse."""
    job = _search()
    assert list(by_key([job, job])) == [job.key()]
    with pytest.raises(ValueError, match=r"argument `jobs`: expected distinct keys for distinct jobs"):
        by_key([job, Job("search", job.config, "other")])


def test_describe_is_one_line():
    """describe() names the kind, label, key, preset and what the run does, on one line."""
    line = _rescore().describe()
    assert "\n" not in line
    assert line.startswith(f"rescore r [{_rescore().key()}]: macro smoke fashion_mnist seed 0")
    assert "4 arcs from epoch 1" in line and PARENT in line
