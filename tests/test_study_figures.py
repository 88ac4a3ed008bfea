import math

import numpy as np
import pandas as pd
import pytest

from enaslite import analysis, charts
from enaslite.study import figures

CAPTION = "Scale test, Fashion-MNIST. Macro (preset smoke): searches of 2 epochs."


def searches_frame(last_pool=None, seeds=(0, 1, 2)):
    """epochs.csv rows of macro and micro searches (3 epochs, 3 modes); `last_pool` {(space, mode): share} sets the
    pooling share of the last epoch, split evenly over the pooling ops (the rest over the others)."""
    rows = []
    for space, n_ops in (("macro", 6), ("micro", 5)):
        pools = figures.pooling_ops(space)
        for mode in ("reinforce", "uniform", "frozen"):
            for seed in seeds:
                for epoch in (1, 2, 3):
                    share = len(pools) / n_ops
                    if epoch == 3 and last_pool and (space, mode) in last_pool:
                        share = last_pool[(space, mode)]
                    ops = [share / len(pools) if i in pools else (1 - share) / (n_ops - len(pools))
                           for i in range(n_ops)]
                    rows.append({"space": space, "mode": mode, "seed": seed, "label": f"{space}-{mode}-s{seed}",
                                 "kind": "search", "parent": None, "epoch": epoch,
                                 "logged_acc_mean": 0.1 * epoch, "logged_acc_max": 0.2 * epoch,
                                 "ctrl_entropy": 5.0 - epoch, "skip_rate": 0.4 if space == "macro" else 0.0,
                                 **{f"op{i}": v for i, v in enumerate(ops)}})
    return pd.DataFrame(rows)


def finals_frame(ep1, last, random, space="macro", mode="reinforce", last_epoch=20):
    """finals rows: per seed i an epoch-1 pick (ep1[i]) and a last-epoch pick (last[i]), then random architectures."""
    rows = []
    for seed, (a, b) in enumerate(zip(ep1, last)):
        for epoch, acc in ((1, a), (last_epoch, b)):
            rows.append({"label": f"{space}-{mode}-s{seed}-ep{epoch}best", "parent": f"{space}-{mode}-s{seed}",
                         "space": space, "mode": mode, "seed": seed, "source_epoch": epoch, "test_acc": acc,
                         "shared_acc": 0.5, "params": 1000})
    for seed, acc in enumerate(random):
        rows.append({"label": f"{space}-random-s{seed}", "parent": None, "space": space, "mode": "reinforce",
                     "seed": seed, "source_epoch": np.nan, "test_acc": acc, "shared_acc": np.nan, "params": 900})
    return pd.DataFrame(rows)


def test_pooling_ops_are_named_pool():
    """Macro pools are ops 4 and 5 (avg, max), micro's are 2 and 3."""
    assert figures.pooling_ops("macro") == [4, 5] and figures.pooling_ops("micro") == [2, 3]


def test_pooling_table_reads_first_and_last_epoch():
    """The pooling share at the first and last epoch is the sum of the pooling op columns, in percent."""
    t = figures.pooling_table(searches_frame({("macro", "reinforce"): 0.05}))
    row = t.loc[("macro", "reinforce", 0)]
    assert row["pooling at first epoch (%)"] == pytest.approx(100 * 2 / 6)
    assert row["pooling at last epoch (%)"] == pytest.approx(5.0)
    assert row["last epoch"] == 3 and t.loc[("micro", "uniform", 1), "uniform share (%)"] == pytest.approx(40.0)


def test_pooling_answer_says_stopped_only_below_threshold_in_every_seed():
    """"Yes" when every seed's last-epoch share is under the threshold; "No" with the numbers otherwise, "less" only
    when every seed dropped by more than a point."""
    text = figures.pooling_answer(searches_frame({("macro", "reinforce"): 0.0, ("micro", "reinforce"): 0.3}))
    macro, micro = text.splitlines()
    assert macro.startswith("- macro: **Yes**") and "33.3% of the operations" in macro and "0.0% at epoch 3" in macro
    assert micro.startswith("- micro: **No**, but it samples them less in every seed") and "30.0% at epoch 3" in micro
    assert "uniform 40.0%" in micro
    mixed = searches_frame({("macro", "reinforce"): 0.3})
    first_seed = mixed[(mixed["mode"] == "reinforce") & (mixed["seed"] == 0) & (mixed["space"] == "macro")]
    mixed.loc[first_seed.index[-1], ["op4", "op5"]] = 1 / 6  # seed 0 ends where it began; the mean still drops 2.2
    assert figures.pooling_answer(mixed).splitlines()[0].startswith("- macro: **No**. Pooling")


