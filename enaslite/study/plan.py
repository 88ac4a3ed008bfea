"""Experiments as plans: pure functions from parameters (and the finished runs under `root`) to jobs.

A retrain's architecture comes from its parent's files (a search's logged samples, a rescore's scores), so an
experiment is planned in waves: the first call (or `root=None`) returns the searches (and rescores), and each later
call also returns the retrains that finished parents propose. `plan_until_done` alternates planning and running
until every planned job is finished.

Every experiment function takes `space`, `preset` (a preset name), `seeds`, `epochs` (search epochs; None keeps the
preset's), `dataset` (None keeps the preset's), `bug` (the reference macro-search bug; None keeps the preset's),
`overrides` (dotted config fields, as `preset(name, **overrides)`) and `root`. `scale_overrides(scale, space)` gives
the preset, epochs and overrides of a scale (`smoke`, `cpu`, `thesis`), to splat into any of them:

    jobs = learning_curve_jobs(seeds=[0, 1], root="runs", **scale_overrides("cpu", "macro"))
"""

from __future__ import annotations

import math
from pathlib import Path

from enaslite.config import Config, preset as make_preset
from enaslite.random_arc import random_final_arc
from enaslite.runs import read_jsonl
from enaslite.study.jobs import Job, arg_error, is_int

SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)

# The three scales the book runs, as data: the same plan functions take any of them. `transfer` says between which
# tasks the transfer experiment moves the controller (a dataset of None is the preset's): at the small scales
# between two disjoint halves of one dataset's classes, at the thesis' scale from CIFAR-10 to CIFAR-100.
SCALES = {
    "smoke": {"presets": {"macro": "smoke", "macro-bug": "smoke", "micro": "smoke"}, "epochs": 2,
              "overrides": {"final.epochs": 1, "search.steps_per_epoch": 2, "final.steps_per_epoch": 2,
                            "data.train_limit": 128, "data.valid_size": 64, "data.test_limit": 64},
              "transfer": {"source_dataset": None, "source_classes": SOURCE_CLASSES, "target_dataset": None,
                           "target_classes": TARGET_CLASSES}},
    "cpu": {"presets": {"macro": "cpu-macro", "macro-bug": "cpu-macro-bug", "micro": "cpu-micro"},
            "epochs": None, "overrides": {},
            # The calibrated retrain budget (book: calibration): 4 epochs of a fixed number of steps, cosine
            # period 4, so that the study's ~125 retrains fit its 8 hours. Micro gets 300 steps to macro's 150
            # because its cells learn more slowly per step at this size (both calibrated in runs/retrain).
            "space_overrides": {"macro": {"final.epochs": 4, "final.lr_t0": 4, "final.steps_per_epoch": 150},
                                "micro": {"final.epochs": 4, "final.lr_t0": 4, "final.steps_per_epoch": 300}},
            "transfer": {"source_dataset": None, "source_classes": SOURCE_CLASSES, "target_dataset": None,
                         "target_classes": TARGET_CLASSES}},
    "thesis": {"presets": {"macro": "thesis-macro", "macro-bug": "thesis-macro-bug", "micro": "thesis-micro"},
               "epochs": None, "overrides": {},
               "transfer": {"source_dataset": "cifar10", "source_classes": None, "target_dataset": "cifar100",
                            "target_classes": None}},
}

# Class counts of the named datasets (enaslite.data loads CIFAR-100 with its 100 fine labels).
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100, "fashion_mnist": 10}


def overrides_for(scale: str, space: str) -> dict:
    """The dotted config fields `scale` sets for `space`: its common overrides, then its per-space ones."""
    s = SCALES[scale]
    return {**s["overrides"], **s.get("space_overrides", {}).get(space, {})}


def scale_overrides(scale: str, space: str = "macro", bug: bool = False) -> dict:
    """{space, preset, epochs, overrides, bug} of `scale` (a key of `SCALES`), to splat into a plan function."""
    if scale not in SCALES:
        raise arg_error("scale", f"one of {sorted(SCALES)}", scale)
    if space not in ("macro", "micro") or (bug and space != "macro"):
        raise arg_error("space", "'macro' or 'micro' ('macro' with bug=True)", space)
    s = SCALES[scale]
    return {"space": space, "preset": s["presets"][f"{space}-bug" if bug else space], "epochs": s["epochs"],
            "overrides": overrides_for(scale, space), "bug": True if bug else None}


