import functools
import json
import os

import pytest

from enaslite.runs import read_jsonl
from enaslite.study import LocalRunner, load, lock, plan, plan_until_done
from enaslite.study.jobs import Job
from enaslite.study.runner import Eta, default_runner, execute, ordered

SMOKE = plan.scale_overrides("smoke", "macro")
EXPERIMENT = functools.partial(plan.learning_curve_jobs, seeds=[0], **SMOKE)


def snapshot(root):
    """Every file under `root` with its mtime and bytes."""
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """The smoke learning-curve experiment (one 2-epoch search, two 1-epoch retrains), run once for the module."""
    root = tmp_path_factory.mktemp("runs")
    jobs = plan_until_done(EXPERIMENT, LocalRunner(), root, progress=False)
    return root, jobs


def test_learning_curve_runs_end_to_end(experiment):
    """The search and the retrains of its best epoch-1 and epoch-2 arcs finish in their own run dirs."""
    root, jobs = experiment
    search, *retrains = jobs
    assert [j.label for j in retrains] == ["macro-reinforce-s0-ep1best", "macro-reinforce-s0-ep2best"]
    assert sorted(p.name for p in root.iterdir()) == ["retrain", "search"]
    assert search.run_dir(root).parent == root / "search"
    samples = read_jsonl(search.run_dir(root) / "samples.jsonl")
    for job in jobs:
        assert (job.run_dir(root) / "finished.json").exists()
    for job in retrains:
        assert job.arc == plan.best_logged(samples, job.epoch)["arc"]
        done = json.loads((job.run_dir(root) / "finished.json").read_text())
        assert done["arc"] == job.arc and done["epochs"] == 1


def test_a_second_run_changes_nothing(experiment):
    """Planning and running the finished experiment again runs no job and touches no file."""
    root, jobs = experiment
    before = snapshot(root)
    assert plan_until_done(EXPERIMENT, LocalRunner(), root) == jobs
    assert LocalRunner().run(jobs, root) == []
    assert snapshot(root) == before


def test_results_load_the_experiment(experiment):
    """load() gives two search epochs, the logged samples, two retrain epochs and two finals with their parent."""
    root, jobs = experiment
    r = load(jobs, root)
    assert list(r.searches["epoch"]) == [1, 2] and set(r.searches["label"]) == {"macro-reinforce-s0"}
    assert len(r.samples) == 2 * jobs[0].config.controller.num_logged
    assert list(r.retrains["label"]) == ["macro-reinforce-s0-ep1best", "macro-reinforce-s0-ep2best"]
    assert list(r.finals["parent"]) == ["macro-reinforce-s0"] * 2 and list(r.finals["source_epoch"]) == [1, 2]
    assert r.finals["test_acc"].between(0, 1).all() and (r.finals["params"] > 0).all()
    best = r.samples.groupby("epoch")["valid_acc"].max()
    assert list(r.finals["shared_acc"]) == [best[1], best[2]]
    assert set(r.jobs["status"]) == {"finished"} and r.scores.empty


def test_rescore_and_transfer_run_after_their_parent(experiment, tmp_path):
    """A rescore scores n arcs of a saved epoch on the whole validation split; a transfer search starts from the
    parent's controller of its epoch; the runner orders parents first whatever the list's order."""
    root, jobs = experiment
    search = jobs[0]
    rescore = Job("rescore", search.config, "rescore-ep1", parent=search.key(), epoch=1, n=3, seed=4)
    target = plan.experiment_config("macro", "smoke", 1, 1, classes=(5, 6, 7), overrides=SMOKE["overrides"])
    moved = Job("search", target, "moved", parent=search.key(), epoch=2)
    assert [j.label for j in ordered([moved, rescore, search])] == ["macro-reinforce-s0", "moved", "rescore-ep1"]
    ran = LocalRunner().run([moved, rescore, search], root, progress=False)
    assert [j.label for j in ran] == ["moved", "rescore-ep1"]
    scores = read_jsonl(rescore.run_dir(root) / "scores.jsonl")
    assert [s["index"] for s in scores] == [0, 1, 2]
    assert all(s["num_valid"] == search.config.data.valid_size and 0 <= s["valid_acc"] <= 1 for s in scores)
    assert scores[0]["weights"] == "shared weights of epoch 1 (supernet_epoch0001.npz)"
    assert json.loads((rescore.run_dir(root) / "run.json").read_text())["kind"] == "rescore"
    identity = json.loads((moved.run_dir(root) / "run.json").read_text())["identity"]
    assert identity["init_controller"]["file"] == "controller_epoch0002.weights.h5"
    before = snapshot(rescore.run_dir(root))
    execute(rescore, root, {search.key(): search})  # finished: returned as stored, never rewritten
    assert snapshot(rescore.run_dir(root)) == before
    assert len(load([search, rescore], root).scores) == 3
    unsaved = Job("rescore", search.config, "rescore-ep3", parent=search.key(), epoch=3, n=1, seed=0)
    with pytest.raises(ValueError, match=r"argument `epoch`: expected one of the saved epochs \[1, 2\]"):
        execute(unsaved, root, {search.key(): search})
    assert not unsaved.run_dir(root).exists()


