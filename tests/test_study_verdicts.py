"""The conclusions' verdict rules, on hand-made samples and frames."""

import types
import warnings

import numpy as np
import pandas as pd
import pytest

from enaslite.study import verdicts as V


def test_no_difference_rules():
    # A clear, significant gain for b: the "no difference" claim is not supported.
    assert V.no_difference([0.80, 0.81, 0.80, 0.79], [0.90, 0.91, 0.90, 0.92], 0.02)[0] == V.NOT_SUPPORTED
    # Tight and equal: the interval lies within the resolution.
    verdict, evidence = V.no_difference([0.850, 0.851, 0.849, 0.850], [0.851, 0.850, 0.850, 0.849], 0.02)
    assert verdict == V.SUPPORTED and "resolution ± 2.0 points" in evidence
    # Noisy: neither.
    assert V.no_difference([0.80, 0.86, 0.83], [0.82, 0.88, 0.79], 0.01)[0] == V.CANT_TELL
    # b significantly worse is not what the claim denies: not "not supported".
    assert V.no_difference([0.90, 0.91, 0.90, 0.92], [0.80, 0.81, 0.80, 0.79], 0.02)[0] == V.CANT_TELL
    # Too few values: can't tell, with the reason.
    verdict, evidence = V.no_difference([0.8], [0.9, 0.91], 0.02)
    assert verdict == V.CANT_TELL and "fewer than 3" in evidence
    # No calibration (NaN resolution) never gives "supported".
    assert V.no_difference([0.850, 0.851, 0.849], [0.851, 0.850, 0.850], float("nan"))[0] == V.CANT_TELL


def test_prediction_rule():
    x = np.linspace(0.3, 0.6, 12)
    assert V._predicts(pd.DataFrame({"shared_acc": x, "test_acc": x + 0.4, "seed": 0}))[0] == V.NOT_SUPPORTED
    rng = np.random.default_rng(0)
    flat = pd.DataFrame({"shared_acc": rng.uniform(0.3, 0.6, 8), "test_acc": rng.uniform(0.8, 0.81, 8), "seed": 0})
    assert V._predicts(flat)[0] in (V.CANT_TELL, V.SUPPORTED)
    assert V._predicts(flat.iloc[:2])[0] == V.CANT_TELL


def searches(first, last):
    rows = []
    for seed, (f, l) in enumerate(zip(first, last)):
        for epoch, share in ((1, f), (20, l)):
            rows.append({"space": "macro", "mode": "reinforce", "seed": seed, "epoch": epoch, "op0": 1 - share,
                         "op1": 0.0, "op2": 0.0, "op3": 0.0, "op4": share / 2, "op5": share / 2})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("first, last, verdict", [
    ((0.33, 0.33), (0.05, 0.10), V.SUPPORTED),
    ((0.33, 0.33), (0.40, 0.35), V.NOT_SUPPORTED),
    ((0.33, 0.33), (0.20, 0.25), V.CANT_TELL),
])
def test_pooling_rule(first, last, verdict):
    assert V._pooling(searches(first, last), "macro")[0] == verdict


def test_claims_table_and_summary():
    rows = []
    for group, accs in (("reinforce", (0.85, 0.86, 0.84)), ("uniform", (0.85, 0.85, 0.86))):
        for seed, a in enumerate(accs):
            for epoch in (1, 20):
                rows.append({"label": f"{group}-s{seed}-ep{epoch}", "parent": f"{group}-s{seed}", "mode": group,
                             "space": "macro", "seed": seed, "source_epoch": epoch, "test_acc": a})
    for i, a in enumerate((0.83, 0.84, 0.82)):
        rows.append({"label": f"macro-random-s{i}", "parent": None, "mode": "reinforce", "space": "macro",
                     "seed": i, "source_epoch": None, "test_acc": a})
    finals = pd.DataFrame(rows)
    lc = types.SimpleNamespace(finals=finals, searches=searches((0.33, 0.33, 0.33), (0.3, 0.3, 0.3)))
    calibration = finals[finals["label"].str.contains("random")].assign(
        label=["macro-random-s0", "macro-random-s0-train-s1", "macro-random-s0-train-s2"], seed=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = V.claims(calibration, lc, finals.iloc[:0].assign(shared_acc=[]), finals.iloc[:0])
    assert list(table["claim"]) == ["Later architectures are no better", "The controller does not learn",
                                    "The space does the work", "The controller stops sampling pooling"]
    assert table.loc[0, "verdict"] == V.SUPPORTED  # epoch-1 and last picks are equal here
    text = V.summary_text(table)
    assert "**supported**" in text and "of 4" in text
    assert V.summary_text(table.iloc[:0]).startswith("No experiment")
