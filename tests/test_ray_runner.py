"""RayRunner on a local Ray instance with 2 CPUs, at the smoke scale, against LocalRunner runs of the same jobs.

The LocalRunner reference runs in a subprocess with TF_NUM_INTRAOP_THREADS=1, the thread count RayRunner gives each
job here (TensorFlow's numbers depend on it), while the Ray tests run; one Ray instance serves the whole module.
"""

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="RayRunner needs Ray (pip install -r requirements.txt)")

from enaslite.runs import read_jsonl  # noqa: E402
from enaslite.study import LocalRunner, lock, plan, plan_until_done  # noqa: E402
from enaslite.study import ray_runner  # noqa: E402
from enaslite.study.ray_runner import RayRunner  # noqa: E402

SMOKE = plan.scale_overrides("smoke", "macro")
LONG_EPOCHS = 30


def study_plan(root=None):
    """Wave 1: a search, a rescore of its epoch 1 (its child in the same wave) and a random-arc retrain; wave 2:
    the retrain of the rescore's pick."""
    return (plan.estimation_jobs(seeds=[0], n=2, k=1, root=root, **SMOKE)
            + plan.random_arc_jobs(count=1, **SMOKE))


def long_search():
    """A search long enough (30 short epochs) for its worker to be caught and killed in the middle."""
    return plan.search_jobs(seeds=[1], **{**SMOKE, "epochs": LONG_EPOCHS})[0]


REFERENCE = textwrap.dedent("""
    import sys
    from enaslite.study import LocalRunner, plan_until_done
    from test_ray_runner import long_search, study_plan
    plan_until_done(study_plan, LocalRunner(), sys.argv[1], progress=False)
    LocalRunner().run([long_search()], sys.argv[1], progress=False)
""")


def rows(path: Path):
    """A run file's rows without the wall-time columns (seconds*), which differ from run to run."""
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            return [untimed(r) for r in csv.DictReader(f)]
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    return untimed(json.loads(path.read_text()))


def untimed(data):
    """`data` without its seconds* entries, at any depth."""
    if isinstance(data, dict):
        return {k: untimed(v) for k, v in data.items() if not k.startswith("seconds")}
    return data