def test_runner_refuses_missing_or_unfinished_parents(tmp_path):
    """A job whose parent is not in the list, or not finished, is refused before anything runs."""
    search = plan.search_jobs("macro", "smoke", [0], 2)[0]
    rescore = Job("rescore", search.config, "r", parent=search.key(), epoch=1, n=2, seed=0)
    with pytest.raises(ValueError, match=r"argument `jobs`: expected every job's parent among the jobs, received "
                                         r"'r, whose parent .* is missing'"):
        LocalRunner().run([rescore], tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"argument `job`: expected a job whose parent is finished"):
        execute(rescore, tmp_path, {search.key(): search})
    assert not any(tmp_path.iterdir())


def test_eta_uses_seconds_per_epoch_of_each_kind():
    """The ETA scales each kind's measured seconds per epoch, and is unknown until every kind has one."""
    search, retrain = plan.search_jobs("macro", "smoke", [0], 4)[0], Job(
        "retrain", plan.experiment_config("macro", "smoke", 0, overrides={"final.epochs": 3}), "x", arc="0 1 0 2 1 1")
    eta = Eta()
    eta.add(search, 8.0)  # 2 s per search epoch
    assert eta.left([search]) == 8.0 and eta.left([search, retrain]) is None and eta.text([retrain]) == "eta ?"
    eta.add(retrain, 30.0)  # 10 s per retrain epoch
    assert eta.left([search, retrain]) == 38.0 and eta.text([search, retrain] * 2) == "eta 1.3 min"


def test_a_job_another_process_is_executing_is_refused(tmp_path):
    """A job whose run directory lock a live process holds (here this one, for another runner) is refused with
    `LockHeld` naming the holder, and nothing is written."""
    job = plan.search_jobs("macro", "smoke", [0], 2)[0]
    with lock.hold(job.run_dir(tmp_path), owner="another-runner", job=job.label):
        with pytest.raises(lock.LockHeld, match=rf"locked by pid {os.getpid()} on .*running {job.label} for runner "
                                                rf"another-runner"):
            LocalRunner().run([job], tmp_path, progress=False)
        assert [p.name for p in (tmp_path / "search").iterdir()] == [f"{job.run_dir(tmp_path).name}.lock"]
    assert not any(tmp_path.iterdir())


def test_default_runner_comes_from_the_environment(monkeypatch):
    """LocalRunner by default and with ENASLITE_RUNNER=local; a RayRunner with ENASLITE_RUNNER=ray or an
    ENASLITE_RAY_ADDRESS (its settings from the ENASLITE_RAY_* variables); anything else is refused."""
    from enaslite.study.ray_runner import RayRunner

    for name in ("ENASLITE_RUNNER", "ENASLITE_RAY_ADDRESS", "ENASLITE_RAY_THREADS_PER_JOB"):
        monkeypatch.delenv(name, raising=False)
    assert type(default_runner()) is LocalRunner
    monkeypatch.setenv("ENASLITE_RUNNER", "ray")
    monkeypatch.setenv("ENASLITE_RAY_THREADS_PER_JOB", "2")
    runner = default_runner()
    assert type(runner) is RayRunner and (runner.address, runner.threads_per_job) == (None, 2)
    monkeypatch.delenv("ENASLITE_RUNNER")
    monkeypatch.setenv("ENASLITE_RAY_ADDRESS", "head:6379")
    assert default_runner().address == "head:6379"
    monkeypatch.setenv("ENASLITE_RUNNER", "local")
    assert type(default_runner()) is LocalRunner
    monkeypatch.setenv("ENASLITE_RUNNER", "dask")
    with pytest.raises(ValueError, match=r"environment variable `ENASLITE_RUNNER`: expected 'local' or 'ray', "
                                         r"received 'dask'"):
        default_runner()
    monkeypatch.setenv("ENASLITE_RUNNER", "ray")
    monkeypatch.setenv("ENASLITE_RAY_THREADS_PER_JOB", "0")
    with pytest.raises(ValueError, match=r"environment variable `ENASLITE_RAY_THREADS_PER_JOB`: expected an int "
                                         r">= 1, received '0'"):
        default_runner()


def _live_func_graphs() -> int:
    import gc

    gc.collect()
    return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())


def test_a_job_frees_the_traced_steps_of_the_job_before(tmp_path):
    """Jobs run one after another by a LocalRunner hold as many traced graphs as one job: the previous job's are freed.

    Keras' TF optimizer registers a gradient function per traced train step in TF's global registry, whose closure kept
    every earlier job's step (graph and all) alive; `backend.clear_session` drops those entries."""
    from enaslite.config import preset

    config = preset("smoke", **{"final.epochs": 1, "final.steps_per_epoch": 1, "data.train_limit": 64,
                                "data.valid_size": 16, "data.test_limit": 16})
    arc = "0 1 0 2 1 1"
    jobs = [Job("retrain", config.override(seed=seed), f"leak-s{seed}", arc=arc) for seed in range(3)]
    counts = []
    for job in jobs:
        LocalRunner().run([job], tmp_path, progress=False)
        counts.append(_live_func_graphs())
    assert counts[1] == counts[2], counts
