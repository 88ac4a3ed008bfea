import functools
import json

import numpy as np
import pytest

from enaslite.config import preset
from enaslite.macro_arc import MacroArc
from enaslite.study import plan
from enaslite.study.jobs import Job

SMOKE = plan.scale_overrides("smoke", "macro")


def fake_finished(job, root, **files):
    """Writes a finished run dir for `job` by hand: config.json, each `files` entry (rows -> .jsonl), finished.json."""
    d = job.run_dir(root)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(job.config.to_json())
    for name, rows in files.items():
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "finished.json").write_text(json.dumps({"seconds": 1.0}))


def arc(i):
    """A distinct 3-layer macro arc per i (the smoke depth)."""
    return MacroArc.random(np.random.default_rng(i), 3).to_string()


def logged(epochs, per_epoch=3, best=None):
    """samples.jsonl rows; at each epoch the architecture `best[epoch]` (an index) scores highest."""
    best = best or {}
    return [{"epoch": e, "index": i, "arc": arc(10 * e + i), "valid_acc": 0.9 if best.get(e) == i else 0.1 * i}
            for e in epochs for i in range(per_epoch)]


def test_scales_are_data_fed_to_the_same_functions():
    """scale_overrides reads SCALES: smoke/cpu/thesis presets per space, the bug presets, and the smoke overrides."""
    assert plan.scale_overrides("cpu", "micro")["preset"] == "cpu-micro"
    assert plan.scale_overrides("thesis", "macro", bug=True)["preset"] == "thesis-macro-bug"
    assert plan.scale_overrides("thesis", "micro")["preset"] == "thesis-micro"
    assert SMOKE["epochs"] == 2 and SMOKE["overrides"]["final.epochs"] == 1
    thesis = plan.search_jobs(seeds=[0], **plan.scale_overrides("thesis", "macro", bug=True))[0].config
    assert thesis.data.dataset == "cifar10" and thesis.reference_macro_bug and thesis.search.epochs == 310
    with pytest.raises(ValueError, match=r"argument `scale`: expected one of \['cpu', 'smoke', 'thesis'\]"):
        plan.scale_overrides("gpu")


def test_search_jobs_set_the_experiment_fields():
    """One search per seed, with the mode, classes, dataset and epochs asked for; overrides may not clash."""
    jobs = plan.search_jobs("micro", "smoke", [0, 3], 4, mode="uniform", classes=(1, 2),
                            overrides={"data.train_limit": 64})
    assert [j.label for j in jobs] == ["micro-uniform-c1_2-s0", "micro-uniform-c1_2-s3"]
    c = jobs[1].config
    assert (c.space, c.seed, c.search.epochs, c.controller.mode, c.data.classes, c.data.train_limit) == \
           ("micro", 3, 4, "uniform", (1, 2), 64)
    with pytest.raises(ValueError, match=r"argument `overrides`: expected no field that a parameter of the plan "
                                         r"sets .*received \['search.epochs'\]"):
        plan.search_jobs("macro", "smoke", [0], 2, overrides={"search.epochs": 3})
    with pytest.raises(ValueError, match=r"argument `seeds`: expected a non-empty list of distinct ints"):
        plan.search_jobs("macro", "smoke", [0, 0], 2)


def test_learning_curve_plans_in_waves(tmp_path):
    """Searches first; once a search is finished, retrains of its best logged arc at epoch 1 and the last."""
    first = plan.learning_curve_jobs(seeds=[0, 1], root=tmp_path, **SMOKE)
    assert [j.kind for j in first] == ["search", "search"]
    assert plan.learning_curve_jobs(seeds=[0, 1], **SMOKE) == first  # root=None: nothing is finished
    fake_finished(first[0], tmp_path, samples=logged([1, 2], best={1: 2, 2: 0}))
    second = plan.learning_curve_jobs(seeds=[0, 1], root=tmp_path, **SMOKE)
    retrains = [j for j in second if j.kind == "retrain"]
    assert [j.label for j in retrains] == ["macro-reinforce-s0-ep1best", "macro-reinforce-s0-ep2best"]
    assert [j.arc for j in retrains] == [arc(12), arc(20)]
    assert all(j.parent == first[0].key() and j.config == first[0].config for j in retrains)
    assert [j.epoch for j in retrains] == [1, 2]
    modes = {j.config.controller.mode for j in plan.learning_curve_jobs(seeds=[0], baselines=True, **SMOKE)}
    assert modes == {"reinforce", "uniform", "frozen"}