def transfer_tasks(scale: str, dataset: str | None = None) -> dict:
    """{source_dataset, source_classes, dataset, target_classes} of the transfer experiment at `scale`, to splat
    into `transfer_jobs`. A named `dataset` replaces the scale's tasks by the two halves of that dataset's classes
    (CIFAR-100: classes 0-49 -> 50-99); an .npz has no known class count and is refused."""
    if scale not in SCALES:
        raise arg_error("scale", f"one of {sorted(SCALES)}", scale)
    if dataset is None:
        t = SCALES[scale]["transfer"]
        return {"source_dataset": t["source_dataset"], "source_classes": t["source_classes"],
                "dataset": t["target_dataset"], "target_classes": t["target_classes"]}
    if dataset not in DATASET_CLASSES:
        raise arg_error("dataset", f"None or one of {sorted(DATASET_CLASSES)} for the transfer experiment (it splits "
                                   f"the classes in two halves, so it must know how many there are)", dataset)
    half = DATASET_CLASSES[dataset] // 2
    return {"source_dataset": dataset, "source_classes": tuple(range(half)), "dataset": dataset,
            "target_classes": tuple(range(half, 2 * half))}


# -- configs --------------------------------------------------------------------------------------------------------

def experiment_config(space: str, preset: str, seed: int, epochs: int | None = None, dataset: str | None = None,
                      mode: str = "reinforce", classes=None, bug: bool | None = None,
                      overrides: dict | None = None) -> Config:
    """`preset` with `overrides`, then the experiment's own fields (which `overrides` may not also set)."""
    fields = {"space": space, "seed": seed, "controller.mode": mode, "data.classes": classes}
    if epochs is not None:
        fields["search.epochs"] = epochs
    if dataset is not None:
        fields["data.dataset"] = dataset
    if bug is not None:
        fields["reference_macro_bug"] = bug
    overrides = dict(overrides or {})
    clash = sorted(set(overrides) & set(fields))
    if clash:
        raise arg_error("overrides", "no field that a parameter of the plan sets (pass it as that parameter)", clash)
    return make_preset(preset, **overrides).override(**fields)


def _check_retrainable(config: Config) -> None:
    """Searched architectures are retrained at `config.final`: its depth must be the searched one."""
    s, f = config.search, config.final
    field = "num_layers" if config.space == "macro" else "num_cells"
    if getattr(s, field) != getattr(f, field):
        raise arg_error("preset", f"a config whose search and final children share {field}, so searched "
                              f"architectures can be retrained", f"{config.preset}: search.{field}="
                              f"{getattr(s, field)}, final.{field}={getattr(f, field)}")


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds) if isinstance(seeds, (list, tuple, range)) else None
    if not seeds or not all(is_int(s) for s in seeds) or len(set(seeds)) != len(seeds):
        raise arg_error("seeds", "a non-empty list of distinct ints", seeds)
    return seeds


def _classes_tag(classes) -> str:
    return "" if classes is None else "-c" + "_".join(str(c) for c in classes)


# -- reading finished parents ---------------------------------------------------------------------------------------

def _finished_rows(job: Job, root, name: str) -> list[dict] | None:
    """Rows of `name` (a .jsonl) in `job`'s run dir once the job is finished; None before (not planned yet)."""
    if root is None or not job.finished(root):
        return None
    return read_jsonl(job.run_dir(root) / name)


def best_logged(samples: list[dict], epoch: int) -> dict:
    """The architecture logged at `epoch` with the highest shared-weight `valid_acc` (ties: the first logged)."""
    rows = [r for r in samples if r["epoch"] == epoch]
    if not rows:
        raise arg_error("epoch", f"an epoch with logged samples, one of {sorted({r['epoch'] for r in samples})}", epoch)
    return min(rows, key=lambda r: (-r["valid_acc"], r["index"]))


