"""The book's four experiments, one function per notebook: checked `Params` in, an `Experiment` (its plan) out;
`run` computes what is missing and returns a `Study` (the jobs, their results, and captions made from their configs).

    p = params.check(scale="smoke", seeds=[0], runs_dir="/tmp/runs")
    study = run(learning_curve(p))          # searches, then retrains of their picks; finished runs are reused
    study.results.finals                    # the DataFrames of `enaslite.study.results.load`
    study.caption("macro")                  # dataset, scale, epochs and model sizes, from the configs

| notebook | function | thesis |
|---|---|---|
| calibration.ipynb | `calibration`: seed noise against architecture spread at the retrain budget | (ours) |
| searches.ipynb | `search`: ENAS searches and the `uniform` and `frozen` baselines, per seed | conclusion 2 (pooling) |
| learning_curve.ipynb | `learning_curve`: retrains of the best logged arc at epoch 1 and the last, random arcs | 5.2, 6.2 |
| performance_estimation.ipynb | `performance_estimation`: rescore n arcs at the middle epoch, retrain k of them | 5.3, 6.3 |
| transfer.ipynb | `transfer`: fresh vs transferred controllers on the target task, baselines there | 5.1, 6.1 |
| reference_bug.ipynb | `reference_bug`: the macro search with and without the reference's inert-op bug | beyond |

Every plan comes from `enaslite.study.plan` with the scale's presets and overrides (`plan.SCALES`); nothing here
sets a budget. Importing this module does not import Keras; `run` does when a job is missing.
"""

from __future__ import annotations

import inspect
import json
import logging
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from enaslite.config import Config
from enaslite.study import plan, timing
from enaslite.study.jobs import Job, arg_error, is_int
from enaslite.study.params import Params
from enaslite.study.results import Results, load
from enaslite.study.runner import Runner, default_runner

DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "fashion_mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Experiment:
    """One notebook's experiment before it runs: its name, parameters and plan functions (one per part).

    Attributes:
        name: the experiment's name (`search`, `learning_curve`, `performance_estimation`, `transfer`).
        params: the checked notebook parameters.
        parts: (space, plan function) pairs; each function takes `root` and returns jobs, as `plan`'s do.
        notes: what the experiment does beyond its plan functions, in words (e.g. the transfer's tasks).
    """

    name: str
    params: Params
    parts: tuple
    notes: tuple = ()

    def plan(self, root=None) -> list[Job]:
        """Every part's jobs, in order: the experiment as one plan function for `plan.plan_until_done`."""
        return [job for _, part in self.parts for job in part(root=root)]

    @property
    def spaces(self) -> tuple:
        return tuple(dict.fromkeys(space for space, _ in self.parts))