def test_searched_arcs_must_fit_the_final_child():
    """A preset whose final child is deeper than its search child (enas-macro: 12 vs 24) can't retrain searches."""
    with pytest.raises(ValueError, match=r"argument `preset`: expected a config whose search and final children "
                                         r"share num_layers.*search.num_layers=12, final.num_layers=24"):
        plan.learning_curve_jobs("macro", "enas-macro", [0], 2)


def test_transfer_planning_wires_parent_epoch_and_classes(tmp_path):
    """The transferred target search starts from the source's last-epoch controller; fresh ones have no parent;
    source and targets see different classes; finished targets propose retrains at epochs 1, middle and last."""
    jobs = plan.transfer_jobs("macro", "smoke", [1, 2], 3, root=tmp_path)
    source, *targets = jobs
    assert source.label == "macro-source-s0" and source.config.seed == 0 and source.parent is None
    assert source.config.data.classes == (0, 1, 2, 3, 4)
    assert [t.label for t in targets] == ["macro-target-fresh-s1", "macro-target-transfer-s1",
                                          "macro-target-fresh-s2", "macro-target-transfer-s2"]
    for fresh, moved in (targets[:2], targets[2:]):
        assert fresh.parent is None and fresh.epoch is None
        assert moved.parent == source.key() and moved.epoch == 3
        assert fresh.config == moved.config and fresh.key() != moved.key()
        assert moved.config.data.classes == (5, 6, 7, 8, 9) and moved.config.search.epochs == 3
    fake_finished(targets[1], tmp_path, samples=logged([1, 2, 3], best={1: 1, 2: 2, 3: 0}))
    retrains = [j for j in plan.transfer_jobs("macro", "smoke", [1, 2], 3, root=tmp_path) if j.kind == "retrain"]
    assert [(j.label, j.epoch, j.arc) for j in retrains] == [
        ("macro-target-transfer-s1-ep1best", 1, arc(11)), ("macro-target-transfer-s1-ep2best", 2, arc(22)),
        ("macro-target-transfer-s1-ep3best", 3, arc(30))]
    assert all(j.parent == targets[1].key() and j.config.data.classes == (5, 6, 7, 8, 9) for j in retrains)
    with pytest.raises(ValueError, match=r"argument `retrain_epochs_at`: expected search epochs in \[1, 3\]"):
        plan.transfer_jobs("macro", "smoke", [1], 3, retrain_epochs_at=(4,))


def test_spread_picks_distinct_arcs_over_the_ranking():
    """spread takes the best, the worst and evenly spaced ranks between, ranking a repeated arc once."""
    scores = [{"index": i, "arc": arc(i), "valid_acc": acc} for i, acc in enumerate([.5, .9, .1, .7, .3, .8, .2])]
    picks = plan.spread(scores, 3)
    assert [(rank, row["valid_acc"]) for rank, row in picks] == [(1, .9), (4, .5), (7, .1)]
    assert [rank for rank, _ in plan.spread(scores, 7)] == [1, 2, 3, 4, 5, 6, 7]
    assert [rank for rank, _ in plan.spread(scores, 1)] == [1]
    repeated = scores + [{"index": 7, "arc": arc(1), "valid_acc": .9}]
    assert len(plan.spread(repeated, 8)) == 7