def spread(scores: list[dict], k: int) -> list[tuple[int, dict]]:
    """(rank, row) of `k` distinct architectures spread evenly over the ranking of `scores` by `valid_acc`.

    Rank 1 is the best; the picks are the best, the worst and evenly spaced ranks between. Architectures sampled
    more than once are ranked once (retraining one twice under one parent would be one job), so fewer than `k`
    come back when fewer are distinct.
    """
    unique: dict[str, dict] = {}
    for row in scores:
        unique.setdefault(row["arc"], row)
    ranked = sorted(unique.values(), key=lambda r: (-r["valid_acc"], r["index"]))
    m, k = len(ranked), min(k, len(ranked))
    if k <= 1:
        return [(1, ranked[0])] if k == 1 else []
    # floor(x + 0.5), not round(): Python's round() halves to even, which could pick one rank twice.
    positions = [math.floor(i * (m - 1) / (k - 1) + 0.5) for i in range(k)]
    return [(p + 1, ranked[p]) for p in positions]


def _retrain(parent: Job, row: dict, label: str, epoch: int | None) -> Job:
    return Job("retrain", parent.config, label, arc=row["arc"], parent=parent.key(), epoch=epoch)


def best_retrains(search: Job, root, epochs) -> list[Job]:
    """Retrains of the best logged architecture of each of `epochs` of a finished `search` ([] until it is)."""
    samples = _finished_rows(search, root, "samples.jsonl")
    if samples is None:
        return []
    return [_retrain(search, best_logged(samples, e), f"{search.label}-ep{e}best", e) for e in epochs]


# -- experiments ----------------------------------------------------------------------------------------------------

def search_jobs(space: str, preset: str, seeds, epochs: int | None = None, dataset: str | None = None,
                mode: str = "reinforce", classes=None, bug: bool | None = None, *, overrides: dict | None = None,
                root=None) -> list[Job]:
    """One search per seed (`controller.mode` = mode, `data.classes` = classes). `root` is unused (no parents)."""
    jobs = []
    for seed in _check_seeds(seeds):
        config = experiment_config(space, preset, seed, epochs, dataset, mode, classes, bug, overrides)
        tag = "-bug" if config.reference_macro_bug else ""
        jobs.append(Job("search", config, f"{space}{tag}-{mode}{_classes_tag(classes)}-s{seed}"))
    return jobs


def learning_curve_jobs(space: str, preset: str, seeds, epochs: int | None = None, dataset: str | None = None, *,
                        baselines: bool = False, classes=None, bug: bool | None = None,
                        overrides: dict | None = None, root=None) -> list[Job]:
    """Thesis claim 2 (epoch-1 architectures retrain as well as last-epoch ones): per seed, a search, then retrains
    of the best logged architecture at epoch 1 (label ``...-ep1best``) and at the last epoch (``...-ep{E}best``).
    `baselines` adds the same for the `uniform` and `frozen` controllers."""
    jobs = []
    for mode in ("reinforce", "uniform", "frozen") if baselines else ("reinforce",):
        searches = search_jobs(space, preset, seeds, epochs, dataset, mode, classes, bug, overrides=overrides)
        _check_retrainable(searches[0].config)
        for s in searches:
            jobs += [s, *best_retrains(s, root, sorted({1, s.config.search.epochs}))]
    return jobs


def random_arc_jobs(space: str, preset: str, count: int, seed: int = 0, dataset: str | None = None, *,
                    epochs: int | None = None, classes=None, bug: bool | None = None, overrides: dict | None = None,
                    root=None) -> list[Job]:
    """Retrains of `count` architectures drawn uniformly from the space, no search: job i has seed `seed + i` and
    the architecture `python -m enaslite retrain --random --seed <seed + i>` draws, so it is that command's run
    (on `classes` of the dataset when given, labelled ``...-random-c5_6-s{i}``). `epochs` and `root` are unused
    (accepted so that `scale_overrides` and `plan_until_done` fit)."""
    if not (is_int(count) and count >= 1):
        raise arg_error("count", "an int >= 1", count)
    if not is_int(seed):
        raise arg_error("seed", "an int", seed)
    jobs = []
    for s in range(seed, seed + count):
        config = experiment_config(space, preset, s, None, dataset, classes=classes, bug=bug, overrides=overrides)
        arc = random_final_arc(config)  # what `retrain --random --seed s` draws
        jobs.append(Job("retrain", config, f"{space}-random{_classes_tag(classes)}-s{s}", arc=arc.to_string()))
    return jobs


