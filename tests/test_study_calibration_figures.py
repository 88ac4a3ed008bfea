"""The calibration chapter's tables, on a hand-made frame of finals."""

import pandas as pd

from enaslite.study import calibration_figures as C


def finals(noise=(0.80, 0.81, 0.79), spread=(0.70, 0.75, 0.85, 0.90)):
    rows = [{"label": "macro-random-s0" if s == 0 else f"macro-random-s0-train-s{s}", "space": "macro", "seed": s,
             "test_acc": a} for s, a in enumerate(noise)]
    rows += [{"label": f"macro-random-s{i}", "space": "macro", "seed": i, "test_acc": a}
             for i, a in enumerate(spread, 1)]
    rows.append({"label": "macro-reinforce-s0-ep1best", "space": "macro", "seed": 0, "test_acc": 0.5})
    return pd.DataFrame(rows)


def test_groups_split_noise_from_spread_and_drop_other_runs():
    seed_runs, arch_runs = C.groups(finals(), "macro")
    assert list(seed_runs["test_acc"]) == [0.80, 0.81, 0.79]
    assert list(arch_runs["test_acc"]) == [0.80, 0.70, 0.75, 0.85, 0.90]
    t = C.calibration_table(finals())
    assert len(t) == 7 and t.loc[("macro", 0, 0), "measures"] == "seed noise and spread"


def test_verdict_follows_the_rule():
    v = C.verdict_table(finals())
    assert v.loc["macro", "distinguishable (spread > 2.0 × noise)"] == "yes"
    assert "can rank them" in C.verdict_text(finals())
    close = finals(noise=(0.70, 0.90, 0.80), spread=(0.75, 0.85, 0.8, 0.78))
    assert C.verdict_table(close).loc["macro", "distinguishable (spread > 2.0 × noise)"] == "no"
    assert "below the rule" in C.verdict_text(close)


def test_too_few_runs_give_no_verdict():
    assert "no verdict yet" in C.verdict_text(finals(noise=(0.8,), spread=(0.7,)))
    assert C.verdict_text(finals().iloc[-1:]) == "No finished calibration runs yet."
