"""Run directories: config, append-only metrics, checkpoints, and a finished marker, all written atomically.

Layout of a run directory:
    config.json        the full Config, written when the run starts
    <metrics>.csv      one row per completed epoch (rewritten atomically each epoch)
    checkpoint.npz     weights + optimizer state + config + epoch (large: kept out of git)
    tensorboard/       TensorBoard event files, one per epoch (enaslite.tensorboard; small: committed)
    finished.json      written last, with the final summary

Resume protocol: each epoch first rewrites the metrics file, then the checkpoint. On restart the checkpoint says how
many epochs are complete, and metric rows beyond it (an epoch killed between the two writes) are dropped, so no row
is ever lost or duplicated.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from enaslite.config import Config


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes to a temp file in the same directory, fsyncs, then renames over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: Path, rows: list[Mapping[str, Any]]) -> None:
    """Atomically writes `rows` (dicts sharing keys; the first row fixes the column order)."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def read_csv(path: Path) -> list[dict]:
    """Reads rows back, converting numeric strings to int/float."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _num(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except (TypeError, ValueError):
            pass
    return v


class RunDir:
    """A run directory (see the module docstring).

    Nothing is created or written until `create` (or a later write) is called, and `check` validates everything
    that can be validated without writing: a command that is refused leaves the file system as it was.

    Args:
        path: the directory.
    """

    CONFIG = "config.json"
    RUN = "run.json"
    CHECKPOINT = "checkpoint.npz"
    FINISHED = "finished.json"

    def __init__(self, path):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return (self / self.CONFIG).exists()

    # -- validation (writes nothing) -----------------------------------------------------------------------------
    def check_location(self) -> None:
        """Fails unless the directory exists as a writable directory or could be created."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise ValueError(f"argument `run_dir`: expected a directory, received the file {p}")
        probe = p
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise ValueError(f"argument `run_dir`: expected a directory path, received {p}, which lies under the "
                             f"file {probe}")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ValueError(f"argument `run_dir`: expected a writable directory, received {p} "
                             f"({probe} is not writable)")

    def check(self, kind: str, config: Config, identity: Mapping[str, Any] = (),
              resumable_fields: tuple = (), overwrite: bool = False) -> None:
        """Fails, writing nothing, unless this dir is new or holds the same `kind` of run with the same config
        (fields in `resumable_fields`, dotted such as ``final.epochs``, may differ so a run can be extended) and the
        same `identity` (dataset fingerprint, architecture, initial controller: see `describe_identity`).
        `overwrite` skips the config and identity comparisons (the run will be cleared), not the kind check."""
        if not self.exists():
            if self.path.is_dir() and any(self.path.iterdir()):
                stray = sorted(x.name for x in self.path.iterdir())[:5]
                raise ValueError(f"argument `run_dir`: expected an empty or new directory, or a run directory, "
                                 f"received {self.path} holding {stray} and no {self.CONFIG}")
            return
        stored_kind = self.kind()
        if stored_kind != kind:
            raise ValueError(f"argument `run_dir`: expected a {kind} run directory, received {self.path}, which "
                             f"holds a {stored_kind} run; use a new run directory")
        if overwrite:
            return
        diffs = _diff(self.load_config().to_dict(), config.to_dict())
        bad = [d for d in diffs if d not in resumable_fields]
        if bad:
            raise ValueError(
                f"argument `run_dir`: expected a new directory or one holding the same config, received "
                f"{self.path} whose config differs in {bad}; use a new run directory")
        stored = self.load_run().get("identity", {})
        for key, value in dict(identity).items():
            if key in stored and stored[key] != _jsonable(value):
                raise ValueError(f"argument `{key}`: this run dir ({self.path}) was made with "
                                 f"{describe_identity(key, stored[key])}; received "
                                 f"{describe_identity(key, _jsonable(value))}; use a new run directory")

    def kind(self) -> str | None:
        """`search`, `retrain`, `rescore` or `probe` (dirs written before run.json existed: inferred from their
        files)."""
        kind = self.load_run().get("kind")
        if kind is None and self.exists():
            kind = "retrain" if (self / "arc.json").exists() else "search"
        return kind

    # -- writing -------------------------------------------------------------------------------------------------
    def create(self, kind: str, config: Config, identity: Mapping[str, Any] = ()) -> None:
        """Creates the directory and stores the config and the run's identity (call after `check`)."""
        run = self.load_run()
        run.update(kind=kind, identity={**run.get("identity", {}), **_jsonable(dict(identity))})
        run.setdefault("created_by", {"enaslite": _version(), "backend": _backend()})
        # A run resumed on another Keras backend says so: its later epochs were computed there.
        written_by = [run["created_by"].get("backend")] + run.get("resumed_on", [])
        if _backend() not in written_by:
            run["resumed_on"] = run.get("resumed_on", []) + [_backend()]
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self / self.RUN, run)
        atomic_write_text(self / self.CONFIG, config.to_json() + "\n")

    # What runs write (see retrain, search, study.runner, tensorboard); `clear` deletes these and nothing else. The
    # `tensorboard` folder (and a killed writer's temporary folder) is the run's too: an overwrite starts its logs
    # afresh rather than keeping the old run's epochs in them.
    RUN_FILES = ("config.json", "run.json", "checkpoint.npz", "finished.json", "arc.json", "dataset.json",
                 "model.json", "metrics.csv", "epochs.csv", "samples.jsonl", "scores.jsonl", "probe.jsonl",
                 "init_controller.txt",
                 "controller_epoch*.weights.h5", "supernet_epoch*.npz", "tensorboard", ".tensorboard.*.tmp")

    def clear(self) -> None:
        """Deletes the run's own files and folders (for an explicit overwrite); anything else is left alone."""
        if self.path.is_dir():
            for p in self.path.iterdir():
                if not any(fnmatch.fnmatch(p.name, pattern) for pattern in self.RUN_FILES):
                    continue
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                elif p.is_file():
                    p.unlink()

    def load_config(self) -> Config | None:
        p = self / self.CONFIG
        return Config.from_json(p.read_text()) if p.exists() else None

    def load_run(self) -> dict:
        p = self / self.RUN
        return json.loads(p.read_text()) if p.exists() else {}

    # -- checkpoints ---------------------------------------------------------------------------------------------
    def save_checkpoint(self, epoch: int, config: Config, arrays: Mapping[str, np.ndarray],
                        state: Mapping[str, Any] | None = None, name: str | None = None) -> None:
        """Saves `arrays` plus the config and `epoch` (number of complete epochs) in one atomic .npz."""
        meta = {"epoch": int(epoch), "config": config.to_dict(), "state": dict(state or {}),
                "backend": _backend()}
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        atomic_write_bytes(self / (name or self.CHECKPOINT), buf.getvalue())

    def load_checkpoint(self, name: str | None = None):
        """Returns (epoch, arrays dict, state dict), or None when there is no checkpoint (`checkpoint_backend`
        tells which Keras backend wrote it)."""
        p = self / (name or self.CHECKPOINT)
        if not p.exists():
            return None
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(z["__meta__"].tobytes().decode())
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
        return meta["epoch"], arrays, meta.get("state", {})

    def checkpoint_backend(self, name: str | None = None) -> str | None:
        """The Keras backend that wrote the checkpoint `name` (None if absent, or written before this was kept)."""
        p = self / (name or self.CHECKPOINT)
        if not p.exists():
            return None
        with np.load(p, allow_pickle=False) as z:  # reads the small __meta__ member only
            return json.loads(z["__meta__"].tobytes().decode()).get("backend")

    # -- completion ----------------------------------------------------------------------------------------------
    def finish(self, summary: Mapping[str, Any]) -> None:
        atomic_write_json(self / self.FINISHED, dict(summary))

    def finished(self) -> dict | None:
        p = self / self.FINISHED
        return json.loads(p.read_text()) if p.exists() else None

    def finished_for(self, epochs: int, field: str) -> dict | None:
        """The stored summary when the run is finished with at least `epochs` epochs (nothing to do), None when it
        has work left; fails when it is finished but must be extended (`field` raised) without its checkpoint."""
        done = self.finished()
        if done is None:
            return None
        if done.get("epochs", 0) >= epochs:
            return done
        if self.load_checkpoint() is None:
            raise ValueError(f"argument `{field}`: {self.path} finished {done.get('epochs')} epochs and its "
                             f"checkpoint (not kept in git) is missing, so it can't be extended to {epochs}; "
                             f"use a new run directory or --overwrite")
        return None

    def unfinish(self) -> None:
        p = self / self.FINISHED
        if p.exists():
            p.unlink()