@dataclass(frozen=True)
class Study:
    """An experiment after `run`: every planned job, the results of those finished, and what this call ran.

    Attributes:
        experiment: the `Experiment` that was run.
        jobs: the final plan (every job finished).
        results: `load(jobs, runs_dir)`.
        ran: keys of the jobs this call computed (the others were reused).
        seconds: {key: seconds} of each finished job (finished.json), for the summary.
    """

    experiment: Experiment
    jobs: tuple
    results: Results
    ran: frozenset = frozenset()
    seconds: dict = field(default_factory=dict)

    @property
    def params(self) -> Params:
        return self.experiment.params

    def config(self, space: str) -> Config:
        """The config that stands for `space` in captions: its first search's (or first retrain's)."""
        jobs = [j for j in self.jobs if j.config.space == space]
        if not jobs:
            raise arg_error("space", f"one of {list(self.experiment.spaces)}", space)
        searches = [j for j in jobs if j.kind == "search"]
        return (searches or jobs)[0].config

    def caption(self, space: str | None = None) -> str:
        """Dataset, scale, epochs and model sizes of `space` (every space when None), generated from the configs and
        the finished retrains' parameter counts; the experiment's notes and the seeds close it."""
        spaces = self.experiment.spaces if space is None else (space,)
        data = {s: _datasets(self, s) for s in spaces}
        shared = len(set(data.values())) == 1
        head = f"Scale {self.params.scale}" + (f", {data[spaces[0]]}." if shared else ".")
        body = [describe(self, s, with_data=not shared) for s in spaces]
        seeds = ("Seeds " if len(self.params.seeds) > 1 else "Seed ") + ", ".join(map(str, self.params.seeds))
        return " ".join([head] + body + [f"{seeds}."] + list(self.experiment.notes))

    def label(self) -> str:
        """Our side of a comparison with the thesis, in a few words: "Fashion-MNIST, cpu scale"."""
        data = dict.fromkeys(DATASET_NAMES.get(j.config.data.dataset, j.config.data.dataset) for j in self.jobs)
        return f"{' → '.join(data)}, {self.params.scale} scale"

    def summary(self) -> pd.DataFrame:
        """Per kind of job: how many the experiment needs, how many this execution computed and reused, and the
        compute time of all of them (finished.json's seconds)."""
        rows = []
        for kind in ("search", "rescore", "probe", "retrain"):
            jobs = [j for j in self.jobs if j.kind == kind]
            if not jobs:
                continue
            ran = sum(j.key() in self.ran for j in jobs)
            minutes = sum(self.seconds.get(j.key(), 0.0) for j in jobs) / 60
            rows.append({"kind": kind, "runs": len(jobs), "computed now": ran, "reused": len(jobs) - ran,
                         "compute time (min)": round(minutes, 1)})
        columns = ["kind", "runs", "computed now", "reused", "compute time (min)"]
        return pd.DataFrame(rows, columns=columns).set_index("kind")


# -- the four experiments -------------------------------------------------------------------------------------------

def _part(fn: Callable, **kwargs) -> Callable:
    def part(root=None):
        return fn(root=root, **kwargs)
    part.__name__ = fn.__name__
    return part


def _chain(*parts: Callable) -> Callable:
    def chained(root=None):
        return [job for part in parts for job in part(root=root)]
    return chained


def _count(name: str, value) -> int:
    if not (is_int(value) and value >= 1):
        raise arg_error(name, "an int >= 1", value)
    return value


def calibration(p: Params, random_archs: int = 5) -> Experiment:
    """Can the scale's retrain budget tell architectures apart? Per space, `plan.calibration_jobs`: `random_archs`
    architectures drawn uniformly and retrained once (seeds 0 .. random_archs - 1, the learning curve's random
    architectures), and the first of them retrained again with each other seed of `p.seeds`."""
    _count("random_archs", random_archs)
    parts = []
    for space in p.spaces:
        kw = {k: v for k, v in p.plan_kwargs(space).items() if k != "space"}
        parts.append((space, _part(plan.calibration_jobs, space=space, seeds=p.seeds, count=random_archs, **kw)))
    return Experiment("calibration", p, tuple(parts))


def search(p: Params) -> Experiment:
    """Per space and seed: an ENAS search (`reinforce`) and the `uniform` (random search with weight sharing) and
    `frozen` (the untrained controller) baselines, with the same seeds."""
    parts = tuple((space, _chain(*(_part(plan.search_jobs, seeds=p.seeds, mode=mode, **p.plan_kwargs(space))
                                   for mode in ("reinforce", "uniform", "frozen"))))
                  for space in p.spaces)
    return Experiment("search", p, parts)


def learning_curve(p: Params, random_archs: int = 5) -> Experiment:
    """Thesis 5.2: `plan.learning_curve_jobs(baselines=True)` (the searches of `search`, then retrains of the best
    logged architecture at epoch 1 and the last) and `random_archs` architectures drawn uniformly and retrained
    (`plan.random_arc_jobs`, seeds 0 .. random_archs - 1, the runs `plan.calibration_jobs` also makes)."""
    _count("random_archs", random_archs)
    parts = []
    for space in p.spaces:
        kw = p.plan_kwargs(space)
        parts.append((space, _chain(_part(plan.learning_curve_jobs, seeds=p.seeds, baselines=True, **kw),
                                    _part(plan.random_arc_jobs, count=random_archs, **kw))))
    return Experiment("learning_curve", p, tuple(parts))


