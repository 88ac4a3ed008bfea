"""The op probe: under the reference macro bug the ops are inert (identical logits), without it they are not; the
probe runs as a study job and loads into the results."""

import functools

import numpy as np
import pytest

from enaslite.macro_arc import MacroArc
from enaslite.probe import op_variants, probe_ops
from enaslite.study import LocalRunner, load, plan, plan_until_done

SMOKE = plan.scale_overrides("smoke", "macro")
EXPERIMENT = functools.partial(plan.reference_bug_jobs, seeds=[0], n=2, bug_preset="smoke", **SMOKE)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """Both smoke searches (intended and inert-op) with their retrains and probes of the last epoch."""
    root = tmp_path_factory.mktemp("runs")
    return root, plan_until_done(EXPERIMENT, LocalRunner(), root, progress=False)


def test_op_variants_keep_skips_and_set_every_op():
    arc = MacroArc.from_string("0 1 0 2 1 1")
    variants = op_variants(arc, 6)
    assert [n for n, _ in variants] == ["sampled", "all-conv3x3", "all-sepconv3x3", "all-conv5x5",
                                        "all-sepconv5x5", "all-avgpool3x3", "all-maxpool3x3"]
    assert variants[0][1] == arc and all(v.skips == arc.skips for _, v in variants)
    assert variants[3][1].ops == (2, 2, 2)
    with pytest.raises(ValueError, match="argument `num_ops`"):
        op_variants(arc, 7)


def test_bug_makes_ops_inert_and_intended_mode_does_not(experiment):
    root, jobs = experiment
    probes = load(jobs, root).probes
    assert set(probes["label"]) == {"macro-reinforce-s0-ep2-probe2", "macro-bug-reinforce-s0-ep2-probe2"}
    assert len(probes) == 2 * 2 * 7
    bug, intended = probes[probes["bug"]], probes[~probes["bug"]]
    assert (bug["max_logit_diff"] == 0).all()
    assert bug.groupby("pattern")["valid_acc"].nunique().eq(1).all()
    assert (intended["max_logit_diff"] > 0).any()
    assert intended["reference_macro_bug"].eq(False).all() and bug["reference_macro_bug"].all()


def test_probe_refuses_an_epoch_without_shared_weights(experiment):
    root, jobs = experiment
    search = next(j for j in jobs if j.kind == "search")
    with pytest.raises(ValueError, match="argument `epoch`"):
        probe_ops(search.run_dir(root), 7)
    with pytest.raises(ValueError, match="argument `n`"):
        probe_ops(search.run_dir(root), 2, n=0)


def test_reference_bug_plan_shares_the_learning_curve_runs():
    lc = {j.key() for j in plan.learning_curve_jobs(seeds=[0], **SMOKE)}
    bug = EXPERIMENT()
    assert lc <= {j.key() for j in bug}
    assert [j.kind for j in bug].count("probe") == 2
    with pytest.raises(ValueError, match="argument `space`"):
        plan.reference_bug_jobs("micro", "smoke", [0])
    with pytest.raises(ValueError, match="argument `n`"):
        plan.reference_bug_jobs("macro", "smoke", [0], n=1)
