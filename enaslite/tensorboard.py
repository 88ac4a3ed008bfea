"""TensorBoard event files of a run, drawn from its metrics rows: `<run_dir>/tensorboard/<kind>/`.

Why not `keras.callbacks.TensorBoard`: training runs step by step through `train_on_batch` (`enaslite.loop`), not
`fit`, so no Keras callback fires, and most of a search's numbers (controller, rewards, shared-weight accuracies) are
not a model's logs anyway. The run's metrics files stay the record; the event files show the same numbers.

What is logged, with the epoch (1-based) as the step:
- scalars: every numeric column of the epoch's row (`epochs.csv` of a search, `metrics.csv` of a retrain), under
  a group prefix (`child/train_loss`, `controller/ctrl_entropy`, `eval/test_acc`, `time/seconds`, ...). NaN cells
  (the controller loss of a `frozen` or `uniform` search) are left out: there is nothing to draw. TensorBoard
  stores scalars as float32.
- search histograms: `ops/sampled_ops`, the op distribution of the epoch's sampled architectures (the row's
  `op0..opK` fractions, one bucket per op), and `shared_weights/logged_valid_acc`, the shared-weight accuracies of
  the epoch's logged architectures (`samples.jsonl`).

Layout: one event file per epoch, `events.out.tfevents.epoch000003.enaslite`, written whole into a temporary folder
and renamed into place. One file per epoch, rewritten by name, rather than one file that grows or one file rewritten
whole from the metrics after every epoch:
- no step is ever logged twice: a run killed after an epoch's rows and file were written but before its checkpoint
  replays that epoch on resume, and the replay replaces the file of the same name (appending would add the step a
  second time, and TensorBoard would draw both);
- a TensorBoard left open shows each new epoch: it picks up new files, while it would keep reading the old copy of a
  file replaced in place;
- each event's wall time is when its epoch ended, which TensorBoard's "relative" and "wall" axes show (files
  regenerated later by `write_from_metrics`, e.g. for runs made before this module, carry the time they were made).

Writing needs TensorFlow and the `tensorboard` package. On another Keras backend, or without them, the writer does
nothing and warns once: importing TensorFlow next to JAX or PyTorch would also take GPU memory. The event files can
be made afterwards from the metrics with `python -m enaslite tensorboard RUN_DIR`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Mapping

from enaslite.runs import RunDir, read_csv, read_jsonl

SUBDIR = "tensorboard"
# Metrics file of each kind of run (search.EPOCHS, retrain.METRICS; not imported: those modules pull in Keras).
METRICS = {"search": "epochs.csv", "retrain": "metrics.csv"}
SAMPLES = "samples.jsonl"
_FILE = re.compile(r"events\.out\.tfevents\.epoch(\d{6})\.enaslite")
# Temporary folders beside `tensorboard/`, not in it, so a TensorBoard reading it never sees a half-made file; the
# `.tmp` suffix keeps a leftover one out of git (.gitignore: runs/**/*.tmp) and `RunDir.clear` removes it.
_TMP_PREFIX, _TMP_SUFFIX = ".tensorboard.", ".tmp"


def log_dir(run_dir) -> Path:
    """The folder to pass to `tensorboard --logdir`."""
    return Path(run_dir) / SUBDIR


def epoch_file(run_dir, kind: str, epoch: int) -> Path:
    """The event file of (1-based) `epoch`."""
    return log_dir(run_dir) / kind / f"events.out.tfevents.epoch{epoch:06d}.enaslite"


def epoch_files(run_dir, kind: str) -> dict[int, Path]:
    """{epoch: event file} of the files present."""
    folder = log_dir(run_dir) / kind
    if not folder.is_dir():
        return {}
    return {int(m.group(1)): p for p in sorted(folder.iterdir()) if (m := _FILE.fullmatch(p.name))}


def tag(kind: str, column: str) -> str:
    """A column's TensorBoard tag: a group prefix (TensorBoard's sections), then the column's own name."""
    if column.startswith("seconds"):
        return f"time/{column}"
    if kind == "retrain":
        return f"eval/{column}" if column in ("valid_acc", "test_acc") else f"train/{column}"
    if re.fullmatch(r"op\d+", column):
        return f"ops/{column}"
    if column.startswith("ctrl_") or column in ("baseline", "skip_rate"):
        return f"controller/{column}"
    if column.startswith("logged_"):
        return f"shared_weights/{column}"
    return f"child/{column}"


def scalars(kind: str, row: Mapping) -> dict[str, float]:
    """{tag: value} of a row's numeric cells, NaN and the step (`epoch`) left out."""
    out = {}
    for column, value in row.items():
        if column == "epoch" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isnan(value):
            out[tag(kind, column)] = float(value)
    return out


def op_buckets(row: Mapping) -> list[list[float]]:
    """The row's op fractions as TensorBoard histogram buckets, [left edge, right edge, fraction], one per op."""
    ops = sorted(int(k[2:]) for k in row if re.fullmatch(r"op\d+", k))
    return [[op - 0.5, op + 0.5, float(row[f"op{op}"])] for op in ops]


def histograms(kind: str, row: Mapping, samples: Iterable[Mapping] = ()) -> dict[str, list]:
    """A search epoch's histograms: {tag: buckets (the op fractions) or values (the logged accuracies)}."""
    if kind != "search":
        return {}
    out = {"ops/sampled_ops": op_buckets(row)}
    accs = [s["valid_acc"] for s in samples if s.get("valid_acc") is not None]
    if accs:
        out["shared_weights/logged_valid_acc"] = accs
    return out