def calibration_jobs(space: str, preset: str, seeds=(0, 1, 2), count: int = 5, dataset: str | None = None, *,
                     epochs: int | None = None, bug: bool | None = None, overrides: dict | None = None,
                     root=None) -> list[Job]:
    """Can a retrain budget tell architectures apart? `count` random architectures retrained once each
    (`random_arc_jobs` with seeds 0 .. count-1: the spread between architectures), plus the first of them retrained
    again with each other training seed in `seeds` (the seed-to-seed noise), labelled ``...-random-s0-train-s{s}``.
    `epochs` and `root` are unused."""
    jobs = random_arc_jobs(space, preset, count, 0, dataset, bug=bug, overrides=overrides)
    first = jobs[0]
    for s in _check_seeds(seeds):
        if s != first.config.seed:
            config = experiment_config(space, preset, s, None, dataset, bug=bug, overrides=overrides)
            jobs.append(Job("retrain", config, f"{first.label}-train-s{s}", arc=first.arc))
    return jobs


def estimation_jobs(space: str, preset: str, seeds, epochs: int | None = None, dataset: str | None = None, *,
                    n: int = 20, k: int = 5, epoch: int | None = None, sample_seed: int = 0,
                    bug: bool | None = None, overrides: dict | None = None, root=None) -> list[Job]:
    """Thesis claim 3 (shared-weight accuracy does not predict retrained accuracy): per seed, a search; a rescore of
    `n` architectures sampled from its controller at `epoch` (default the middle epoch, (E + 1) // 2, a default
    save epoch) on the whole validation split with that epoch's shared weights; then retrains of `k` of them
    spread over the rescored ranking (`spread`), labelled ``...-rank{r}``."""
    if not (is_int(n) and n >= 1):
        raise arg_error("n", "an int >= 1", n)
    if not (is_int(k) and 1 <= k <= n):
        raise arg_error("k", f"an int in [1, n={n}]", k)
    jobs = []
    for s in search_jobs(space, preset, seeds, epochs, dataset, bug=bug, overrides=overrides):
        _check_retrainable(s.config)
        total = s.config.search.epochs
        e = (total + 1) // 2 if epoch is None else epoch
        if not (is_int(e) and 1 <= e <= total):
            raise arg_error("epoch", f"a search epoch in [1, {total}]", e)
        rescore = Job("rescore", s.config, f"{s.label}-ep{e}-n{n}", parent=s.key(), epoch=e, n=n, seed=sample_seed)
        jobs += [s, rescore]
        scores = _finished_rows(rescore, root, "scores.jsonl")
        if scores is not None:
            jobs += [_retrain(rescore, row, f"{rescore.label}-rank{rank:02d}", None) for rank, row in spread(scores, k)]
    return jobs


def reference_bug_jobs(space: str, preset: str, seeds, epochs: int | None = None, dataset: str | None = None, *,
                       bug_preset: str | None = None, n: int = 4, epoch: int | None = None, sample_seed: int = 0,
                       bug: bool | None = None, overrides: dict | None = None, root=None) -> list[Job]:
    """The reference code's macro bug (spec 2.3), per seed and for both modes, the intended one (`preset`) and the
    reference's inert-op one (`bug_preset`, default `preset` with ``reference_macro_bug=True``): the learning-curve
    jobs (a search, retrains of its best logged architecture at epoch 1 and the last) and a probe of the search's
    shared weights at `epoch` (default the last): `n` skip patterns sampled with `sample_seed`, each scored under
    every op (`enaslite.probe`). The intended mode's jobs are the learning curve's own (same keys). `bug` must be
    None: this experiment runs both."""
    if space != "macro":
        raise arg_error("space", "'macro' (the bug is in the macro search)", space)
    if bug is not None:
        raise arg_error("bug", "None (the experiment runs both modes)", bug)
    if not (is_int(n) and n >= 2):
        raise arg_error("n", "an int >= 2 (skip patterns; the effect of ops is measured within them)", n)
    jobs = []
    for mode_preset, mode_bug in ((preset, None), (bug_preset or preset, True)):
        lc = learning_curve_jobs(space, mode_preset, seeds, epochs, dataset, bug=mode_bug, overrides=overrides,
                                 root=root)
        jobs += lc
        for s in [j for j in lc if j.kind == "search"]:
            total = s.config.search.epochs
            e = total if epoch is None else epoch
            if not (is_int(e) and 1 <= e <= total):
                raise arg_error("epoch", f"None or a search epoch in [1, {total}]", e)
            jobs.append(Job("probe", s.config, f"{s.label}-ep{e}-probe{n}", parent=s.key(), epoch=e, n=n,
                            seed=sample_seed))
    return jobs