def performance_estimation(p: Params, n: int = 20, k: int = 7, random_archs: int = 5) -> Experiment:
    """Thesis 5.3: per seed an ENAS search, a rescore of `n` architectures sampled at the middle epoch (whole
    validation split, that epoch's shared weights), and retrains of `k` of them spread over the ranking; and
    `random_archs` architectures drawn uniformly and retrained (the learning curve's), the no-search baseline."""
    _count("n", n)
    _count("random_archs", random_archs)
    if not (is_int(k) and 1 <= k <= n):
        raise arg_error("k", f"an int in [1, n={n}]", k)
    parts = tuple((space, _chain(_part(plan.estimation_jobs, seeds=p.seeds, n=n, k=k, **p.plan_kwargs(space)),
                                 _part(plan.random_arc_jobs, count=random_archs, **p.plan_kwargs(space))))
                  for space in p.spaces)
    epochs = {space: _search_epochs(p, space) for space in p.spaces}
    notes = tuple(f"{space}: {n} architectures sampled at search epoch {(e + 1) // 2} of {e}, scored on the whole "
                  f"validation split with that epoch's shared weights; {k} of them retrained."
                  for space, e in epochs.items())
    return Experiment("performance_estimation", p, parts, notes)


def reference_bug(p: Params, n: int = 4) -> Experiment:
    """Beyond the thesis: the reference code's macro bug (`plan.reference_bug_jobs`). Macro only, whatever `space`
    says: per seed, the intended search (the learning curve's) and the inert-op search with the same seed, the
    retrains of their best epoch-1 and last-epoch architectures, and a probe of each search's last shared weights
    (`n` skip patterns, each scored under every op)."""
    if not (is_int(n) and n >= 2):
        raise arg_error("n", "an int >= 2", n)
    if "macro" not in p.spaces:
        raise arg_error("space", "'macro' or 'both' (the bug is in the macro search)", p.spaces[0])
    kw = p.plan_kwargs("macro")
    bug_preset = None if p.preset is not None else plan.SCALES[p.scale]["presets"]["macro-bug"]
    part = _part(plan.reference_bug_jobs, seeds=p.seeds, bug_preset=bug_preset, n=n, **kw)
    e = _search_epochs(p, "macro")
    notes = (f"Probes: {n} skip patterns sampled from the controller of search epoch {e}, each scored under its "
             f"sampled ops and under every layer set to each op, with that epoch's shared weights, on the whole "
             f"validation split.",)
    return Experiment("reference_bug", p, (("macro", part),), notes)


def transfer_spaces(p: Params) -> tuple:
    """The spaces the transfer experiment runs: macro, as the thesis, unless `space="micro"` asks for micro."""
    return ("macro",) if len(p.spaces) > 1 else p.spaces


def transfer(p: Params, random_archs: int = 5) -> Experiment:
    """Thesis 5.1: `plan.transfer_jobs(baselines=True)` with the scale's tasks (`plan.transfer_tasks`: classes 0-4
    -> 5-9 of the dataset at the small scales, CIFAR-10 -> CIFAR-100 at the thesis' scale): fresh, transferred and
    uniform controllers on the target task with the same seeds, retrains of their best logged architecture at the
    first, middle and last epoch, and `random_archs` random architectures retrained on the target task."""
    _count("random_archs", random_archs)
    tasks = plan.transfer_tasks(p.scale, p.dataset)
    parts = []
    for space in transfer_spaces(p):
        kw = {k: v for k, v in p.plan_kwargs(space).items() if k != "dataset"}
        parts.append((space, _chain(
            _part(plan.transfer_jobs, seeds=p.seeds, baselines=True, **tasks, **kw),
            _part(plan.random_arc_jobs, count=random_archs, dataset=tasks["dataset"],
                  classes=tasks["target_classes"], **kw))))
    return Experiment("transfer", p, tuple(parts))