def results(run_dir: Path) -> dict:
    """Every result file of a run directory (metrics, samples, scores, config, finished.json) as rows."""
    return {p.name: rows(p) for p in sorted(run_dir.iterdir())
            if p.suffix in (".csv", ".jsonl") or p.name in ("config.json", "finished.json", "arc.json")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Starts the LocalRunner reference at once; calling the fixture's value waits for it and returns its root."""
    root = tmp_path_factory.mktemp("reference")
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", REFERENCE, str(root)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def wait() -> Path:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:]
        return root

    yield wait
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def cluster():
    """One local Ray instance with 2 CPUs for the module (RayRunner uses an initialized Ray as it is); its workers
    keep the TensorFlow thread count of their first job, so every runner of the module asks for 1 thread per job."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def study(reference, cluster, tmp_path_factory):
    """The study planned and run in waves by a RayRunner (2 jobs at a time, 1 thread each)."""
    root = tmp_path_factory.mktemp("ray")
    jobs = plan_until_done(study_plan, RayRunner(threads_per_job=1), root, progress=False)
    return root, jobs


@pytest.fixture(scope="module")
def killed(study, tmp_path_factory):
    """The long search under a RayRunner, its worker stopped mid-run, a LocalRunner's attempt at the same job while
    the worker holds its lock, then the worker killed, and the retry awaited. Returns what each step saw."""
    root = tmp_path_factory.mktemp("killed")
    job = long_search()
    run_dir, out = job.run_dir(root), {}
    thread = threading.Thread(target=lambda: out.update(ran=RayRunner(threads_per_job=1).run([job], root, progress=False)))
    thread.start()
    try:
        deadline = time.time() + 300
        while not ((run_dir / "checkpoint.npz").is_file() and lock.holder(run_dir)):  # epoch 1 is complete
            assert time.time() < deadline and thread.is_alive(), "the job never started"
            time.sleep(0.02)
        holder = out["holder"] = lock.holder(run_dir)
        os.kill(holder["pid"], signal.SIGSTOP)  # a still picture: nothing changes until the kill
        try:
            out["finished_when_stopped"] = (run_dir / "finished.json").exists()
            out["checkpoint_epoch"] = json.loads(_meta(run_dir / "checkpoint.npz"))["epoch"]
            with open(run_dir / "epochs.csv", newline="") as f:
                out["rows_when_stopped"] = list(csv.DictReader(f))
            out["files_when_stopped"] = snapshot(root)
            try:
                LocalRunner().run([job], root, progress=False)
            except lock.LockHeld as e:
                out["second_runner"] = e
            out["files_after_second_runner"] = snapshot(root)
        finally:
            os.kill(holder["pid"], signal.SIGKILL)
    finally:
        thread.join(timeout=300)
    assert not thread.is_alive(), "the retry did not finish"
    return root, job, out


def _meta(checkpoint: Path) -> str:
    import numpy as np
    with np.load(checkpoint) as z:
        return z["__meta__"].tobytes().decode()


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.smoke
def test_study_matches_local_runner(study, reference):
    """Every run directory of the Ray study holds what LocalRunner writes with the same thread count: the same
    runs, and every row of every result file equal but the wall times."""
    root, jobs = study
    ref = reference()
    assert {j.kind for j in jobs} == {"search", "rescore", "retrain"} and len(jobs) == 4
    for job in jobs:
        assert job.finished(root)
        assert results(job.run_dir(root)) == results(job.run_dir(ref)), job.label
    assert not list(root.rglob("*.lock")) and not list(root.glob(".ray-probe-*"))


@pytest.mark.smoke
def test_a_waves_jobs_run_in_parallel_after_their_parents(study):
    """The search and the random-arc retrain of wave 1 ran at the same time (2 CPUs, 1 each); the rescore, planned
    in the same wave, started after its parent search finished (execute refuses it otherwise)."""
    root, jobs = study
    by_label = {j.label: j.run_dir(root) for j in jobs}
    search = by_label["macro-reinforce-s0"]
    retrain = next(d for label, d in by_label.items() if "random" in label)

    def span(d):
        return (d / "config.json").stat().st_mtime, (d / "finished.json").stat().st_mtime

    (s0, s1), (r0, r1) = span(search), span(retrain)
    assert s0 < r1 and r0 < s1, (span(search), span(retrain))
    rescore = next(d for label, d in by_label.items() if label.endswith("-n2"))
    assert (rescore / "finished.json").stat().st_mtime >= s1


@pytest.mark.smoke
def test_second_runner_on_a_running_job_gets_a_lock_error_and_writes_nothing(killed):
    """While the Ray worker holds the job's lock, a LocalRunner on the same runs dir is refused naming the worker
    (its pid and host) and changes no file."""
    root, job, out = killed
    holder = out["holder"]
    assert holder["owner"].startswith("ray-") and holder["job"] == job.label
    error = out.get("second_runner")
    assert isinstance(error, lock.LockHeld), error
    assert f"locked by pid {holder['pid']} on {holder['host']}" in str(error)
    assert out["files_after_second_runner"] == out["files_when_stopped"]


@pytest.mark.smoke
def test_killed_worker_is_retried_and_resumes_without_lost_or_duplicated_rows(killed, reference):
    """The worker was killed mid-search; Ray's retry took over its lock and resumed from the checkpoint: the rows
    up to it are kept as written (wall times too, so they were not recomputed), every epoch appears once, and the
    run equals the uninterrupted reference."""
    root, job, out = killed
    assert not out["finished_when_stopped"] and 1 <= out["checkpoint_epoch"] < LONG_EPOCHS
    assert out["ran"] == [job] and job.finished(root)
    with open(job.run_dir(root) / "epochs.csv", newline="") as f:
        final = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in final] == list(range(1, LONG_EPOCHS + 1))
    kept = out["checkpoint_epoch"]
    assert final[:kept] == out["rows_when_stopped"][:kept]
    samples = read_jsonl(job.run_dir(root) / "samples.jsonl")
    assert [(s["epoch"], s["index"]) for s in samples] == [
        (e, i) for e in range(1, LONG_EPOCHS + 1) for i in range(job.config.controller.num_logged)]
    assert results(job.run_dir(root)) == results(job.run_dir(reference()))
    assert not list(root.rglob("*.lock"))


def test_a_job_locked_by_another_process_fails_the_ray_run_with_the_lock_error(cluster, tmp_path):
    """A RayRunner whose job another live process is executing raises that job's LockHeld as the worker raised
    it (not retried, not wrapped), and leaves the runs dir as it was."""
    job = plan.search_jobs(seeds=[2], **SMOKE)[0]
    with lock.hold(job.run_dir(tmp_path), owner="someone-else", job=job.label):
        before = snapshot(tmp_path)
        with pytest.raises(lock.LockHeld, match=rf"locked by pid {os.getpid()} .*for runner someone-else"):
            RayRunner(threads_per_job=1, max_retries=0).run([job], tmp_path, progress=False)
        assert snapshot(tmp_path) == before


def test_storage_probe_passes_here_and_names_a_node_that_cannot_see_the_runs_dir(cluster, tmp_path):
    """On one machine every worker sees the runs dir: the probe leaves only its token file (removed by `run`). A
    worker that can't read the token is refused naming its node and the file."""
    path, token = ray_runner.check_shared_storage(tmp_path / "runs")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name] and path.read_text() == token
    missing = tmp_path / "elsewhere" / path.name
    host, why = ray_runner._probe(str(missing), token, str(tmp_path / "reply"))
    assert why.startswith(f"could not read {missing}: FileNotFoundError")
    with pytest.raises(ValueError, match=rf"argument `runs_dir`: expected a directory every Ray worker can see, "
                                         rf"received {tmp_path} \(node {host} could not read {missing}"):
        ray_runner._check_token(tmp_path, str(missing), token)