def test_estimation_planning_retrains_a_spread_of_rescored_arcs(tmp_path):
    """A rescore at the middle epoch per search; when it is finished, k retrains over its ranking, labelled by rank."""
    jobs = plan.estimation_jobs("macro", "smoke", [0], 4, n=6, k=3, root=tmp_path)
    search, rescore = jobs
    assert (rescore.kind, rescore.parent, rescore.epoch, rescore.n, rescore.seed) == ("rescore", search.key(), 2, 6, 0)
    assert rescore.label == "macro-reinforce-s0-ep2-n6"
    accs = [.40, .80, .20, .60, .10, .70]
    fake_finished(rescore, tmp_path, scores=[{"index": i, "arc": arc(i), "valid_acc": a} for i, a in enumerate(accs)])
    retrains = plan.estimation_jobs("macro", "smoke", [0], 4, n=6, k=3, root=tmp_path)[2:]
    # Ranked: .80 (1), .70, .60, .40 (4), .20, .10 (6): ranks 1, floor(3.5) = 4 and 6.
    assert [j.label for j in retrains] == ["macro-reinforce-s0-ep2-n6-rank01", "macro-reinforce-s0-ep2-n6-rank04",
                                           "macro-reinforce-s0-ep2-n6-rank06"]
    assert [j.arc for j in retrains] == [arc(1), arc(0), arc(4)]
    assert all(j.parent == rescore.key() and j.epoch is None for j in retrains)
    with pytest.raises(ValueError, match=r"argument `k`: expected an int in \[1, n=6\], received 7"):
        plan.estimation_jobs("macro", "smoke", [0], 4, n=6, k=7)


def test_random_arcs_are_the_cli_draws():
    """Job i retrains the arc `retrain --random --seed i` draws, at seed i, with no search."""
    jobs = plan.random_arc_jobs(count=2, seed=5, **plan.scale_overrides("cpu", "macro"))
    assert [j.label for j in jobs] == ["macro-random-s5", "macro-random-s6"]
    c = jobs[1].config
    assert c.seed == 6 and c.preset == "cpu-macro" and jobs[1].parent is None
    assert jobs[1].arc == MacroArc.random(np.random.default_rng(6), c.final.num_layers).to_string()
    assert plan.random_arc_jobs("micro", "cpu-micro", 1)[0].config.space == "micro"


def test_plan_until_done_runs_waves_until_all_finished(tmp_path):
    """plan_until_done alternates planning and running until nothing is left, and stops a runner that stalls."""
    waves = []

    class FakeRunner:
        def run(self, jobs, root):
            waves.append(sorted(j.label for j in jobs if not j.finished(root)))
            for j in jobs:
                if j.kind == "search":
                    fake_finished(j, root, samples=logged([1, 2]))
                else:
                    fake_finished(j, root)

    experiment = functools.partial(plan.learning_curve_jobs, seeds=[0], **SMOKE)
    jobs = plan.plan_until_done(experiment, FakeRunner(), tmp_path)
    assert waves == [["macro-reinforce-s0"], ["macro-reinforce-s0-ep1best", "macro-reinforce-s0-ep2best"]]
    assert len(jobs) == 3 and all(j.finished(tmp_path) for j in jobs)

    class Stalled:
        def run(self, jobs, root):
            pass

    with pytest.raises(RuntimeError, match=r"argument `runner`: expected the planned jobs finished after a run"):
        plan.plan_until_done(functools.partial(plan.search_jobs, "macro", "smoke", [7], 2), Stalled(), tmp_path)


def test_calibration_reuses_random_arcs_and_varies_only_the_training_seed():
    """Calibration = the random-architecture retrains plus the first architecture under other training seeds."""
    from enaslite.study.plan import calibration_jobs, random_arc_jobs
    jobs = calibration_jobs("macro", "smoke", seeds=(0, 1, 2), count=3)
    rand = random_arc_jobs("macro", "smoke", 3)
    assert [j.key() for j in jobs[:3]] == [j.key() for j in rand]
    extra = jobs[3:]
    assert [j.config.seed for j in extra] == [1, 2] and all(j.arc == rand[0].arc for j in extra)
    assert len({j.key() for j in jobs}) == 5
