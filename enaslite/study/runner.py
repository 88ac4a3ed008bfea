"""Running jobs: `execute` runs one job into its run directory; a `Runner` runs a list of them.

Every runner skips finished jobs (finished.json) and relies on each job's own resume (search and retrain continue
from their last complete epoch; a rescore or probe is redone whole), so an interrupted `run` is continued by calling it
again. `execute` holds the job's run directory lock (`enaslite.study.lock`) while it runs, so two runners pointed
at one runs dir never write one run directory at once: the second gets `LockHeld`, naming the holder.
`LocalRunner` runs jobs one at a time in this process; `RayRunner` (`enaslite.study.ray_runner`) runs them on a
Ray cluster and calls `execute` in its workers. `default_runner` picks one from the environment.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from enaslite.study import lock
from enaslite.study.jobs import Job, arg_error, by_key

SCORES = "scores.jsonl"
PROBE = "probe.jsonl"


def ordered(jobs) -> list[Job]:
    """The jobs (deduplicated by key), parents before children; every parent must be among them."""
    table = by_key(jobs)
    out, state = [], {}  # state: 1 visiting, 2 placed

    def visit(key: str, chain: tuple) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise arg_error("jobs", "parents without cycles", " -> ".join(chain + (key,)))
        job = table[key]
        state[key] = 1
        if job.parent is not None:
            if job.parent not in table:
                raise arg_error("jobs", "every job's parent among the jobs",
                            f"{job.label}, whose parent {job.parent} is missing")
            visit(job.parent, chain + (key,))
        state[key] = 2
        out.append(job)

    for key in table:
        visit(key, ())
    return out


def execute(job: Job, root, jobs_by_key: dict, verbose: int = 0, dataset=None, owner: str | None = None):
    """Runs `job` into `job.run_dir(root)` and returns its summary; `jobs_by_key` holds its parent (finished).

    `dataset`: the job's `Dataset` when already loaded (it must be the one `job.config.data` names). An unfinished
    job runs holding its run directory's lock (`lock.hold`; `owner` names the runner, so that a Ray retry takes over
    the lock of its own dead attempt); a finished one is only read, without a lock."""
    parent_dir = None
    if job.parent is not None:
        parent = jobs_by_key.get(job.parent)
        if parent is None:
            raise arg_error("jobs_by_key", f"the parent {job.parent} of {job.label}", sorted(jobs_by_key)[:5])
        if not parent.finished(root):
            raise arg_error("job", f"a job whose parent is finished ({parent.label} is not: run it first)", job.label)
        parent_dir = parent.run_dir(root)
    run_dir = job.run_dir(root)
    with contextlib.nullcontext() if job.finished(root) else lock.hold(run_dir, owner, job.label):
        return _execute(job, run_dir, parent_dir, verbose, dataset)


def _execute(job: Job, run_dir, parent_dir, verbose: int, dataset):
    if job.kind == "search":
        from enaslite.search import controller_path, search
        init = None if parent_dir is None else controller_path(parent_dir, job.epoch)
        return search(job.config, run_dir, dataset, init_controller=init, verbose=verbose)
    if job.kind == "retrain":
        from enaslite.macro_arc import MacroArc
        from enaslite.micro_arc import MicroArc
        from enaslite.retrain import retrain
        arc = (MacroArc if job.config.space == "macro" else MicroArc).from_string(job.arc)
        return retrain(arc, job.config, run_dir, dataset, verbose=verbose)
    return (rescore if job.kind == "rescore" else probe)(job, parent_dir, run_dir, dataset)


def rescore(job: Job, search_dir, run_dir, dataset=None) -> dict:
    """Samples `job.n` architectures from the search in `search_dir` at `job.epoch` (sampling seed `job.seed`),
    scores each on the whole validation split with that epoch's shared weights, and writes `scores.jsonl` (one row
    per architecture: index, arc, log_prob, valid_acc, num_valid, weights), then finished.json."""
    from enaslite.sample import sample_from_run

    def compute(data):
        rows = sample_from_run(search_dir, job.epoch, job.n, job.seed, num_valid=None, dataset=data)
        if rows[0]["valid_acc"] is None:
            # No accuracy from another epoch's weights: the rescore is refused rather than finished without scores.
            raise arg_error("epoch", "a search epoch whose shared weights were kept (controller.save_epochs)",
                            f"{job.epoch}: {rows[0]['weights']}")
        return [{"index": i, **r} for i, r in enumerate(rows)], rows[0]["weights"]

    return _from_search(job, search_dir, run_dir, dataset, "rescore", SCORES, compute)


def probe(job: Job, search_dir, run_dir, dataset=None) -> dict:
    """`enaslite.probe.probe_ops` on the search in `search_dir` at `job.epoch`: `job.n` skip patterns sampled with
    seed `job.seed`, each scored under its op variants with that epoch's shared weights; writes `probe.jsonl`."""
    from enaslite.probe import probe_ops

    def compute(data):
        rows = probe_ops(search_dir, job.epoch, job.n, job.seed, dataset=data)
        return rows, rows[0]["weights"]

    return _from_search(job, search_dir, run_dir, dataset, "probe", PROBE, compute)


