"""What the study would cost on this machine running alone: run times joined with the machine's load.

A run's wall time (`finished.json`'s seconds) depends on what else shared the cores while it ran, and the CPU-scale
study was made over a day on a 2-core machine that also ran tests and other work at times. So the measured sum is an
upper bound for the machine running the study alone. To say what the study costs alone, the 1-minute load average
was logged once a minute while the study ran (a plain text log: `<UTC time> <1-min> <5-min> <15-min>`), and
`write_timing` joins it with each finished run: when it finished (its `finished.json`'s modification time, which
git does not keep, hence a committed table) and the mean and maximum load over its run. A run whose mean load stayed
at most `ALONE_LOAD` ran alone: the study's own process keeps about 2 to 2.7 runnable threads on 2 cores.

`alone_cost` then estimates the study's time alone per kind of run (kind, space, classes): the number of runs times
the median wall time of that kind's runs made alone, or, for a kind with no run made alone (or no load logged), its
measured time, an upper bound, and says which.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from pathlib import Path

import pandas as pd

from enaslite.runs import atomic_write_text

# Mean 1-minute load over a run at or below which it counts as made alone: on 2 cores the study's own process (two
# TensorFlow threads, plus the data and inter-op threads now and then) shows 2.0 to 2.7 when nothing else runs.
ALONE_LOAD = 2.8
COLUMNS = ("run", "finished_utc", "seconds", "load_mean", "load_max", "load_samples")


def read_load_log(path) -> list[tuple[float, float]]:
    """(POSIX time, 1-minute load) per line of a load log; malformed lines name their line number."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            when = dt.datetime.fromisoformat(parts[0]).replace(tzinfo=dt.timezone.utc).timestamp()
            out.append((when, float(parts[1])))
        except (IndexError, ValueError):
            raise ValueError(f"argument `load_log`: line {number}: expected '<ISO UTC time> <1-min load> ...', "
                             f"received {line!r}") from None
    return out


