"""Run directory locks: one process at a time executes a job into its run directory.

`execute` (so every runner: `LocalRunner`, `RayRunner`, two of them, on one machine or on several sharing the runs
dir) holds the lock of a job's run directory while it runs the job. The lock is the file ``<run dir>.lock`` beside
the run directory (inside it, a lock would make a new run directory look non-empty to `RunDir.check`). It is
created with O_EXCL, which is atomic on a local disk and on NFS v3 and later, so of two processes exactly one gets
it; the other raises `LockHeld`, naming the holder (host, pid, since when, which runner), and writes nothing.

The file holds its holder as JSON. A lock is stale, and taken over with a `StaleLockWarning` that says so, when
- its holder ran on this host and its pid is not running any more (a killed process), or
- its holder is the taker's own `owner`: a Ray runner's retry of a job whose worker died (Ray starts a retry
  only after the attempt before it is gone), wherever the retry runs.
A lock held on another host by a process that died with its machine can't be told from a live one from here: the
error says to delete the lock file once that is sure.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".lock"
# A lock file is created empty and filled just after; a reader that finds it empty or half-written looks again
# this often before calling it unreadable.
READ_TRIES, READ_PAUSE = 20, 0.05


class LockHeld(RuntimeError):
    """Another live process holds the run directory's lock."""


class StaleLockWarning(UserWarning):
    """A dead holder's lock was taken over."""


@dataclass(frozen=True)
class Held:
    """A lock this process holds: its file, the nonce that marks it as ours, the directories its creation made."""

    path: Path
    nonce: str
    made_dirs: tuple = ()


def lock_path(run_dir) -> Path:
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + SUFFIX)


def holder(run_dir) -> dict | None:
    """The holder of `run_dir`'s lock as stored (host, pid, owner, job, since, nonce), None when it is not locked,
    or {"unreadable": text} when the file can't be parsed."""
    path = lock_path(run_dir)
    text = ""
    for _ in range(READ_TRIES):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        if isinstance(info, dict):
            return info
        time.sleep(READ_PAUSE)  # created but not yet written: the writer is between open() and write()
    return {"unreadable": text[:200]}


def describe(info: dict) -> str:
    """A holder in words, for errors and warnings."""
    if "unreadable" in info:
        return f"an unreadable lock ({info['unreadable']!r})"
    text = f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
    if info.get("job"):
        text += f", running {info['job']}"
    if info.get("owner"):
        text += f" for runner {info['owner']}"
    return text


def pid_running(pid) -> bool:
    """Whether a process with this pid exists on this host (one of another user's counts as running)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_reason(info: dict, owner: str | None) -> str | None:
    """Why the lock of `info` may be taken over by `owner`, or None when it may not."""
    if owner is not None and info.get("owner") == owner:
        return f"it is held by this runner ({owner}) for an attempt that is gone (a retry after a worker died)"
    if info.get("host") == socket.gethostname() and not pid_running(info.get("pid")):
        return f"its holder, pid {info.get('pid')} on this host, is not running any more"
    return None


def acquire(run_dir, owner: str | None = None, job: str | None = None) -> Held:
    """Takes `run_dir`'s lock for this process or raises `LockHeld` (see the module docstring). `owner` names the
    runner (a Ray runner passes one id for all its attempts); `job` is shown to other takers."""
    path = lock_path(run_dir)
    nonce = uuid.uuid4().hex
    info = {"host": socket.gethostname(), "pid": os.getpid(), "owner": owner, "job": job,
            "since": time.strftime("%Y-%m-%d %H:%M:%S %z"), "nonce": nonce}
    made = _make_parents(path.parent)
    try:
        for _ in range(5):  # a takeover, or a releaser removing the empty parent, makes us try again
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                _take_over_or_raise(run_dir, path, owner)
                continue
            except FileNotFoundError:
                made += _make_parents(path.parent)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(info, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            return Held(path, nonce, made)
        raise LockHeld(f"argument `run_dir`: expected a run directory whose lock can be taken, received {run_dir}, "
                       f"whose lock {path} kept changing hands")
    except BaseException:
        _remove_empty(made)
        raise


def release(held: Held) -> None:
    """Removes the lock if it is still ours (never one another process took over), then any directory its
    creation made that is still empty (a job refused before writing leaves the file system as it was)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(held.path.read_text(encoding="utf-8")).get("nonce") == held.nonce:
            held.path.unlink()
    _remove_empty(held.made_dirs)


@contextlib.contextmanager
def hold(run_dir, owner: str | None = None, job: str | None = None):
    """`acquire` ... `release`, also when the body raises or is interrupted."""
    held = acquire(run_dir, owner, job)
    try:
        yield held
    finally:
        release(held)


def _take_over_or_raise(run_dir, path: Path, owner: str | None) -> None:
    info = holder(run_dir)
    if info is None:
        return  # released meanwhile: try again
    reason = None if "unreadable" in info else stale_reason(info, owner)
    if reason is None:
        raise LockHeld(f"argument `run_dir`: expected a run directory no other process is executing, received "
                       f"{run_dir}, locked by {describe(info)} ({path}); wait for it to finish, or delete {path} "
                       f"once that process is surely gone (e.g. its machine is down)")
    # Move the stale lock aside and check it is the one judged stale: a process that took it over in between
    # would otherwise lose a live lock.
    aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        moved = json.loads(aside.read_text(encoding="utf-8"))
    except ValueError:
        moved = None
    if moved != info:
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)  # put the live lock back (link fails rather than replace a newer one)
        aside.unlink()
        return
    aside.unlink()
    warnings.warn(f"taking over the lock of {run_dir} from {describe(info)}: {reason}", StaleLockWarning,
                  stacklevel=2)


def _make_parents(folder: Path) -> tuple:
    """Creates `folder` and its missing parents; returns those it created, innermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made = []
    for d in reversed(missing):
        try:
            d.mkdir()
            made.append(d)
        except FileExistsError:
            pass
    return tuple(reversed(made))


def _remove_empty(folders) -> None:
    for d in folders:
        with contextlib.suppress(OSError):
            d.rmdir()