def _from_search(job: Job, search_dir, run_dir, dataset, kind: str, name: str, compute) -> dict:
    """The frame of a job that reads a search's saved epoch: checks, `compute(data)` -> (rows, weights), then
    writes `name` and finished.json. Such a job is short, so an interrupted one is redone whole."""
    from enaslite.runs import RunDir, file_identity, write_jsonl
    from enaslite.sample import run_dataset, saved_epochs
    from enaslite.search import controller_path

    run = RunDir(run_dir)
    done = run.finished()
    if done is not None:
        return done  # a finished run is never rewritten
    run.check_location()
    if not controller_path(search_dir, job.epoch).exists():
        raise arg_error("epoch", f"one of the saved epochs {saved_epochs(search_dir)} of {search_dir}", job.epoch)
    data = run_dataset(search_dir, dataset)  # refuses a dataset the search did not see
    identity = {"dataset": data.fingerprint(), "source": {"run": Path(search_dir).name, "epoch": job.epoch,
                                                          "n": job.n, "seed": job.seed},
                "controller": file_identity(controller_path(search_dir, job.epoch))}
    run.check(kind, job.config, identity)
    t0 = time.perf_counter()
    rows, weights = compute(data)
    run.create(kind, job.config, identity)
    write_jsonl(run / name, rows)
    summary = {"n": job.n, "epoch": job.epoch, "seed": job.seed, "weights": weights,
               "seconds": round(time.perf_counter() - t0, 3)}
    run.finish(summary)
    return summary


class Runner:
    """Runs jobs into `root`: skips finished ones, runs parents before children. Returns the jobs it ran."""

    def run(self, jobs, root, progress: bool = True) -> list[Job]:
        raise NotImplementedError


class LocalRunner(Runner):
    """One job at a time in this process, with a progress bar naming the job and an ETA.

    Args:
        verbose: passed to `search`/`retrain` (0 silent, 1 their per-epoch bars and lines).
    """

    def __init__(self, verbose: int = 0):
        self.verbose = verbose

    def run(self, jobs, root, progress: bool = True) -> list[Job]:
        from enaslite import backend

        jobs = ordered(jobs)
        table = {j.key(): j for j in jobs}
        todo = [j for j in jobs if not j.finished(root)]
        if not todo:
            return []
        eta = Eta([j for j in jobs if j.finished(root)], root)
        bar = _bar(len(todo), progress)
        data_key, data = None, None
        try:
            for i, job in enumerate(todo):
                bar.set_description(job.label)
                bar.set_postfix_str(eta.text(todo[i:]))
                if job.config.data != data_key:  # consecutive jobs on one dataset load it once
                    from enaslite.data import load_dataset_from_config
                    data_key, data = job.config.data, load_dataset_from_config(job.config.data)
                # Each job starts from a fresh Keras session, so memory does not grow with the number of jobs
                # (`backend.clear_session` also frees the traced steps that Keras' own clear_session leaves alive).
                backend.clear_session()
                t0 = time.perf_counter()
                execute(job, root, table, verbose=self.verbose, dataset=data)
                eta.add(job, time.perf_counter() - t0)
                bar.update()
        finally:
            bar.close()
        return todo


RUNNER_ENV = "ENASLITE_RUNNER"


def default_runner() -> Runner:
    """The runner `experiments.run` uses when given none: a `LocalRunner`, or a `RayRunner` when the environment
    asks for one (``ENASLITE_RUNNER=ray``, or ``ENASLITE_RAY_ADDRESS`` set; see `ray_runner.from_env`). Notebooks
    run by `reproduce --ray` get their runner this way: papermill's kernels inherit the environment."""
    from enaslite.study import ray_runner

    name = os.environ.get(RUNNER_ENV, "").strip().lower()
    if name == "ray" or (not name and os.environ.get(ray_runner.ADDRESS_ENV)):
        return ray_runner.from_env()
    if name in ("", "local"):
        return LocalRunner()
    raise ValueError(f"environment variable `{RUNNER_ENV}`: expected 'local' or 'ray', received "
                     f"{os.environ[RUNNER_ENV]!r}")


def work(job: Job) -> float:
    """A job's size in epochs of its kind (a rescore or probe counts as one), the unit the ETA is measured in."""
    return {"search": job.config.search.epochs, "retrain": job.config.final.epochs, "rescore": 1, "probe": 1}[job.kind]


class Eta:
    """Time left, from the seconds per epoch of each kind measured on the jobs already done (finished.json's
    `seconds`, for the jobs that were finished before this run), since a search epoch and a retrain epoch differ."""

    def __init__(self, finished=(), root=None):
        self.seconds, self.units = {}, {}
        for job in finished:
            from enaslite.runs import RunDir
            done = RunDir(job.run_dir(root)).finished() or {}
            if isinstance(done.get("seconds"), (int, float)):
                self.add(job, done["seconds"])

    def add(self, job: Job, seconds: float) -> None:
        self.seconds[job.kind] = self.seconds.get(job.kind, 0.0) + seconds
        self.units[job.kind] = self.units.get(job.kind, 0) + work(job)

    def left(self, jobs) -> float | None:
        """Seconds for `jobs`, or None while a kind among them has no measurement yet."""
        total = 0.0
        for job in jobs:
            if not self.units.get(job.kind):
                return None
            total += work(job) * self.seconds[job.kind] / self.units[job.kind]
        return total

    def text(self, jobs) -> str:
        s = self.left(jobs)
        if s is None:
            return "eta ?"
        return f"eta {s / 3600:.1f} h" if s >= 3600 else f"eta {s / 60:.1f} min" if s >= 60 else f"eta {s:.0f} s"


def _bar(total: int, progress: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="job", disable=not progress)
