import json
import subprocess
import sys

import numpy as np
import pytest

from enaslite.macro_arc import MacroArc
from enaslite.study import experiments, params, plan, timing
from enaslite.study.params import check


def smoke(tmp_path, **kw):
    return check(scale="smoke", seeds=kw.pop("seeds", [0, 1]), runs_dir=tmp_path, **kw)


def arc(i):
    return MacroArc.random(np.random.default_rng(i), 3).to_string()


def fake_finished(job, root, n_logged=3):
    """A finished run dir written by hand: searches log `n_logged` arcs per epoch, rescores score 20, retrains
    report an accuracy and a parameter count."""
    d = job.run_dir(root)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(job.config.to_json())
    done = {"seconds": 2.0}
    if job.kind == "search":
        rows = [{"epoch": e, "index": i, "arc": arc(100 * e + i + job.config.seed), "valid_acc": 0.1 * i}
                for e in range(1, job.config.search.epochs + 1) for i in range(n_logged)]
        (d / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (d / "epochs.csv").write_text("epoch,logged_acc_mean\n" + "".join(
            f"{e},0.1\n" for e in range(1, job.config.search.epochs + 1)))
    elif job.kind == "rescore":
        rows = [{"index": i, "arc": arc(1000 + i), "valid_acc": 0.01 * i} for i in range(job.n)]
        (d / "scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        done.update(test_acc=0.5, valid_acc=0.5, params=1234 + job.config.seed, epochs=job.config.final.epochs,
                    arc=job.arc)
        (d / "metrics.csv").write_text("epoch,test_acc,valid_acc\n1,0.5,0.5\n")
    (d / "finished.json").write_text(json.dumps(done))


class FakeRunner:
    """Finishes every unfinished job it is given by writing its run dir by hand."""

    def run(self, jobs, root, progress=True):
        todo = [j for j in jobs if not j.finished(root)]
        for job in todo:
            fake_finished(job, root)
        return todo


# -- the experiments' plans ---------------------------------------------------------------------------------------

def test_search_plans_three_controllers_per_seed_and_space(tmp_path):
    """search(): reinforce, uniform and frozen searches per seed and space, the same jobs plan.search_jobs makes."""
    e = experiments.search(smoke(tmp_path))
    jobs = e.plan()
    assert e.spaces == ("macro", "micro") and len(jobs) == 2 * 3 * 2
    expected = plan.search_jobs(seeds=[0, 1], mode="frozen", **plan.scale_overrides("smoke", "micro"))
    assert {j.key() for j in expected} <= {j.key() for j in jobs}


def test_learning_curve_adds_random_architectures(tmp_path):
    """learning_curve(): the baselines' searches first; random architectures retrained with no parent."""
    e = experiments.learning_curve(smoke(tmp_path, space="macro"), random_archs=2)
    jobs = e.plan()
    assert [j.label for j in jobs if j.kind == "retrain"] == ["macro-random-s0", "macro-random-s1"]
    assert {j.config.controller.mode for j in jobs if j.kind == "search"} == {"reinforce", "uniform", "frozen"}
    with pytest.raises(ValueError, match=r"argument `random_archs`: expected an int >= 1, received 0"):
        experiments.learning_curve(smoke(tmp_path), random_archs=0)


def test_performance_estimation_checks_n_and_k(tmp_path):
    """performance_estimation(): a rescore of n arcs per search at the middle epoch; k must be in [1, n]."""
    e = experiments.performance_estimation(smoke(tmp_path, space="micro"), n=6, k=3)
    rescores = [j for j in e.plan() if j.kind == "rescore"]
    assert [(j.n, j.epoch) for j in rescores] == [(6, 1), (6, 1)]
    assert e.notes == ("micro: 6 architectures sampled at search epoch 1 of 2, scored on the whole validation "
                       "split with that epoch's shared weights; 3 of them retrained.",)
    with pytest.raises(ValueError, match=r"argument `k`: expected an int in \[1, n=6\], received 7"):
        experiments.performance_estimation(smoke(tmp_path), n=6, k=7)


def test_transfer_runs_macro_between_class_halves_at_small_scales(tmp_path):
    """transfer(): macro only for space="both"; source on classes 0-4, targets (fresh, transferred, uniform) and
    random architectures on 5-9."""
    e = experiments.transfer(smoke(tmp_path, seeds=[1]), random_archs=1)
    jobs = e.plan()
    assert e.spaces == ("macro",)
    assert [j.label for j in jobs] == ["macro-source-s0", "macro-target-fresh-s1", "macro-target-transfer-s1",
                                       "macro-target-uniform-s1", "macro-random-c5_6_7_8_9-s0"]
    assert jobs[0].config.data.classes == (0, 1, 2, 3, 4)
    assert all(j.config.data.classes == (5, 6, 7, 8, 9) for j in jobs[1:])
    assert jobs[3].config.controller.mode == "uniform" and jobs[2].parent == jobs[0].key()
    assert experiments.transfer(smoke(tmp_path, space="micro")).spaces == ("micro",)


def test_transfer_at_thesis_scale_goes_from_cifar10_to_cifar100(tmp_path):
    """At the thesis scale the source searches CIFAR-10 and the targets CIFAR-100, all classes, thesis presets."""
    e = experiments.transfer(check(scale="thesis", epochs=310, runs_dir=tmp_path))
    source, *targets = e.plan()
    assert (source.config.data.dataset, source.config.data.classes, source.config.preset) == \
           ("cifar10", None, "thesis-macro")
    assert {(j.config.data.dataset, j.config.data.classes) for j in targets} == {("cifar100", None)}
    assert source.config.search.epochs == 310 and targets[1].epoch == 310
    assert "controller is trained on **CIFAR-10** (the source task) and transferred to **CIFAR-100**" in \
           experiments.transfer_tasks_text(e.params)


def test_transfer_tasks_with_a_named_dataset_split_its_classes():
    """A named dataset gives the two halves of its classes; an .npz (class count unknown) is refused."""
    assert plan.transfer_tasks("cpu", "cifar100") == {"source_dataset": "cifar100",
                                                       "source_classes": tuple(range(50)), "dataset": "cifar100",
                                                       "target_classes": tuple(range(50, 100))}
    with pytest.raises(ValueError, match=r"argument `dataset`: expected None or one of"):
        plan.transfer_tasks("cpu", "my.npz")
    assert "classes 0–4" in experiments.transfer_tasks_text(check(scale="cpu"))


def test_transfer_jobs_keep_their_keys_without_the_new_options():
    """transfer_jobs' new options (source_dataset, baselines) default to the old plan: same jobs, same keys."""
    old = plan.transfer_jobs("macro", "smoke", [1], 2)
    new = plan.transfer_jobs("macro", "smoke", [1], 2, source_dataset=None, baselines=False)
    assert [j.key() for j in old] == [j.key() for j in new]
    assert [j.label for j in plan.random_arc_jobs("macro", "smoke", 1, classes=(1, 2))] == ["macro-random-c1_2-s0"]


# -- running, captions, summary ------------------------------------------------------------------------------------

def test_run_computes_the_missing_and_reuses_the_finished(tmp_path):
    """run(): the first call computes every wave; the second reuses all; the summary counts both."""
    p = smoke(tmp_path, space="macro", seeds=[0])
    first = experiments.run(experiments.learning_curve(p, random_archs=1), FakeRunner())
    assert len(first.ran) == len(first.jobs) == 3 + 6 + 1
    assert first.summary().loc["retrain", ["runs", "computed now", "reused"]].tolist() == [7, 7, 0]
    second = experiments.run(experiments.learning_curve(p, random_archs=1), FakeRunner())
    assert second.ran == frozenset() and second.summary().loc["search", "reused"] == 3
    assert second.summary().loc["search", "compute time (min)"] == pytest.approx(0.1)
    assert len(second.results.finals) == 7
    assert experiments.load_study(experiments.learning_curve(p, random_archs=1)).jobs == second.jobs


def test_caption_is_generated_from_the_configs(tmp_path):
    """The caption names scale, dataset and limits, epochs, steps, network sizes, parameter counts and seeds."""
    p = smoke(tmp_path, seeds=[0])
    study = experiments.run(experiments.learning_curve(p, random_archs=1), FakeRunner())
    c = study.caption()
    assert c.startswith("Scale smoke, Fashion-MNIST (128 training, 64 test images, 64 for validation). Macro "
                        "(preset smoke): searches of 2 epochs × 2 steps of 16 images, 3 layers × 8 filters; "
                        "retrains of 1 epoch × 2 steps of 16 images, 3 layers × 8 filters (1,234 trainable "
                        "parameters).")
    assert "Micro (preset smoke): searches of 2 epochs × 2 steps of 16 images, 3 + 2 cells of 2 nodes × 8 filters" in c
    assert c.endswith("Seed 0.") and study.caption("micro").startswith("Scale smoke, Fashion-MNIST")
    assert study.label() == "Fashion-MNIST, smoke scale"
    cpu = experiments.Study(experiments.search(check(scale="cpu", space="macro", runs_dir=tmp_path)),
                            tuple(experiments.search(check(scale="cpu", space="macro")).plan()), study.results)
    assert "searches of 20 epochs × 100 steps of 64 images, 6 layers × 16 filters" in cpu.caption()


def test_transfer_caption_names_both_tasks(tmp_path):
    """A transfer study's caption gives the source and the target task."""
    study = experiments.run(experiments.transfer(smoke(tmp_path, seeds=[0]), random_archs=1), FakeRunner())
    assert study.caption().startswith(
        "Scale smoke, source task Fashion-MNIST classes 0–4 (128 training, 64 test images, 64 for validation), target "
        "task Fashion-MNIST classes 5–9 (128 training, 64 test images, 64 for validation). Macro (preset smoke): ")
    assert study.label() == "Fashion-MNIST, smoke scale"


def test_parameters_text_states_scale_and_why(tmp_path):
    """The page's opening line gives the scale (and why auto chose it), spaces, seeds and epochs."""
    p = check(scale="cpu", space="micro", seeds=[3], epochs=5, runs_dir=tmp_path)
    assert experiments.parameters_text(p) == ("This page was computed at the **cpu** scale: micro space; seed 3; "
                                              "5 search epochs.")
    auto = params.Params("cpu", ("macro", "micro"), None, None, None, (0, 1), tmp_path, "auto: no GPU visible")
    assert experiments.parameters_text(auto).startswith("This page was computed at the **cpu** scale (no GPU "
                                                        "visible): macro and micro spaces; seeds 0, 1; the scale's")


# -- scale="auto" --------------------------------------------------------------------------------------------------

def test_auto_without_a_gpu_is_cpu_and_imports_no_keras():
    """With no CUDA device visible, auto is cpu, decided without importing Keras."""
    code = ("import os, sys; os.environ['CUDA_VISIBLE_DEVICES'] = '-1'\n"
            "from enaslite.study.params import check\n"
            "p = check(scale='auto')\n"
            "print(p.scale, p.scale_reason, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "cpu auto: no GPU visible False", out.stderr


@pytest.mark.parametrize("gpu, backend, failing, expected", [
    (False, True, None, ("cpu", "auto: no GPU visible")),
    (True, False, None, ("cpu", "auto: a GPU is installed but Keras' backend does not see it")),
    (True, True, "cifar100", ("cpu", "auto: a GPU is visible but cifar100 does not load (RuntimeError: offline)")),
    (True, True, None, ("thesis", "auto: a GPU is visible and CIFAR-10 and CIFAR-100 load")),
])
def test_auto_needs_a_gpu_and_both_cifars(monkeypatch, gpu, backend, failing, expected):
    """auto is thesis only when a GPU is present, the backend sees it and CIFAR-10 and CIFAR-100 both load."""
    monkeypatch.setattr(params, "_cuda_device_present", lambda: gpu)
    monkeypatch.setattr(params, "_backend_sees_gpu", lambda: backend)
    monkeypatch.setattr(params, "_dataset_loads", lambda name: "RuntimeError: offline" if name == failing else None)
    assert params.auto_scale() == expected
    p = check(scale="auto")
    assert (p.scale, p.scale_reason) == expected


def test_bad_parameters_fail_before_auto_is_resolved(monkeypatch):
    """A bad parameter fails before auto looks for a GPU (which may import Keras)."""
    def boom():
        raise AssertionError("auto resolved before the parameters were checked")

    monkeypatch.setattr(params, "auto_scale", boom)
    with pytest.raises(ValueError, match=r"argument `epochs`: expected None or an int >= 1, received 'abc'"):
        check(scale="auto", epochs="abc")
    with pytest.raises(ValueError, match=r"argument `scale`: expected one of \['auto', 'cpu', 'smoke', 'thesis'\]"):
        check(scale="gpu")


def test_runs_dir_none_is_the_repository_runs_folder():
    """runs_dir=None (the notebooks' default) is the repository's runs/, whatever the working directory."""
    from pathlib import Path
    assert check(runs_dir=None).runs_dir == Path(params.__file__).resolve().parents[2] / "runs"


def test_reference_bug_experiment_is_macro_only_and_probes_every_search(tmp_path):
    """Both conditions' searches (the intended ones are the learning curve's) and a probe of each."""
    p = smoke(tmp_path, seeds=[0, 1])
    jobs = experiments.reference_bug(p, n=3).plan()
    searches = [j for j in jobs if j.kind == "search"]
    assert sorted(j.config.reference_macro_bug for j in searches) == [False, False, True, True]
    assert [j.n for j in jobs if j.kind == "probe"] == [3] * 4
    lc = {j.key() for j in experiments.learning_curve(p).plan() if j.kind == "search" and
          j.config.controller.mode == "reinforce" and j.config.space == "macro"}
    assert lc <= {j.key() for j in searches}
    with pytest.raises(ValueError, match="argument `space`: expected 'macro' or 'both'"):
        experiments.reference_bug(check(scale="smoke", space="micro", runs_dir=tmp_path))


def test_study_cost_counts_shared_runs_once(tmp_path):
    """The learning curve's searches are also the searches chapter's: the whole-study row counts them once."""
    p = smoke(tmp_path, space="macro", seeds=[0])
    experiments.run(experiments.search(p), FakeRunner())
    cost = experiments.study_cost(p)
    assert list(cost.index) == list(experiments.BOOK) + ["whole study (each run once)"]
    assert cost.loc["search", "runs finished"] == 3 and cost.loc["learning_curve", "runs finished"] == 3
    total = cost.loc["whole study (each run once)"]
    assert total["runs finished"] == 3 and total["compute time (h)"] == round(3 * 2.0 / 3600, 2)
    assert total["runs planned"] > cost.loc["search", "runs planned"]


def test_alone_cost_reads_the_timing_table_of_the_runs_dir(tmp_path):
    """Without runs/study_timing.csv one row says so; with it, every finished run of the book counts once."""
    p = smoke(tmp_path, space="macro", seeds=[0])
    experiments.run(experiments.search(p), FakeRunner())
    assert "no timing table" in experiments.alone_cost(p).loc["whole study", "estimate from"]
    log = tmp_path / "load.log"
    log.write_text("2026-11-29T10:00:00 2.1 2.0 2.0\n")
    timing.write_timing(p.runs_dir, log, p.runs_dir / experiments.TIMING)
    cost = experiments.alone_cost(p)
    assert cost.loc["macro search", "runs"] == 3 and cost.loc["whole study", "runs"] == 3
    assert cost.loc["whole study", "estimate alone (h)"] == pytest.approx(3 * 2.0 / 3600)
    # ... and the reruns scripts/parallel_jobs.py saved in the runs dir's bench folder.
    run = sorted((p.runs_dir / "search").iterdir())[0]
    (p.runs_dir / experiments.RERUNS).mkdir()
    (p.runs_dir / experiments.RERUNS / "parallel-jobs-x.json").write_text(json.dumps({"labels": ["a"], "ways": [
        {"mode": m, "wall_s": 10.0, "jobs": {"a": {"run": f"search/{run.name}", "seconds": 5.0}}}
        for m in ("serial", "ray")]}))
    cost = experiments.alone_cost(p)
    assert cost.loc["macro search", "reruns alone"] == 1 and cost.loc["macro search", "two at a time / one"] == 1.0