def _search_epochs(p: Params, space: str) -> int:
    kw = p.plan_kwargs(space)
    return plan.experiment_config(space, kw["preset"], 0, kw["epochs"], kw.get("dataset"),
                                  overrides=kw["overrides"]).search.epochs


# -- running --------------------------------------------------------------------------------------------------------

class _Recording(Runner):
    """A runner that remembers which jobs the runner it wraps computed."""

    def __init__(self, inner: Runner):
        self.inner, self.ran = inner, set()

    def run(self, jobs, root, **kwargs):
        done = self.inner.run(jobs, root, **kwargs)
        self.ran |= {j.key() for j in done or ()}
        return done


def quiet() -> None:
    """Keeps the runner's output to its progress bar: TensorFlow's Python log (retracing notices) at ERROR level
    only, and tqdm.auto imported once without its notice that, in a kernel without ipywidgets, it draws text bars."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tqdm.auto  # noqa: F401


def run(experiment: Experiment, runner: Runner | None = None, progress: bool = True) -> Study:
    """Plans, runs what is missing under `params.runs_dir` (`plan.plan_until_done`; `runner` None is
    `runner.default_runner()`: a `LocalRunner`, with its progress bar and ETA, unless the environment asks for Ray),
    and loads the results."""
    root = experiment.params.runs_dir
    recording = _Recording(runner or default_runner())
    quiet()
    jobs = plan.plan_until_done(experiment.plan, recording, root, progress=progress)
    return Study(experiment, tuple(jobs), load(jobs, root), frozenset(recording.ran), _seconds(jobs, root))


BOOK = ("calibration", "search", "learning_curve", "performance_estimation", "transfer", "reference_bug")
"""The book's experiments, in the order of its chapters (the functions of this module of those names)."""


def book_experiments(p: Params, **kwargs) -> list[Experiment]:
    """Every experiment of the book at `p` (reference_bug only when `p` runs the macro space); `kwargs` (the
    notebooks' other parameters, e.g. `random_archs=1, k=2`) go to the experiments that take them."""
    out = []
    for name in BOOK:
        if name == "reference_bug" and "macro" not in p.spaces:
            continue
        fn = globals()[name]
        accepted = inspect.signature(fn).parameters
        out.append(fn(p, **{k: v for k, v in kwargs.items() if k in accepted}))
    return out


def missing_runs(p: Params, **kwargs) -> list[str]:
    """The run dirs (relative to `p.runs_dir`) that the book's experiments at `p` need and that are not finished,
    computing nothing; `kwargs` as `book_experiments`. Empty: executing the book at `p` trains nothing. Runs chosen
    from an unfinished run's results (the retrain of a search's pick) are not planned yet, so not listed."""
    root = p.runs_dir
    return sorted(str(job.run_dir(root).relative_to(root)) for job in book_jobs(p, **kwargs).values()
                  if not (job.run_dir(root) / "finished.json").is_file())


def book_jobs(p: Params, **kwargs) -> dict:
    """Every job the book's experiments at `p` plan as far as their runs exist, by key (shared runs once)."""
    return {job.key(): job for experiment in book_experiments(p, **kwargs) for job in load_study(experiment).jobs}