def log_epoch(run_dir, kind: str, row: Mapping, samples: Iterable[Mapping] = ()) -> Path | None:
    """Writes the event file of `row`'s epoch (replacing any earlier one of that epoch) and deletes files of later
    epochs (left by a run killed before their checkpoint; their rows are gone too). Returns the file, or None when
    the writer is off (see the module docstring).

    Args:
        run_dir: the run directory.
        kind: `search` or `retrain`.
        row: the epoch's metrics row, as written to the metrics file.
        samples: a search epoch's logged architectures (`samples.jsonl` records of this epoch).
    """
    w = writer()
    if w is None:
        return None
    epoch = int(row["epoch"])
    path = epoch_file(run_dir, kind, epoch)
    w.write(Path(run_dir), path, epoch, scalars(kind, row), histograms(kind, row, samples))
    for later, p in epoch_files(run_dir, kind).items():
        if later > epoch:
            p.unlink()
    return path


def check_run_dir(run_dir) -> str:
    """The kind of the run in `run_dir`; fails unless it is a search or retrain run directory."""
    run = RunDir(run_dir)
    if not run.exists():
        raise ValueError(f"argument `run_dir`: expected a run directory (holding {RunDir.CONFIG}), received "
                         f"{str(run.path)!r}")
    kind = run.kind()
    if kind not in METRICS:
        raise ValueError(f"argument `run_dir`: expected a search or retrain run directory, received "
                         f"{str(run.path)!r}, a {kind} run, which has no epochs to log")
    return kind


def write_from_metrics(run_dir, only_missing: bool = False) -> list[Path]:
    """(Re)writes the event files of every epoch in the run's metrics file, and deletes files of epochs it lacks.

    Args:
        run_dir: a search or retrain run directory.
        only_missing: write only epochs without a file (a run resumed by a version that logs, or a kill between an
            epoch's checkpoint and its file), keeping the wall times of the others.

    Returns:
        The files written (empty when the writer is off).
    """
    run = RunDir(run_dir)
    kind = check_run_dir(run_dir)
    if writer() is None:
        return []
    _remove_leftovers(run.path)
    rows = read_csv(run / METRICS[kind])
    samples = read_jsonl(run / SAMPLES) if kind == "search" else []
    present = epoch_files(run.path, kind)
    epochs = {int(r["epoch"]) for r in rows}
    for epoch, p in present.items():
        if epoch not in epochs:
            p.unlink()
    written = []
    for row in rows:
        epoch = int(row["epoch"])
        if only_missing and epoch in present:
            continue
        path = epoch_file(run.path, kind, epoch)
        writer().write(run.path, path, epoch, scalars(kind, row),
                       histograms(kind, row, [s for s in samples if s["epoch"] == epoch]))
        written.append(path)
    return written


def _remove_leftovers(run_dir: Path) -> None:
    """Temporary folders of a writer that was killed mid-file."""
    for p in run_dir.glob(_TMP_PREFIX + "*" + _TMP_SUFFIX):
        shutil.rmtree(p, ignore_errors=True)


# -- the writer ----------------------------------------------------------------------------------------------------
class _Writer:
    """Writes one event file through `tf.summary.create_file_writer` (TensorFlow names its files by time, host and
    process; the file is renamed to its epoch's name once complete)."""

    def __init__(self, tf, histogram_metadata):
        self.tf, self.histogram_metadata = tf, histogram_metadata

    def write(self, run_dir: Path, path: Path, step: int, values: Mapping[str, float],
              hists: Mapping[str, list]) -> None:
        tf = self.tf
        tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX))
        try:
            w = tf.summary.create_file_writer(str(tmp))
            with w.as_default():
                for name, value in values.items():
                    tf.summary.scalar(name, value, step=step)
                for name, data in hists.items():
                    if data and isinstance(data[0], list):  # buckets given: the row's fractions, drawn as they are
                        tf.summary.write(name, tf.constant(data, tf.float64), step=step,
                                         metadata=self.histogram_metadata.create_summary_metadata(
                                             display_name=None, description=None))
                    else:
                        tf.summary.histogram(name, data, step=step, buckets=10)
            w.close()
            [made] = [p for p in tmp.iterdir() if "tfevents" in p.name]
            fd = os.open(made, os.O_RDONLY)
            try:
                os.fsync(fd)  # the rename below must not publish a file whose bytes are still in flight
            finally:
                os.close(fd)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(made, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


_STATE: dict = {}


def writer() -> _Writer | None:
    """The event writer, or None (with one warning per process) when it can't write; see the module docstring."""
    if "writer" not in _STATE:
        reason = unavailable()
        if reason is not None:
            warnings.warn(f"TensorBoard logs are off: {reason}. Write them later from the metrics with "
                          f"`python -m enaslite tensorboard RUN_DIR`.", RuntimeWarning, stacklevel=3)
            _STATE["writer"] = None
        else:
            import tensorflow as tf
            from tensorboard.plugins.histogram import metadata
            _STATE["writer"] = _Writer(tf, metadata)
    return _STATE["writer"]


def unavailable() -> str | None:
    """Why event files can't be written in this process, or None when they can."""
    import keras
    if keras.backend.backend() != "tensorflow":
        return (f"the Keras backend is {keras.backend.backend()}, and TensorFlow next to it would take GPU memory "
                f"(set KERAS_BACKEND=tensorflow)")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "TensorFlow is not installed"
    try:
        import tensorboard  # noqa: F401  (tf.summary.scalar and histogram are implemented there)
    except ImportError:
        return "the tensorboard package is not installed (pip install tensorboard)"
    return None
