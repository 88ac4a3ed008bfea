import json
import os
import socket
import subprocess
import sys

import pytest

from enaslite.study import lock


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant(run_dir, **info):
    """A lock file as another process would have left it."""
    path = lock.lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "owner": None, "job": "other",
                                "since": "2026-01-01 00:00:00 +0000", "nonce": "theirs", **info}))
    return path


def test_hold_writes_the_holder_beside_the_run_dir_and_removes_it(tmp_path):
    """The lock is `<run dir>.lock` with this process' host, pid, runner and job; it is gone after the block."""
    run_dir = tmp_path / "search" / "x-0123456789"
    with lock.hold(run_dir, owner="runner-1", job="x"):
        info = lock.holder(run_dir)
        assert lock.lock_path(run_dir) == tmp_path / "search" / "x-0123456789.lock"
        assert (info["host"], info["pid"], info["owner"], info["job"]) == (socket.gethostname(), os.getpid(),
                                                                           "runner-1", "x")
        assert not run_dir.exists()  # beside it: a new run directory stays new
    assert lock.holder(run_dir) is None


def test_a_live_holder_refuses_a_second_taker_naming_it(tmp_path):
    """Another runner's live lock (this process' pid stands for a live one) is refused, naming pid, host and
    runner; the holder's file is left as it was."""
    run_dir = tmp_path / "run"
    path = plant(run_dir, owner="runner-A")
    before = path.read_text()
    with pytest.raises(lock.LockHeld, match=rf"argument `run_dir`: expected a run directory no other process is "
                                            rf"executing, received {run_dir}, locked by pid {os.getpid()} on "
                                            rf"{socket.gethostname()} since .*, running other for runner runner-A"):
        lock.acquire(run_dir, owner="runner-B")
    assert path.read_text() == before


def test_a_dead_holder_on_this_host_is_taken_over_with_a_warning(tmp_path):
    """A lock whose pid is not running on this host is stale: taken over, and the warning says whose it was."""
    run_dir = tmp_path / "run"
    pid = dead_pid()
    plant(run_dir, pid=pid)
    with pytest.warns(lock.StaleLockWarning, match=rf"taking over the lock of {run_dir} from pid {pid} .*: its "
                                                   rf"holder, pid {pid} on this host, is not running any more"):
        held = lock.acquire(run_dir)
    assert lock.holder(run_dir)["pid"] == os.getpid()
    lock.release(held)
    assert lock.holder(run_dir) is None


def test_the_same_runner_takes_over_its_own_lock_wherever_it_was_taken(tmp_path):
    """A Ray retry (same owner) takes over the lock of its dead attempt, even one taken on another host; another
    owner may not, and a lock from another host is never judged by its pid."""
    run_dir = tmp_path / "run"
    plant(run_dir, host="elsewhere", pid=dead_pid(), owner="ray-1")
    with pytest.raises(lock.LockHeld, match=r"locked by pid \d+ on elsewhere .*delete .*run.lock once that process "
                                            r"is surely gone"):
        lock.acquire(run_dir, owner="ray-2")
    with pytest.warns(lock.StaleLockWarning, match=r"held by this runner \(ray-1\)"):
        held = lock.acquire(run_dir, owner="ray-1")
    lock.release(held)


def test_release_leaves_a_lock_another_process_took_over(tmp_path):
    """Releasing a lock that was taken over (another nonce in the file) leaves the new holder's lock alone."""
    run_dir = tmp_path / "run"
    held = lock.acquire(run_dir)
    plant(run_dir, nonce="someone-else")
    lock.release(held)
    assert lock.holder(run_dir)["nonce"] == "someone-else"


def test_a_refused_taker_leaves_no_directory_behind(tmp_path):
    """The directories a lock's creation made are removed with it while empty, so a job refused before it wrote
    anything leaves the file system as it was; a live lock keeps its own directory."""
    run_dir = tmp_path / "runs" / "retrain" / "x"
    with lock.hold(run_dir):
        assert (tmp_path / "runs" / "retrain").is_dir()
    assert list(tmp_path.iterdir()) == []
    plant(tmp_path / "other" / "y")
    with pytest.raises(lock.LockHeld):
        lock.acquire(tmp_path / "other" / "y")
    assert [p.name for p in (tmp_path / "other").iterdir()] == ["y.lock"]


def test_an_unreadable_lock_is_refused_not_taken(tmp_path):
    """A lock file that never holds JSON (its writer died between creating and writing it) is refused with what it
    holds: nobody can tell whose it is."""
    run_dir = tmp_path / "run"
    lock.lock_path(run_dir).write_text("")
    with pytest.raises(lock.LockHeld, match=r"locked by an unreadable lock \(''\)"):
        lock.acquire(run_dir)