def test_bad_arguments_are_refused_before_ray_starts():
    """Each argument is checked when the runner is made, in the house style."""
    for kwargs, message in [({"threads_per_job": 0}, "argument `threads_per_job`: expected an int >= 1"),
                            ({"address": "h:6379", "num_cpus": 2}, "argument `num_cpus`: expected None with an "
                                                                   "address"),
                            ({"gpus_per_job": -1}, "argument `gpus_per_job`: expected None or an int >= 0"),
                            ({"max_retries": 1.5}, "argument `max_retries`: expected an int >= 0")]:
        with pytest.raises(ValueError, match=message):
            RayRunner(**kwargs)


def test_threads_per_job_default_to_this_machines_cores(monkeypatch):
    """By default a job runs with the thread pool an in-process run has here (so it computes the same rows); the
    environment's ENASLITE_RAY_THREADS_PER_JOB, when set, overrides it."""
    monkeypatch.setattr(ray_runner, "local_threads", lambda: 7)
    assert RayRunner().threads_per_job == 7 and RayRunner(threads_per_job=3).threads_per_job == 3
    monkeypatch.delenv(ray_runner.THREADS_ENV, raising=False)
    assert ray_runner.from_env().threads_per_job == 7
    monkeypatch.setenv(ray_runner.THREADS_ENV, "2")
    assert ray_runner.from_env().threads_per_job == 2
    monkeypatch.undo()
    assert ray_runner.local_threads() == len(os.sched_getaffinity(0))


def test_importing_the_study_imports_neither_ray_nor_keras():
    """`enaslite.study` (RayRunner included) imports Ray only when a RayRunner runs, and Keras only for a job."""
    code = ("import sys, enaslite.study; from enaslite.study import RayRunner; "
            "assert not {'ray', 'keras', 'tensorflow'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