def study_cost(p: Params) -> pd.DataFrame:
    """Compute time of the book's experiments from their finished runs (finished.json's seconds), computing
    nothing: per experiment, its runs (finished / planned so far) and hours, then the whole study with every run
    counted once (experiments share runs). A run not finished counts as planned, not as time."""
    rows, seen = [], {}
    for experiment in book_experiments(p):
        study = load_study(experiment)
        keys = {j.key() for j in study.jobs}
        seen.update({k: study.seconds.get(k) for k in keys})
        rows.append({"experiment": experiment.name, "runs finished": len(study.seconds), "runs planned": len(keys),
                     "compute time (h)": round(sum(study.seconds.values()) / 3600, 2)})
    done = [s for s in seen.values() if s is not None]
    rows.append({"experiment": "whole study (each run once)", "runs finished": len(done), "runs planned": len(seen),
                 "compute time (h)": round(sum(done) / 3600, 2)})
    return pd.DataFrame(rows).set_index("experiment")


TIMING = "study_timing.csv"
RERUNS = "bench"  # scripts/parallel_jobs.py's reruns of committed runs: parallel-jobs-*.json


def alone_cost(p: Params) -> pd.DataFrame:
    """`timing.alone_cost` of the book's finished runs at `p`, from the timing table `p.runs_dir / TIMING`
    (`python scripts/study_timing.py` writes it from the machine's load log) and the reruns under
    `p.runs_dir / RERUNS` (`scripts/parallel_jobs.py`); without the timing table, one row saying so."""
    path = p.runs_dir / TIMING
    if not path.is_file():
        return pd.DataFrame([{"kind of run": "whole study",
                              "estimate from": f"no timing table {TIMING} in {p.runs_dir.name}/"}]).set_index(
            "kind of run")
    run_dirs = [job.run_dir(p.runs_dir) for job in book_jobs(p).values()]
    reruns = timing.read_reruns(p.runs_dir / RERUNS, p.runs_dir)
    return timing.alone_cost(run_dirs, timing.read_timing(path), reruns)


def load_study(experiment: Experiment) -> Study:
    """The study as far as its runs exist, computing nothing (planned waves stop at unfinished parents)."""
    root = experiment.params.runs_dir
    jobs = experiment.plan(root)
    return Study(experiment, tuple(jobs), load(jobs, root), frozenset(), _seconds(jobs, root))


def _seconds(jobs, root) -> dict:
    out = {}
    for job in jobs:
        path = job.run_dir(root) / "finished.json"
        if path.is_file():
            seconds = json.loads(path.read_text()).get("seconds")
            if isinstance(seconds, (int, float)):
                out[job.key()] = float(seconds)
    return out


# -- captions -------------------------------------------------------------------------------------------------------

def dataset_text(data) -> str:
    """`data` (a DataConfig) in words: the dataset's name, its classes and any limits on its images."""
    name = DATASET_NAMES.get(data.dataset, data.dataset)
    if data.classes is not None:
        name += f" classes {_ranges(data.classes)}"
    limits = [f"{v} {what}" for v, what in ((data.train_limit, "training"), (data.test_limit, "test")) if v]
    if limits:
        name += f" ({', '.join(limits)} images, {data.valid_size} for validation)"
    return name


def _ranges(values) -> str:
    values = list(values)
    if values == list(range(values[0], values[0] + len(values))) and len(values) > 2:
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)


def child_text(config: Config, phase: str) -> str:
    """The `phase` child's size: macro layers × filters, or micro cells, nodes and filters."""
    c = config.child(phase)
    if config.space == "macro":
        return f"{c.num_layers} layers × {c.out_filters} filters"
    return f"{c.num_layers} + 2 cells of {c.num_cells} nodes × {c.out_filters} filters"


def _steps_text(c) -> str:
    return (f"{c.steps_per_epoch} steps of {c.batch_size} images" if c.steps_per_epoch
            else f"a full pass in batches of {c.batch_size}")