def transfer_jobs(space: str, preset: str, seeds, epochs: int | None = None, dataset: str | None = None, *,
                  source_dataset: str | None = None, source_classes=SOURCE_CLASSES, target_classes=TARGET_CLASSES,
                  retrain_epochs_at=None, source_seed: int = 0, baselines: bool = False, bug: bool | None = None,
                  overrides: dict | None = None, root=None) -> list[Job]:
    """The thesis' transfer experiment: a search on the source task (`source_dataset`, None = `dataset`, restricted
    to `source_classes`; seed `source_seed`); per seed, two searches on the target task (`dataset`, restricted to
    `target_classes`), one fresh and one starting from the source's last-epoch controller; then, for each target
    search, retrains of its best logged architecture at each epoch of `retrain_epochs_at` (default first, middle
    and last). `baselines` adds, per seed, a search on the target task with the `uniform` controller (random
    search with weight sharing) and the same retrains. `transfer_tasks(scale)` gives the scale's tasks."""
    source_dataset = dataset if source_dataset is None else source_dataset
    source = search_jobs(space, preset, [source_seed], epochs, source_dataset, classes=source_classes, bug=bug,
                         overrides=overrides)[0]
    _check_retrainable(source.config)
    tag = "-bug" if source.config.reference_macro_bug else ""
    source = Job("search", source.config, f"{space}{tag}-source-s{source_seed}")
    total = source.config.search.epochs
    at = sorted({1, (total + 1) // 2, total} if retrain_epochs_at is None else set(retrain_epochs_at))
    if not at or not all(is_int(e) and 1 <= e <= total for e in at):
        raise arg_error("retrain_epochs_at", f"search epochs in [1, {total}]", retrain_epochs_at)
    jobs = [source]
    for seed in _check_seeds(seeds):
        config = experiment_config(space, preset, seed, epochs, dataset, classes=target_classes, bug=bug,
                                   overrides=overrides)
        targets = [Job("search", config, f"{space}{tag}-target-fresh-s{seed}"),
                   Job("search", config, f"{space}{tag}-target-transfer-s{seed}", parent=source.key(), epoch=total)]
        if baselines:
            uniform = experiment_config(space, preset, seed, epochs, dataset, "uniform", target_classes, bug,
                                        overrides)
            targets.append(Job("search", uniform, f"{space}{tag}-target-uniform-s{seed}"))
        for target in targets:
            jobs += [target, *best_retrains(target, root, at)]
    return jobs


# -- waves ----------------------------------------------------------------------------------------------------------

def plan_until_done(plan_fn, runner, root, **run_kwargs) -> list[Job]:
    """Plans with `plan_fn(root=root)`, runs the unfinished jobs with `runner.run(jobs, root, **run_kwargs)`, and
    replans, until every planned job is finished; returns the final plan.

    `plan_fn` is an experiment with its parameters bound, e.g.
    ``functools.partial(learning_curve_jobs, "macro", "smoke", [0], 2)``.
    """
    root, ran = Path(root), set()
    while True:
        jobs = plan_fn(root=root)
        todo = {j.key() for j in jobs if not j.finished(root)}
        if not todo:
            return jobs
        if todo <= ran:
            # The runner returned without finishing them: planning again would loop for ever.
            raise RuntimeError(f"argument `runner`: expected the planned jobs finished after a run, received "
                               f"{len(todo)} still unfinished: {sorted(todo)[:5]}")
        runner.run(jobs, root, **run_kwargs)
        ran |= todo