def timing_rows(runs_dir, load_log) -> list[dict]:
    """One row per finished run directory under `runs_dir` (`<kind>/<name>`): when it finished, its seconds, and the
    load logged during it (no samples: mean and max empty)."""
    runs_dir = Path(runs_dir)
    loads = read_load_log(load_log)
    rows = []
    for done in sorted(runs_dir.glob("*/*/finished.json")):
        seconds = json.loads(done.read_text(encoding="utf-8")).get("seconds")
        if not isinstance(seconds, (int, float)):
            continue
        end = done.stat().st_mtime
        during = [load for when, load in loads if end - seconds <= when <= end]
        rows.append({"run": done.parent.relative_to(runs_dir).as_posix(),
                     "finished_utc": dt.datetime.fromtimestamp(end, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                     "seconds": round(float(seconds), 3),
                     "load_mean": round(statistics.fmean(during), 2) if during else "",
                     "load_max": max(during) if during else "",
                     "load_samples": len(during)})
    return rows


def write_timing(runs_dir, load_log, out) -> Path:
    """Writes `timing_rows` as CSV to `out` (atomically) and returns its path."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(timing_rows(runs_dir, load_log))
    out = Path(out)
    atomic_write_text(out, buffer.getvalue())
    return out


def read_timing(path) -> pd.DataFrame:
    """The table `write_timing` wrote, indexed by run (`<kind>/<name>`)."""
    frame = pd.read_csv(path)
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"argument `path`: expected a timing table with columns {list(COLUMNS)}, received "
                         f"{list(frame.columns)} in {path}")
    return frame.set_index("run")


def run_kind(run_dir) -> str:
    """`<space> <kind>` and, when the run keeps only some classes, how many: e.g. `macro retrain, 5 classes`."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    kind = run_dir.parent.name  # runs live in <root>/<kind>/<name>
    classes = config.get("data", {}).get("classes")
    return f"{config['space']} {kind}" + (f", {len(classes)} classes" if classes else "")


def base_kind(kind: str) -> str:
    """`run_kind` without its class count: `macro retrain, 5 classes` -> `macro retrain`."""
    return kind.split(",")[0]


RERUNS_GLOB = "parallel-jobs-*.json"
RERUN_COLUMNS = ("file", "run", "kind", "serial s", "serial wall s", "parallel wall s")


def read_reruns(bench_dir, runs_dir) -> pd.DataFrame:
    """The reruns `scripts/parallel_jobs.py` made of committed runs, one row per job and file in `bench_dir`:
    the committed run (`<kind>/<name>`) and its kind, the job's seconds run one at a time (`serial s`, a run made
    alone), and the file's whole wall times one at a time and two at a time with one thread each."""
    rows = []
    for path in sorted(Path(bench_dir).glob(RERUNS_GLOB)):
        result = json.loads(path.read_text(encoding="utf-8"))
        try:
            ways = {way.get("mode"): way for way in result["ways"]}
            serial, parallel = ways["serial"], ways["ray"]
            for label in result["labels"]:
                job = serial["jobs"][label]
                rows.append({"file": path.name, "run": job["run"], "kind": run_kind(Path(runs_dir) / job["run"]),
                             "serial s": float(job["seconds"]), "serial wall s": float(serial["wall_s"]),
                             "parallel wall s": float(parallel["wall_s"])})
        except (KeyError, TypeError) as err:
            raise ValueError(f"argument `bench_dir`: expected {path.name} as scripts/parallel_jobs.py writes it, "
                             f"received one without {err}") from None
    return pd.DataFrame(rows, columns=RERUN_COLUMNS)


COST_COLUMNS = ("kind of run", "runs", "measured (h)", "made alone", "reruns alone", "alone, median (min)",
                "estimate alone (h)", "estimate from", "two at a time / one", "estimate two at a time (h)")


def alone_cost(run_dirs, table: pd.DataFrame, reruns: pd.DataFrame | None = None,
               alone_load: float = ALONE_LOAD) -> pd.DataFrame:
    """Per kind of run among the finished `run_dirs` (paths `<root>/<kind>/<name>`): runs, measured hours, runs
    made alone (mean load at most `alone_load` over the run, per the timing `table`), reruns made alone (`reruns`,
    `read_reruns`' table, run one at a time), the median minutes over both, and the estimated hours alone (runs x
    that median; the measured hours where the kind has neither, an upper bound). Then the same two at a time with
    one thread each (`reproduce --ray --ray-threads-per-job 1`): the estimate times the wall-time ratio of the two
    ways measured on reruns of the same kind (classes aside), or 1 where none was measured. A total row ends it. A
    run's seconds come from its finished.json, the source of truth; runs absent from `table` (made after it was
    written) count as not made alone."""
    reruns = pd.DataFrame(columns=RERUN_COLUMNS) if reruns is None else reruns
    groups = {}
    for run_dir in map(Path, run_dirs):
        done = run_dir / "finished.json"
        if not done.is_file():
            continue
        seconds = float(json.loads(done.read_text(encoding="utf-8"))["seconds"])
        name = f"{run_dir.parent.name}/{run_dir.name}"
        load = table.loc[name, "load_mean"] if name in table.index else float("nan")
        groups.setdefault(run_kind(run_dir), []).append((seconds, pd.notna(load) and float(load) <= alone_load))
    files = reruns.drop_duplicates("file")
    rows = []
    for kind, runs in sorted(groups.items()):
        measured = sum(s for s, _ in runs)
        alone = [s for s, a in runs if a]
        again = list(reruns.loc[reruns["kind"] == kind, "serial s"])
        median = statistics.median(alone + again) if alone or again else float("nan")
        estimate = len(runs) * median if alone or again else measured
        same = files[files["kind"].map(base_kind) == base_kind(kind)]
        ratio = float(same["parallel wall s"].sum() / same["serial wall s"].sum()) if len(same) else 1.0
        rows.append((kind, len(runs), measured / 3600, len(alone), len(again), median / 60, estimate / 3600,
                     "alone median" if alone or again else "measured (upper bound)",
                     ratio, estimate * ratio / 3600))
    frame = pd.DataFrame(rows, columns=COST_COLUMNS)
    total = ("whole study", int(frame["runs"].sum()), frame["measured (h)"].sum(), int(frame["made alone"].sum()),
             int(frame["reruns alone"].sum()), float("nan"), frame["estimate alone (h)"].sum(), "",
             frame["estimate two at a time (h)"].sum() / frame["estimate alone (h)"].sum(),
             frame["estimate two at a time (h)"].sum())
    return pd.concat([frame, pd.DataFrame([total], columns=COST_COLUMNS)], ignore_index=True).set_index("kind of run")


def budget_text(cost: pd.DataFrame, budget_hours: float = 8.0) -> str:
    """Markdown: `alone_cost`'s whole-study estimates, one job at a time and two at a time, against a budget of
    `budget_hours` alone, saying plainly whether each fits and how many kinds of run were counted at their measured
    time (an upper bound) or without a measured two-at-a-time ratio."""
    total = cost.loc["whole study"]
    if pd.isna(total.get("estimate alone (h)")):
        return "No timing table: the study's time alone is not estimated."

    def verdict(hours):
        return (f"**over** the {budget_hours:g}-hour budget by {hours - budget_hours:.2f} h" if hours > budget_hours
                else f"within the {budget_hours:g}-hour budget")

    kinds = cost.drop(index="whole study")
    estimate, measured = float(total["estimate alone (h)"]), float(total["measured (h)"])
    upper = int((kinds["estimate from"] == "measured (upper bound)").sum())
    text = (f"Estimated with the machine alone, the whole study takes **{estimate:.2f} h** one run at a time "
            f"(measured, with the cores shared at times: {measured:.2f} h): {verdict(estimate)}. {upper} of the "
            f"{len(kinds)} kinds of run count at their measured time, an upper bound in that part.")
    unmeasured = kinds["two at a time / one"] == 1.0
    if unmeasured.all():
        return text
    two = float(total["estimate two at a time (h)"])
    return (text + f" Two runs at a time with one thread each, it takes **{two:.2f} h**: {verdict(two)} "
            f"({int(unmeasured.sum())} of the {len(kinds)} kinds, with {int(kinds.loc[unmeasured, 'runs'].sum())} "
            f"runs, counted as one at a time, their ratio not measured).")