def test_search_metrics_keep_every_cell_of_the_grid():
    """Each (space, metric) pair has rows; the skip rate outside macro is NaN (not measured), not dropped."""
    long = figures.search_metrics(searches_frame())
    assert set(long.groupby(["space", "metric"]).size().index) == {
        (s, m) for s in ("macro", "micro") for m in figures.METRICS.values()}
    micro_skip = long[(long["space"] == "micro") & (long["metric"] == "skip rate")]
    assert micro_skip["value"].isna().all()


def test_op_shares_are_named_and_averaged_over_seeds():
    """op columns become op names of the space, averaged over seeds, summing to one per epoch."""
    long = figures.op_shares(searches_frame())
    assert set(long.loc[long["space"] == "micro", "op"]) == set(figures.OPS["micro"])
    sums = long.groupby(["space", "mode", "epoch"])["share"].sum()
    assert np.allclose(sums, 1.0)


def test_picks_label_first_last_and_random():
    """Retrains of a search are "epoch 1" or "epoch E (last)"; those without a parent are random architectures."""
    f = figures.picks(finals_frame([.5], [.6], [.4], last_epoch=7))
    assert list(f["pick"]) == ["epoch 1", "epoch 7 (last)", figures.RANDOM]
    assert list(f["group"]) == ["reinforce", "reinforce", figures.RANDOM]


def test_epoch_comparison_matches_analysis():
    """The table's difference is compare_groups(epoch 1, last) in points, with its p-value."""
    ep1, last = [.80, .82, .81], [.83, .85, .84]
    t = figures.epoch_comparison(finals_frame(ep1, last, [.7, .71, .72]))
    c = analysis.compare_groups(ep1, last)
    row = t.loc[("macro", "reinforce")]
    assert row["epoch 1 (%)"] == "81.00" and row["last (%)"] == "84.00"
    assert row["last − epoch 1, points [95% CI], Welch p"].startswith(f"{100 * c.difference.value:.2f} [")
    assert row["last − epoch 1, points [95% CI], Welch p"].endswith(f"p = {c.welch_p:.3f}")
    assert row["note"] == ""


def test_too_few_seeds_give_na_and_a_note():
    """With one seed each statistic is n/a and the note says why; table() moves a shared note into the caption."""
    t = figures.epoch_comparison(finals_frame([.5], [.6], [.4]))
    assert t.iloc[0]["epoch 1 (%)"] == "n/a" and "fewer than 3 values" in t.iloc[0]["note"]
    styled = figures.table(t, CAPTION)
    assert "note" not in styled.data.columns and "Every statistic n/a here: fewer than 3 values" in styled.caption


def test_versus_random_matches_analysis():
    """RI and P(beats random) per pick are analysis' relative_improvement and prob_beats_random."""
    ep1, last, random = [.80, .82, .81], [.83, .85, .84], [.70, .90, .75]
    t = figures.versus_random(finals_frame(ep1, last, random))
    ri = analysis.relative_improvement(last, random)
    pb = analysis.prob_beats_random(last, random)
    row = t.loc[("macro", "reinforce", "epoch 20 (last)")]
    assert row["RI (%) [95% CI], Welch p"].startswith(f"{ri.value:.2f} [")
    assert row["P(beats random) [95% CI], Mann–Whitney p"].startswith(f"{pb.value:.2f} [")
    assert row["n (picks, random)"] == "3, 3"


def test_learning_curve_table_pivots_picks():
    """One row per space, controller and seed; columns epoch 1, last and random, in percent."""
    t = figures.learning_curve_table(finals_frame([.5, .6], [.7, .8], [.4]))
    assert list(t.columns) == ["epoch 1", "epoch 20 (last)", figures.RANDOM]
    assert t.loc[("macro", "reinforce", 1), "epoch 20 (last)"] == pytest.approx(80.0)


def test_thesis_tables_as_printed():
    """The thesis' tables carry its numbers as printed, under a header naming the table."""
    t1, t2, t3 = figures.thesis_table(1), figures.thesis_table(2), figures.thesis_table(3)
    assert t1.columns[0] == ("thesis, Table 1", "dataset") and t1.iloc[0, -1] == 80.55
    assert t2.iloc[0, -1] == "96.69, 95.80, 95.71" and len(t2) == 6
    assert list(t3.iloc[:, 2]) == [41.41, 32.81, 17.97, 21.09, 28.12]
    with pytest.raises(ValueError, match="argument `number`"):
        figures.thesis_table(4)