def _datasets(study: Study, space: str) -> str:
    """The data the space's runs saw: one dataset, or source and target tasks when they differ."""
    texts = list(dict.fromkeys(dataset_text(j.config.data) for j in study.jobs if j.config.space == space))
    if len(texts) == 2 and study.experiment.name == "transfer":
        return f"source task {texts[0]}, target task {texts[1]}"
    return "; ".join(texts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe(study: Study, space: str, with_data: bool = True) -> str:
    """One sentence: space and preset (and dataset), search and retrain epochs and sizes, parameter counts."""
    config = study.config(space)
    s, f = config.search, config.final
    has = {j.kind for j in study.jobs if j.config.space == space}
    parts = []
    if "search" in has:
        parts.append(f"searches of {_plural(s.epochs, 'epoch')} × {_steps_text(s)}, {child_text(config, 'search')}")
    if "retrain" in has:
        text = f"retrains of {_plural(f.epochs, 'epoch')} × {_steps_text(f)}, {child_text(config, 'final')}"
        finals = study.results.finals
        counts = finals.loc[finals["space"] == space, "params"].dropna() if not finals.empty else []
        if len(counts):
            low, high = int(min(counts)), int(max(counts))
            text += f" ({low:,} trainable parameters)" if low == high else f" ({low:,}–{high:,} trainable parameters)"
        parts.append(text)
    data = f", {_datasets(study, space)}" if with_data else ""
    return f"{space.capitalize()} (preset {config.preset}{data}): {'; '.join(parts)}."


def parameters_text(p: Params) -> str:
    """Markdown for the top of a notebook: which scale (and why), spaces, seeds and epochs this page ran with."""
    spaces = " and ".join(p.spaces) + (" spaces" if len(p.spaces) > 1 else " space")
    epochs = (f"{p.epochs} search epochs" if p.epochs is not None
              else "the scale's search epochs" if plan.SCALES[p.scale]["epochs"] is None
              else f"{plan.SCALES[p.scale]['epochs']} search epochs (the scale's)")
    why = "" if p.scale_reason == "given" else f" ({p.scale_reason.removeprefix('auto: ')})"
    dataset = "" if p.dataset is None else f", dataset {DATASET_NAMES.get(p.dataset, p.dataset)}"
    preset = "" if p.preset is None else f", preset `{p.preset}`"
    seeds = ("seeds " if len(p.seeds) > 1 else "seed ") + ", ".join(map(str, p.seeds))
    return f"This page was computed at the **{p.scale}** scale{why}: {spaces}; {seeds}; {epochs}{dataset}{preset}."


def wrap(text: str, width: int = 110) -> list[str]:
    """`text` as lines of at most `width` characters (chart subtitles do not wrap by themselves)."""
    return textwrap.wrap(text, width)


def transfer_tasks_text(p: Params) -> str:
    """Markdown: between which tasks the transfer experiment moves the controller at `p`'s scale, and why."""
    tasks = plan.transfer_tasks(p.scale, p.dataset)
    space = transfer_spaces(p)[0]
    kw = p.plan_kwargs(space)
    preset_data = plan.experiment_config(space, kw["preset"], 0, overrides=kw["overrides"]).data.dataset
    source = DATASET_NAMES.get(tasks["source_dataset"] or preset_data, tasks["source_dataset"] or preset_data)
    target = DATASET_NAMES.get(tasks["dataset"] or preset_data, tasks["dataset"] or preset_data)
    if tasks["source_classes"] is None and tasks["target_classes"] is None:
        return (f"At the **{p.scale}** scale the controller is trained on **{source}** (the source task) and "
                f"transferred to **{target}** (the target task), as in the thesis.")
    return (f"At the **{p.scale}** scale the source task is **{source} classes {_ranges(tasks['source_classes'])}** "
            f"and the target task **{target} classes {_ranges(tasks['target_classes'])}**: two disjoint halves of "
            f"{source}'s classes stand in for the thesis' CIFAR-10 → CIFAR-100"
            f"{', which needs a GPU' if p.scale != 'thesis' else ''}. Both tasks have "
            f"the same number of classes, so the transfer tests whether the controller's preferences carry over to "
            f"other images, not to a harder task.")