def finished_message(run: RunDir, what: str) -> str:
    """What a command says instead of touching a finished run."""
    return (f"{run.path} is a finished run ({what}); its results are in {run.path}. Nothing was changed: pass "
            f"--overwrite (overwrite=True) to run it again from scratch, or use a new run directory.")


def describe_identity(key: str, value) -> str:
    """A stored identity entry in words, for refusals."""
    if key == "dataset" and isinstance(value, Mapping):
        return (f"dataset {value.get('name')} ({value.get('num_classes')} classes, images "
                f"{'x'.join(str(d) for d in value.get('input_shape', []))}, "
                f"{value.get('sizes')}, content hash {str(value.get('hash'))[:12]})")
    if key == "arc" and isinstance(value, Mapping):
        return f"architecture {value}"
    if key == "init_controller":
        return f"initial controller {value}"
    return f"{key} {value}"


def file_identity(path) -> dict:
    """A file's name and content hash, e.g. the controller weights a transfer run starts from."""
    import hashlib
    return {"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def _jsonable(obj):
    return json.loads(json.dumps(obj, sort_keys=True))


def _version() -> str:
    from enaslite import __version__
    return __version__


def _backend() -> str:
    import keras
    return keras.backend.backend()


def _diff(a: Mapping, b: Mapping, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        key = f"{prefix}{k}"
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            out += _diff(va, vb, key + ".")
        elif va != vb:
            out.append(key)
    return out


def model_arrays(model, optimizer=None, prefix: str = "") -> dict[str, np.ndarray]:
    """A model's state (and optionally its optimizer's variables) as named arrays for `save_checkpoint`.

    `model.variables` rather than `get_weights()`: it also holds the SeedGenerator states of dropout and
    drop-path, so a resumed run draws the same masks as an uninterrupted one.
    """
    arrays = {f"{prefix}w{i:05d}": np.asarray(v) for i, v in enumerate(_model_variables(model, optimizer))}
    if optimizer is not None:
        arrays.update({f"{prefix}o{i:05d}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    return arrays


def restore_model(arrays: Mapping[str, np.ndarray], model, optimizer=None, prefix: str = "",
                  written_by: str | None = None) -> None:
    """Inverse of `model_arrays`; the optimizer must be built (`optimizer.build(model.trainable_variables)`).

    Arrays written on another Keras backend (`written_by`, see `RunDir.checkpoint_backend`) are restored when every
    variable matches in count and shape (values are cast to this backend's dtypes, e.g. a seed generator's int64
    state on TensorFlow to uint32 on JAX); otherwise the error names both backends. Checked before any assignment.
    """
    variables = _model_variables(model, optimizer)
    if len([k for k in arrays if k.startswith(f"{prefix}w")]) == len(model.variables) != len(variables):
        # Written by enaslite 2026-11-29 (4f054b4 to 2437f62), when the controller's variables included Adam's.
        variables = model.variables
    pairs = _pairs(arrays, f"{prefix}w", variables, "model", written_by)
    if optimizer is not None:
        pairs += _pairs(arrays, f"{prefix}o", optimizer.variables, "optimizer", written_by)
    for var, value in pairs:
        var.assign(value)


def _model_variables(model, optimizer) -> list:
    """The model's variables, each once, but its optimizer's: Keras tracks a controller's Adam slots among its own
    variables, and its seed generator's state twice; `model_arrays` saves the optimizer's under their own keys."""
    if optimizer is None:
        return list(model.variables)
    seen = {id(v) for v in optimizer.variables}
    out = []
    for v in model.variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _pairs(arrays, key_prefix: str, variables, what: str, written_by: str | None) -> list:
    values = [arrays[k] for k in sorted(arrays) if k.startswith(key_prefix)]
    problem = None
    if len(values) != len(variables):
        problem = f"expected {len(variables)} {what} variables, received {len(values)}"
    else:
        for var, value in zip(variables, values):
            if tuple(var.shape) != tuple(np.shape(value)):
                problem = (f"expected shape {tuple(var.shape)} for {what} variable {var.path}, received "
                           f"{tuple(np.shape(value))}")
                break
    if problem is None:
        return list(zip(variables, values))
    here = _backend()
    if written_by is not None and written_by != here:
        raise ValueError(f"argument `checkpoint`: written on the {written_by} backend, it can't be resumed on the "
                         f"{here} backend ({problem}); resume it with KERAS_BACKEND={written_by}")
    raise ValueError(f"argument `checkpoint`: {problem}")