def test_thesis_rank_statistics_are_computed_from_table3():
    """Kendall's tau of the thesis' five points is computed here (-0.2: 4 concordant, 6 discordant pairs)."""
    t = figures.thesis_rank_table()
    assert t.iloc[0]["n"] == 5 and t.iloc[0]["Kendall τ [95% CI], p"].startswith("-0.20 [")
    assert t.iloc[0]["k"] == figures.top_k(5) == 2


def test_beside_thesis_table2_puts_our_seeds_next_to_its_runs():
    """Rows per space and sampled epoch: the thesis' CIFAR runs and ours (reinforce, one value per seed)."""
    t = figures.beside_thesis_table2(finals_frame([.5, .6], [.7, .8], [.4]), "Fashion-MNIST, cpu scale")
    assert t.loc[("macro", 1), "ours: Fashion-MNIST, cpu scale"] == "50.00, 60.00"
    assert t.loc[("macro", 310), "sampled epoch (ours)"] == "20"
    assert t.loc[("micro", 310), "thesis: CIFAR-100"] == "80.50, 80.02"
    assert t.loc[("micro", 310), "ours: Fashion-MNIST, cpu scale"] == ""


def test_rank_table_per_seed_and_pooled():
    """A row per seed and a pooled row; perfectly concordant accuracies give tau = rho = precision@k = 1."""
    rows = [{"space": "macro", "seed": s, "shared_acc": 0.1 * i + s, "test_acc": 0.5 + 0.01 * i + s}
            for s in (0, 1) for i in range(7)]
    t = figures.rank_table(pd.DataFrame(rows))
    assert list(t.index) == [("macro", "0"), ("macro", "1"), ("macro", "pooled")]
    assert t.loc[("macro", "pooled"), "n"] == 14 and t.loc[("macro", "pooled"), "k"] == 5
    assert t.loc[("macro", "0"), "Kendall τ [95% CI], p"].startswith("1.00 [1.00, 1.00]")
    assert t.loc[("macro", "0"), "precision@k [95% CI]"].startswith("1.00")


def transfer_finals():
    """Fresh, transferred and uniform target searches' picks at epochs 1 and 3 (two seeds), and random arcs."""
    rows = []
    for role, base in (("fresh", .80), ("transfer", .81), ("uniform", .79)):
        for seed in (0, 1):
            for epoch in (1, 3):
                parent = f"macro-target-{role}-s{seed}"
                rows.append({"label": f"{parent}-ep{epoch}best", "parent": parent, "space": "macro",
                             "mode": "uniform" if role == "uniform" else "reinforce", "seed": seed,
                             "source_epoch": epoch, "test_acc": base + 0.01 * seed})
    rows += [{"label": f"macro-random-c5_6-s{s}", "parent": None, "space": "macro", "mode": "reinforce", "seed": s,
              "source_epoch": np.nan, "test_acc": 0.7} for s in (0, 1)]
    return pd.DataFrame(rows)


def test_transfer_roles_come_from_labels():
    """Roles: source, fresh, transferred, uniform from a label (or its parent's); random for no parent."""
    assert figures.transfer_role("macro-bug-target-transfer-s3") == "transferred"
    assert figures.transfer_role("macro-source-s0") == "source" and figures.transfer_role("macro-random-s0") == ""
    roles = figures.with_roles(transfer_finals())["role"]
    assert list(dict.fromkeys(roles)) == ["fresh", "transferred", "uniform", figures.RANDOM]


def test_transfer_table_orders_controllers_and_puts_random_last():
    """Per sampled epoch: fresh, transferred, uniform (values per seed and mean), then the random architectures."""
    t = figures.transfer_table(transfer_finals())
    assert list(t.index) == [("macro", "1", "fresh"), ("macro", "1", "transferred"), ("macro", "1", "uniform"),
                             ("macro", "3", "fresh"), ("macro", "3", "transferred"), ("macro", "3", "uniform"),
                             ("macro", "", figures.RANDOM)]
    assert t.loc[("macro", "1", "transferred"), "per seed (%)"] == "81.00, 82.00"
    assert t.loc[("macro", "", figures.RANDOM), "mean (%)"] == "70.00"


def test_transfer_comparison_and_text():
    """Fresh vs transferred per epoch: n per side; two seeds are too few and the sentence says so."""
    t = figures.transfer_comparison(transfer_finals())
    assert list(t.index) == [("macro", 1), ("macro", 3)] and t.iloc[0]["n (fresh, transferred)"] == "2, 2"
    text = figures.transfer_text(transfer_finals())
    assert text.splitlines()[0].startswith("- macro, picked at epoch 1: the fresh controllers’ architectures and "
                                           "the transferred ones are too few to compare (n = 2 and 2")


