"""A results table of every run directory under a folder, like KerasTuner's `results_summary`.

`find_run_dirs(root)` walks `root` for run directories (a folder holding `config.json` or `run.json`; see
`enaslite.runs`), `summarize(run_dir)` reads one into a row, and `format_table(rows)` lays the rows out. Nothing is
written, and nothing is imported beyond the readers of `enaslite.runs`, so a table of hundreds of runs takes no
Keras start-up.

Columns of a row:
    kind, label (the folder's name), path, space, dataset, classes (the class count, or the kept class ids), seed,
    mode (search: the controller mode; empty otherwise), epochs_done (rows in the metrics file), epochs_total (the
    finished run's count, else the config's), best_acc and final_acc (see ACCURACY), seconds (finished.json's, else
    the sum of the epochs' seconds), status and reason.

Status: `finished` (finished.json), `partial` (at least one complete epoch, not finished: a running or stopped run,
which resumes), `failed` (no complete epoch, or a file that can't be read; `reason` says which).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from enaslite.runs import RunDir, read_csv, read_jsonl

COLUMNS = ("kind", "label", "space", "dataset", "seed", "mode", "epochs", "best", "final", "time", "status")
ACCURACY = {
    "search": "best, final = the mean shared-weight accuracy of an epoch's logged architectures (logged_acc_mean) "
              "in the best epoch, the last epoch",
    "retrain": "best, final = the validation accuracy of the best epoch, the test accuracy of the last epoch",
    "rescore": "best = the best architecture's shared-weight accuracy on the whole validation split",
}
_METRICS = {"search": "epochs.csv", "retrain": "metrics.csv"}


def find_run_dirs(root) -> list[Path]:
    """Run directories under `root` (itself included), in path order; hidden and `.tmp` folders are skipped, and so
    is everything inside a run directory (its `tensorboard/` folder is not a run)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"argument `runs_dir`: expected a directory, received {str(root)!r}"
                         f"{' (a file)' if root.exists() else ', which does not exist'}")
    found = []
    for folder, subdirs, files in os.walk(root):
        if RunDir.CONFIG in files or RunDir.RUN in files:
            found.append(Path(folder))
            subdirs[:] = []
            continue
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and not d.endswith(".tmp"))
    return sorted(found)


def summarize(run_dir) -> dict:
    """One row of the results table (see the module docstring); never raises for a bad run directory."""
    run = RunDir(run_dir)
    row = {"kind": None, "label": run.path.name, "path": str(run.path), "space": None, "dataset": None,
           "classes": None, "seed": None, "mode": "", "epochs_done": 0, "epochs_total": None, "best_acc": None,
           "final_acc": None, "seconds": None, "status": "failed", "reason": ""}
    try:
        _fill(run, row)
    except (OSError, ValueError, KeyError, TypeError) as e:  # json errors are ValueErrors
        row.update(status="failed", reason=f"unreadable: {_one_line(e)}")
    return row


def _fill(run: RunDir, row: dict) -> None:
    info = _read_json(run / RunDir.RUN, {})
    config = _read_json(run / RunDir.CONFIG, None)
    if config is None:
        raise ValueError(f"{RunDir.CONFIG} is missing")
    kind = info.get("kind") or run.kind()
    data = config.get("data", {})
    dataset_identity = info.get("identity", {}).get("dataset") or {}
    classes = data.get("classes")
    row.update(kind=kind, space=config.get("space"), dataset=data.get("dataset"), seed=config.get("seed"),
               classes=(" ".join(map(str, classes)) if classes else dataset_identity.get("num_classes")))
    if kind == "search":
        row["mode"] = config.get("controller", {}).get("mode", "")
    done = _read_json(run / RunDir.FINISHED, None)
    if kind in _METRICS:
        rows = _read_rows(run / _METRICS[kind])
        phase = "search" if kind == "search" else "final"
        row.update(epochs_done=len(rows), epochs_total=config.get(phase, {}).get("epochs"))
        if rows:
            row["seconds"] = round(sum(float(r.get("seconds", 0.0)) for r in rows), 3)
            if kind == "search":
                accs = [r.get("logged_acc_mean") for r in rows]
                row.update(best_acc=_max(accs), final_acc=_number(accs[-1]))
            else:
                row.update(best_acc=_max([r.get("valid_acc") for r in rows]),
                           final_acc=_number(rows[-1].get("test_acc")))
    elif kind == "rescore":
        scores = [r.get("valid_acc") for r in _read_records(run / "scores.jsonl")]
        row.update(epochs_done=1 if done is not None else 0, epochs_total=1, best_acc=_max(scores))
    if done is not None:
        row.update(status="finished", epochs_total=done.get("epochs", row["epochs_total"]))
        if done.get("seconds") is not None:
            row["seconds"] = float(done["seconds"])
        if kind == "retrain" and done.get("test_acc") is not None:
            row["final_acc"] = float(done["test_acc"])
    elif row["epochs_done"] > 0:
        row["status"] = "partial"
    else:
        row["reason"] = ("no complete epoch (stopped in its first, or still running it)" if kind in _METRICS
                         else f"not finished ({kind} run)")


def _read_json(path: Path, default):
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"{path.name}: {e}") from None


def _read_rows(path: Path) -> list[dict]:
    try:
        rows = read_csv(path)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path.name}: {e}") from None
    if rows and not all(isinstance(r.get("epoch"), int) for r in rows):
        raise ValueError(f"{path.name}: expected an int epoch in every row")
    return rows


def _read_records(path: Path) -> list[dict]:
    try:
        return read_jsonl(path)
    except ValueError as e:
        raise ValueError(f"{path.name}: {e}") from None


def _number(value) -> float | None:
    """A float, or None for a missing, non-numeric or NaN cell (the controller loss of a frozen run)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _max(values) -> float | None:
    numbers = [v for v in map(_number, values) if v is not None]
    return max(numbers) if numbers else None


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def summarize_all(root) -> list[dict]:
    """`summarize` of every run directory under `root`."""
    return [summarize(p) for p in find_run_dirs(root)]


# -- the table -----------------------------------------------------------------------------------------------------
def table_cells(row: dict) -> dict:
    """A row's cells as the table shows them."""
    dataset = row["dataset"] or ""
    if row["classes"] is not None:
        dataset += f" ({row['classes']})" if isinstance(row["classes"], int) else f" [{row['classes']}]"
    total = "?" if row["epochs_total"] is None else row["epochs_total"]
    status = row["status"] + (f": {row['reason']}" if row["reason"] else "")
    return {"kind": row["kind"] or "?", "label": row["label"], "space": row["space"] or "", "dataset": dataset,
            "seed": "" if row["seed"] is None else str(row["seed"]), "mode": row["mode"],
            "epochs": f"{row['epochs_done']}/{total}", "best": _acc(row["best_acc"]),
            "final": _acc(row["final_acc"]), "time": duration(row["seconds"]), "status": status}


def format_table(rows: list[dict]) -> str:
    """The rows as an aligned text table, then what `best` and `final` mean for each kind shown."""
    cells = [table_cells(r) for r in rows]
    widths = {c: max([len(c)] + [len(x[c]) for x in cells]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(x[c].ljust(widths[c]) for c in COLUMNS).rstrip() for x in cells]
    kinds = sorted({r["kind"] for r in rows if r["kind"] in ACCURACY})
    lines += [f"{kind}: {ACCURACY[kind]}" for kind in kinds]
    return "\n".join(lines)


def _acc(value) -> str:
    return "" if value is None else f"{value:.4f}"


def duration(seconds) -> str:
    """45s, 16m24s, 2h05m; empty for None."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
