"""Reading an experiment's runs into pandas DataFrames, the one input of the notebooks and the analysis.

`load(jobs, root)` reads whatever the jobs' run directories hold: a run not started is absent, a started one
contributes its completed epochs (with `status` "started"), and only finished runs have rows in `finals` and
`scores`. Every row carries its job's identity (label, key, seed, mode, space, ...) so frames can be grouped and
joined without path arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from enaslite.runs import RunDir, read_csv, read_jsonl
from enaslite.study.jobs import Job, by_key

ID_COLUMNS = ["label", "key", "kind", "status", "space", "preset", "seed", "mode", "bug", "classes", "parent",
              "source_epoch"]
FINAL_COLUMNS = ["label", "parent", "test_acc", "valid_acc", "params", "seconds", "arc", "epochs", "shared_acc",
                 "key", "parent_key", "source_epoch", "seed", "mode", "space", "preset", "bug", "classes"]


@dataclass(frozen=True)
class Results:
    """The DataFrames of one experiment.

    Attributes:
        jobs: one row per job, with its `status` (finished, started, missing) and `run_dir`.
        searches: one row per completed search epoch (epochs.csv).
        samples: one row per logged architecture of a search (samples.jsonl: epoch, index, arc, valid_acc, ...).
        retrains: one row per completed retrain epoch (metrics.csv).
        finals: one row per finished retrain: label, parent (label), test_acc, valid_acc, params, seconds, arc,
            and `shared_acc`, the shared-weight accuracy its parent gave the architecture when choosing it.
        scores: one row per architecture of a finished rescore (scores.jsonl).
        probes: one row per pattern and op variant of a finished probe (probe.jsonl; `enaslite.probe`).
    """

    jobs: pd.DataFrame
    searches: pd.DataFrame
    samples: pd.DataFrame
    retrains: pd.DataFrame
    finals: pd.DataFrame
    scores: pd.DataFrame
    probes: pd.DataFrame


def identity(job: Job, root, table: dict) -> dict:
    """The columns that say which job a row belongs to."""
    c = job.config
    parent = table.get(job.parent)
    return {"label": job.label, "key": job.key(), "kind": job.kind, "status": job.status(root), "space": c.space,
            "preset": c.preset, "seed": c.seed, "mode": c.controller.mode, "bug": c.reference_macro_bug,
            "classes": None if c.data.classes is None else " ".join(map(str, c.data.classes)),
            "parent": None if parent is None else parent.label, "source_epoch": job.epoch}


def load(jobs, root) -> Results:
    """Reads the run directories of `jobs` under `root` (see the module docstring)."""
    table = by_key(jobs)
    rows = {name: [] for name in ("jobs", "searches", "samples", "retrains", "finals", "scores", "probes")}
    for job in table.values():
        ident = identity(job, root, table)
        run = RunDir(job.run_dir(root))
        rows["jobs"].append({**ident, "run_dir": str(run.path)})
        if ident["status"] == "missing":
            continue
        if job.kind == "search":
            rows["searches"] += [{**ident, **r} for r in read_csv(run / "epochs.csv")]
            rows["samples"] += [{**ident, **r} for r in read_jsonl(run / "samples.jsonl")]
        elif job.kind == "retrain":
            rows["retrains"] += [{**ident, **r} for r in read_csv(run / "metrics.csv")]
            done = run.finished()
            if done is not None:
                rows["finals"].append(_final(job, ident, done, table.get(job.parent), root))
        elif ident["status"] == "finished" and job.kind == "rescore":
            rows["scores"] += [{**ident, **r} for r in read_jsonl(run / "scores.jsonl")]
        elif ident["status"] == "finished":
            rows["probes"] += [{**ident, **r} for r in read_jsonl(run / "probe.jsonl")]
    return Results(jobs=_frame(rows["jobs"], ID_COLUMNS + ["run_dir"]),
                   searches=_frame(rows["searches"], ID_COLUMNS + ["epoch"]),
                   samples=_frame(rows["samples"], ID_COLUMNS + ["epoch", "index", "arc", "valid_acc"]),
                   retrains=_frame(rows["retrains"], ID_COLUMNS + ["epoch", "test_acc", "valid_acc"]),
                   finals=_frame(rows["finals"], FINAL_COLUMNS),
                   scores=_frame(rows["scores"], ID_COLUMNS + ["index", "arc", "valid_acc"]),
                   probes=_frame(rows["probes"], ID_COLUMNS + ["pattern", "variant", "arc", "valid_acc",
                                                               "max_logit_diff"]))


def _final(job: Job, ident: dict, done: dict, parent: Job | None, root) -> dict:
    row = {k: ident[k] for k in ("label", "parent", "key", "source_epoch", "seed", "mode", "space", "preset", "bug",
                                 "classes")}
    row.update({k: done.get(k) for k in ("test_acc", "valid_acc", "params", "seconds", "epochs")})
    row.update(arc=done.get("arc", job.arc), parent_key=job.parent, shared_acc=_shared_acc(job, parent, root))
    return row


def _shared_acc(job: Job, parent: Job | None, root) -> float:
    """The shared-weight accuracy the parent gave `job.arc`: among a search's samples of `job.epoch`, or in a
    rescore's scores (NaN without a finished parent)."""
    if parent is None or not parent.finished(root):
        return math.nan
    if parent.kind == "search":
        rows = [r for r in read_jsonl(parent.run_dir(root) / "samples.jsonl") if r["epoch"] == job.epoch]
    else:
        rows = read_jsonl(parent.run_dir(root) / "scores.jsonl")
    accs = [r["valid_acc"] for r in rows if r["arc"] == job.arc and r["valid_acc"] is not None]
    return max(accs) if accs else math.nan


def _frame(rows: list[dict], first: list[str]) -> pd.DataFrame:
    """A DataFrame with the `first` columns first (present even when there are no rows), then the rest in order."""
    rest = []
    for r in rows:
        rest += [k for k in r if k not in first and k not in rest]
    return pd.DataFrame(rows, columns=first + rest)