def test_learning_curve_and_estimation_texts_carry_computed_numbers():
    """The sentences quote the means and statistics computed from the frames."""
    text = figures.learning_curve_text(finals_frame([.80, .82, .81], [.83, .85, .84], [.7]))
    assert "retrained to 81.00% on average and those of epoch 20 to 84.00%" in text and "Welch p = " in text
    rows = [{"space": "micro", "seed": 0, "shared_acc": 0.1 * i, "test_acc": 0.9 - 0.01 * i} for i in range(5)]
    assert figures.estimation_text(pd.DataFrame(rows)).startswith(
        "- micro: over 5 architectures from 1 search, Kendall τ = -1.00 [")


def test_table_caption_and_hidden_range_index():
    """table() captions the frame and hides a plain 0..n-1 index."""
    html = figures.table(pd.DataFrame({"a": [1.234]}), CAPTION).to_html()
    assert CAPTION in html and "1.23" in html and 'class="row_heading' not in html


@pytest.mark.parametrize("build", [
    lambda: figures.search_curves(searches_frame(), CAPTION),
    lambda: figures.op_chart(searches_frame(), CAPTION),
    lambda: figures.retrain_curves(finals_frame([.5, .6], [.7, .8], [.4]).assign(epoch=1), CAPTION),
    lambda: figures.final_accuracy_chart(finals_frame([.5, .6], [.7, .8], [.4]), CAPTION),
    lambda: figures.estimation_scatter(finals_frame([.5, .6], [.7, .8], []), CAPTION),
    lambda: figures.transfer_chart(transfer_finals(), CAPTION),
    lambda: figures.search_curves(figures.with_roles(searches_frame()), CAPTION, by="mode"),
])
def test_charts_render_offline_with_their_caption(build):
    """Every chart renders to SVG with no network and carries the caption's text as its subtitle."""
    svg = charts.to_svg(build())
    assert svg.startswith("<svg") and "Scale test, Fashion-MNIST." in svg


def test_empty_frames_draw_a_placeholder():
    """A chart of no rows says there are no finished runs instead of failing."""
    svg = charts.to_svg(figures.search_curves(searches_frame().iloc[:0], CAPTION))
    assert "no finished runs yet" in svg


def test_top_k_is_a_third_rounded_up():
    """precision@k uses k = ceil(n / 3), at least 1."""
    assert [figures.top_k(n) for n in (1, 3, 7, 21)] == [1, 1, 3, 7] and math.ceil(7 / 3) == 3


def estimation_finals():
    """Rescored picks of three searches (ranks 1-4; test accuracy follows params, not shared accuracy) and random
    architectures."""
    rows = []
    for seed in (0, 1, 2):
        for rank in range(1, 5):
            rows.append({"label": f"macro-reinforce-s{seed}-ep10-n20-rank{rank:02d}", "parent": f"r{seed}",
                         "space": "macro", "seed": seed, "shared_acc": 0.5 - 0.05 * rank + 0.01 * seed,
                         "params": 1000 * rank + seed, "test_acc": 0.80 + 0.01 * rank + 0.001 * seed})
    rows += [{"label": f"macro-random-s{i}", "parent": None, "space": "macro", "seed": i, "shared_acc": np.nan,
              "params": 500.0, "test_acc": a} for i, a in enumerate((0.78, 0.79, 0.80))]
    return pd.DataFrame(rows)


def test_proxy_table_compares_shared_weights_with_parameter_count():
    t = figures.proxy_table(estimation_finals())
    f = estimation_finals().dropna(subset=["shared_acc"])
    for name, column in (("shared-weight accuracy", "shared_acc"), ("parameter count", "params")):
        tau = analysis.kendall_tau(f[column], f["test_acc"]).value
        assert t.loc[("macro", name), "Kendall τ [95% CI], p"].startswith(f"{tau:.2f} [")
        assert t.loc[("macro", name), "n"] == 12


def test_estimation_vs_random_uses_rank1_and_all_picks():
    t = figures.estimation_vs_random(estimation_finals())
    assert list(t.index.get_level_values("architectures")) == ["best by shared weights (rank 1)",
                                                               "all rescored picks"]
    best = t.loc[("macro", "best by shared weights (rank 1)")]
    assert best["n (picks, random)"] == "3, 3" and best["random mean (%)"] == "79.00"
    ri = analysis.relative_improvement([0.81, 0.811, 0.812], [0.78, 0.79, 0.80])
    assert best["RI (%) [95% CI], Welch p"].startswith(f"{ri.value:.2f} [")
    assert figures.estimation_vs_random(estimation_finals().iloc[:0]).empty
