"""The reference-bug chapter's tables and charts, on small hand-made frames."""

import numpy as np
import pandas as pd
import pytest

from enaslite.study import bug_figures as B

VARIANTS = ["sampled", "all-conv3x3", "all-maxpool3x3"]


def probes(label, bug, seed, acc):
    """Rows of one probe: acc[pattern][variant]."""
    rows = []
    for p, accs in enumerate(acc):
        for v, a in zip(VARIANTS, accs):
            rows.append({"label": label, "bug": bug, "seed": seed, "pattern": p, "variant": v, "valid_acc": a,
                         "max_logit_diff": 0.0 if bug else (0.0 if v == "sampled" else 1.5)})
    return rows


FRAME = pd.DataFrame(probes("int-s0", False, 0, [[0.80, 0.70, 0.60], [0.75, 0.72, 0.65]])
                     + probes("bug-s0", True, 0, [[0.50, 0.50, 0.50], [0.40, 0.40, 0.40]]))


def test_probe_matrix_keeps_variant_order():
    m = B.probe_matrix(FRAME, "int-s0")
    np.testing.assert_allclose(m, [[0.80, 0.70, 0.60], [0.75, 0.72, 0.65]])


def test_op_effect_table_separates_inert_from_working_ops():
    t = B.op_effect_table(FRAME)
    assert list(t.index) == [(B.INTENDED, 0), (B.BUG, 0)]
    assert t.loc[(B.BUG, 0), "share of variance from the ops (%)"] == "0.0"
    assert t.loc[(B.BUG, 0), "largest |Δ logit|"] == "0"
    assert "all ties" in t.loc[(B.BUG, 0), "note"]
    assert float(t.loc[(B.INTENDED, 0), "share of variance from the ops (%)"]) > 50
    assert t.loc[(B.INTENDED, 0), "largest within-pattern range (points)"] == "20.00"


def test_probe_text_and_chart():
    text = B.probe_text(FRAME)
    assert "**reference bug**" in text and "account for 0.0%" in text and "logit when only the ops change is 0." in text
    assert B.probe_text(FRAME.iloc[:0]) == "No finished probes yet."
    chart = B.probe_chart(FRAME, "caption").to_dict()
    assert chart["facet"]["row"]["field"] == "condition"


def finals():
    rows = []
    for bug in (False, True):
        for seed in (0, 1, 2):
            for epoch in (1, 20):
                rows.append({"label": f"{'bug-' if bug else ''}s{seed}-ep{epoch}best", "parent": f"s{seed}",
                             "source_epoch": epoch, "mode": "reinforce", "space": "macro", "seed": seed, "bug": bug,
                             "test_acc": 0.85 + 0.01 * seed - (0.02 if bug else 0) + (0.005 if epoch == 20 else 0)})
    rows.append({"label": "random", "parent": None, "source_epoch": None, "mode": "reinforce", "space": "macro",
                 "seed": 0, "bug": False, "test_acc": 0.8})
    return pd.DataFrame(rows)


def test_retrain_table_and_comparison():
    t = B.retrain_table(finals())
    assert list(t.columns) == [(B.INTENDED, "epoch 1"), (B.INTENDED, "last epoch"), (B.BUG, "epoch 1"),
                               (B.BUG, "last epoch")]
    assert t.loc[2, (B.BUG, "last epoch")] == pytest.approx(100 * (0.85 + 0.02 - 0.02 + 0.005))
    c = B.retrain_comparison(finals())
    assert list(c.index) == ["epoch 1", "last epoch"]
    assert c.loc["last epoch", "bug − intended, points [95% CI], Welch p"].startswith("-2.00")
    assert B.retrain_comparison(finals().iloc[:0]).empty
