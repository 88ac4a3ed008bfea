"""`Job`: one run an experiment needs (a search, a retrain, or a re-scoring of a search's policy), as data.

A job is identified by `key()`, a short hash of everything that changes its result; its run directory is
`root/<kind>/<label>-<key>`, so two plans that need the same run find the same directory, and a readable label
never decides whether a run is reused. This module imports no Keras: planning and reading results stay cheap.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from enaslite.config import Config

KINDS = ("search", "retrain", "rescore", "probe")

# Part of every key. Bump it when a code change alters what an existing job would compute, so that old run
# directories are no longer taken for the new jobs' results.
KEY_VERSION = 1

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def arg_error(name: str, expected: str, received) -> ValueError:
    return ValueError(f"argument `{name}`: expected {expected}, received {received!r}")


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Job:
    """One run of an experiment.

    Attributes:
        kind: `search`, `retrain`, `rescore` or `probe` (a macro search's op effect, `enaslite.probe`).
        config: the run's full `Config` (a retrain's and a rescore's is their parent search's config).
        label: a readable name such as ``macro-reinforce-s0-ep1best``; letters, digits, ``.``, ``_``, ``-``. Not
            part of the key.
        arc: retrain only: the architecture string (`MacroArc`/`MicroArc.to_string()`).
        parent: key of the job this one needs first: a transfer search's source search, a rescore's search, a
            retrain's search or rescore (None for fresh searches and random-architecture retrains).
        epoch: search with a parent: the parent's controller epoch to start from (transfer). Rescore: the parent
            search's epoch whose controller and shared weights are used. Retrain with a parent: the parent's epoch
            the architecture was chosen at (so two picks of one architecture at two epochs stay two runs).
        n: rescore and probe only: how many architectures (probe: skip patterns) to sample.
        seed: rescore and probe only: the sampling seed.
    """

    kind: str
    config: Config
    label: str
    arc: str | None = None
    parent: str | None = None
    epoch: int | None = None
    n: int | None = None
    seed: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise arg_error("kind", f"one of {list(KINDS)}", self.kind)
        if not isinstance(self.config, Config):
            raise arg_error("config", "an enaslite.config.Config", type(self.config).__name__)
        if not isinstance(self.label, str) or not _LABEL.match(self.label):
            raise arg_error("label", "a name of letters, digits, '.', '_' and '-' (it becomes a directory name)",
                        self.label)
        if (self.arc is not None) != (self.kind == "retrain"):
            raise arg_error("arc", "an architecture string for a retrain job and None otherwise", self.arc)
        if self.arc is not None and not (isinstance(self.arc, str) and self.arc.strip()):
            raise arg_error("arc", "a non-empty architecture string", self.arc)
        if self.parent is not None and not (isinstance(self.parent, str) and re.fullmatch(r"[0-9a-f]{10}",
                                                                                          self.parent)):
            raise arg_error("parent", "None or a job key (10 hex digits)", self.parent)
        if self.epoch is not None and not (is_int(self.epoch) and self.epoch >= 1):
            raise arg_error("epoch", "None or a 1-based epoch int", self.epoch)
        if self.epoch is not None and self.parent is None:
            raise arg_error("epoch", "None for a job without a parent (the epoch is the parent's)", self.epoch)
        if self.kind in ("search", "rescore", "probe") and self.parent is not None and self.epoch is None:
            # A retrain may name its parent without an epoch; a transfer search or a rescore needs the epoch whose
            # controller it uses.
            raise arg_error("epoch", f"the parent's epoch for a {self.kind} job with a parent", None)
        if self.kind in ("rescore", "probe"):
            if self.parent is None:
                raise arg_error("parent", f"the key of the search a {self.kind} job samples from", None)
            if not (is_int(self.n) and self.n >= 1):
                raise arg_error("n", f"an int >= 1 for a {self.kind} job", self.n)
            if not is_int(self.seed):
                raise arg_error("seed", f"an int for a {self.kind} job", self.seed)
            if self.kind == "probe" and self.config.space != "macro":
                raise arg_error("config", "a macro config for a probe job (it varies macro ops)", self.config.space)
        elif self.n is not None or self.seed is not None:
            raise arg_error("n", f"n and seed only on rescore and probe jobs (the {self.kind}'s seed is config.seed)",
                        (self.n, self.seed))

    # -- identity ------------------------------------------------------------------------------------------------
    def canonical(self) -> dict:
        """Everything that changes the job's result, as JSON-ready data (the label is left out)."""
        return {"version": KEY_VERSION, "kind": self.kind, "config": self.config.to_dict(), "arc": self.arc,
                "parent": self.parent, "epoch": self.epoch, "n": self.n, "seed": self.seed}

    def key(self) -> str:
        """10 hex digits of the sha256 of `canonical()` as sorted, compact JSON: stable across processes."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]

    # -- where it lives ------------------------------------------------------------------------------------------
    def run_dir(self, root) -> Path:
        return Path(root) / self.kind / f"{self.label}-{self.key()}"

    def finished(self, root) -> bool:
        """A job is done when its run directory holds finished.json (written last by every kind)."""
        return (self.run_dir(root) / "finished.json").exists()

    def status(self, root) -> str:
        """`finished`, `started` (a run directory without finished.json: it resumes) or `missing`."""
        d = self.run_dir(root)
        if (d / "finished.json").exists():
            return "finished"
        return "started" if (d / "config.json").exists() else "missing"

    def describe(self) -> str:
        """One line: kind, label, key and what the run is."""
        c = self.config
        what = {"search": f"{c.search.epochs} epochs, controller {c.controller.mode}",
                "retrain": f"{c.final.epochs} epochs, arc {self.arc}",
                "rescore": f"{self.n} arcs from epoch {self.epoch}, sampling seed {self.seed}",
                "probe": f"op variants of {self.n} skip patterns from epoch {self.epoch}, sampling seed {self.seed}"
                }[self.kind]
        extra = ""
        if self.parent is not None:
            extra = f", from {self.parent}" + (f" epoch {self.epoch}" if self.epoch is not None else "")
        classes = "" if c.data.classes is None else f" classes {list(c.data.classes)}"
        return (f"{self.kind} {self.label} [{self.key()}]: {c.space} {c.preset or 'custom'} {c.data.dataset}"
                f"{classes} seed {c.seed}, {what}{extra}")


def by_key(jobs) -> dict[str, Job]:
    """{key: job}; two different jobs with one key would be one run directory, so they are refused."""
    out: dict[str, Job] = {}
    for job in jobs:
        if not isinstance(job, Job):
            raise arg_error("jobs", "a list of Job", type(job).__name__)
        k = job.key()
        if k in out and out[k] != job:
            raise arg_error("jobs", "distinct keys for distinct jobs",
                        f"{out[k].label} and {job.label} (same result, key {k}); give them one label")
        out[k] = job
    return out
