import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from enaslite import analysis as A
from enaslite.analysis import AnalysisWarning

B = 300  # resamples where the interval is not what a test checks: keeps the suite quick on two shared cores

# Shared-weight (x) and retrained (y) accuracies of eight architectures, with ties on both sides.
X = np.array([0.61, 0.64, 0.64, 0.70, 0.72, 0.75, 0.75, 0.80])
Y = np.array([0.90, 0.91, 0.89, 0.92, 0.92, 0.93, 0.94, 0.935])

PAIRED = [A.kendall_tau, A.spearman_rho, A.sparse_kendall_tau, lambda x, y, **kw: A.precision_at_k(x, y, 2, **kw)]
TWO = [A.relative_improvement, A.prob_beats_random]


def test_kendall_tau_matches_scipy_with_ties():
    """Kendall tau-b and its p-value are scipy's, ties included."""
    ref = stats.kendalltau(X, Y)
    est = A.kendall_tau(X, Y, n_boot=B)
    assert est.value == pytest.approx(ref.statistic) and est.p_value == pytest.approx(ref.pvalue)
    assert est.n == 8


def test_kendall_tau_b_hand_case_with_ties():
    """x = [1, 2, 2, 3], y = [1, 3, 2, 3]: 4 concordant, 0 discordant, one tie each side: 4 / sqrt(5 * 5)."""
    assert A.kendall_tau([1, 2, 2, 3], [1, 3, 2, 3], n_boot=B).value == pytest.approx(0.8)


def test_spearman_matches_scipy_and_hand_case():
    """Spearman's rho and p are scipy's; on [1..5] vs [2, 1, 4, 3, 5] it is 1 - 6 * 4 / (5 * 24) = 0.8."""
    ref = stats.spearmanr(X, Y)
    est = A.spearman_rho(X, Y, n_boot=B)
    assert est.value == pytest.approx(ref.statistic) and est.p_value == pytest.approx(ref.pvalue)
    assert A.spearman_rho([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], n_boot=B).value == pytest.approx(0.8)


def test_sparse_tau_merges_near_ties():
    """Bins of 0.01 put 0.901/0.905 and 0.912/0.910 together, so the one flip becomes a tie: tau 4/6 -> 1."""
    x, y = [0.901, 0.905, 0.921, 0.935], [0.912, 0.910, 0.933, 0.951]
    assert A.kendall_tau(x, y, n_boot=B).value == pytest.approx(4 / 6)
    est = A.sparse_kendall_tau(x, y, 0.01, n_boot=B)
    assert est.value == pytest.approx(1.0) and est.params == {"precision": 0.01}
    assert A.sparse_kendall_tau(x, y, 0.001, n_boot=B).value == pytest.approx(4 / 6)  # fine bins keep the flip


def test_sparse_tau_bins_exact_multiples_correctly():
    """0.29 / 0.01 is 28.999... in floating point; it must still share bin 29 with 0.2999 (tau-b 2 / sqrt(6))."""
    est = A.sparse_kendall_tau([0.29, 0.2999, 0.31], [0.50, 0.40, 0.60], 0.01, n_boot=B)
    assert est.value == pytest.approx(2 / math.sqrt(6))


def test_sparse_tau_p_value_is_scipys_on_the_bins():
    """The p-value is scipy's tau test on floor(acc / precision)."""
    ref = stats.kendalltau(np.floor(np.round(X / 0.05, 9)), np.floor(np.round(Y / 0.05, 9)))
    est = A.sparse_kendall_tau(X, Y, 0.05, n_boot=B)
    assert est.value == pytest.approx(ref.statistic) and est.p_value == pytest.approx(ref.pvalue)


@pytest.mark.parametrize("k, expected", [(1, 0.0), (2, 0.5), (3, 1.0), (5, 1.0)])
def test_precision_at_k_hand_cases(k, expected):
    """Top-k by x is {0}, {0,1}, {0,1,2}; by y {1}, {1,2}, {1,2,0}: overlaps 0, 1/2, 3/3, 5/5."""
    x, y = [0.9, 0.8, 0.7, 0.6, 0.5], [0.7, 0.9, 0.8, 0.5, 0.6]
    est = A.precision_at_k(x, y, k, n_boot=B)
    assert est.value == pytest.approx(expected) and est.params == {"k": k} and math.isnan(est.p_value)


def test_relative_improvement_hand_cases():
    """RI = 100 (96 - 95) / 95; Yang et al.'s ENAS CIFAR-100 means 78.02 vs 80.80 give -3.44 %."""
    est = A.relative_improvement([0.96, 0.95, 0.97], [0.94, 0.96, 0.95], n_boot=B)
    assert est.value == pytest.approx(100 / 95) and est.n == (3, 3)
    assert est.p_value == pytest.approx(stats.ttest_ind([0.96, 0.95, 0.97], [0.94, 0.96, 0.95],
                                                         equal_var=False).pvalue)
    paper = A.relative_improvement([77.02, 78.02, 79.02], [79.80, 80.80, 81.80], n_boot=B)
    assert paper.value == pytest.approx(100 * (78.02 - 80.80) / 80.80)


def test_prob_beats_random_hand_case_with_ties():
    """Of the 9 seed pairs the method wins 6 and ties 2 (0.5 each): 7/9; equals scipy's U / (3 * 3)."""
    m, r = [0.96, 0.95, 0.97], [0.94, 0.96, 0.95]
    est = A.prob_beats_random(m, r, n_boot=B)
    assert est.value == pytest.approx(7 / 9)
    assert est.value == pytest.approx(stats.mannwhitneyu(m, r).statistic / 9)
    assert est.p_value == pytest.approx(stats.mannwhitneyu(m, r).pvalue)


def test_compare_groups_matches_scipy_and_hand_effect_sizes():
    """Welch and Mann-Whitney p are scipy's; [1,2,3] vs [3,4,5]: b - a = 2, g = 2 * (1 - 3/15), delta = 8/9."""
    a, b = np.array([1.0, 2, 3]), np.array([3.0, 4, 5])
    c = A.compare_groups(a, b, n_boot=B)
    assert c.welch_p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert c.mannwhitney_p == pytest.approx(stats.mannwhitneyu(a, b).pvalue)
    assert (c.mean_a, c.mean_b, c.difference.value) == pytest.approx((2, 4, 2))
    assert c.hedges_g == pytest.approx(1.6) and c.cliffs_delta.value == pytest.approx(8 / 9)
    assert c.difference.p_value == c.welch_p and c.cliffs_delta.p_value == c.mannwhitney_p


def test_compare_groups_on_real_sized_samples_matches_scipy():
    """On unequal samples with ties, both p-values match scipy and Cliff's delta is P(b > a) - P(b < a)."""
    a = np.array([0.881, 0.874, 0.890, 0.874, 0.869, 0.885])
    b = np.array([0.892, 0.880, 0.874, 0.901, 0.895])
    c = A.compare_groups(a, b, n_boot=B)
    assert c.welch_p == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert c.mannwhitney_p == pytest.approx(stats.mannwhitneyu(b, a).pvalue)
    d = np.sign(b[:, None] - a[None, :])
    assert c.cliffs_delta.value == pytest.approx(d.mean())


def test_noise_vs_spread_hand_cases():
    """Seed SD 0.01; architecture SD sqrt(0.009 / 4) ~ 0.047 is > 2x noise; sqrt(0.00025 / 4) ~ 0.008 is not."""
    cal = A.noise_vs_spread([0.90, 0.91, 0.92], [0.85, 0.88, 0.91, 0.94, 0.97])
    assert cal.noise == pytest.approx(0.01) and cal.spread == pytest.approx(math.sqrt(0.009 / 4))
    assert cal.ratio == pytest.approx(math.sqrt(0.009 / 4) / 0.01) and cal.distinguishable
    assert (cal.n_seeds, cal.n_archs) == (3, 5) and "2.0" in cal.rule
    close = A.noise_vs_spread([0.90, 0.91, 0.92], [0.90, 0.91, 0.92, 0.905, 0.915])
    assert close.spread == pytest.approx(math.sqrt(0.00025 / 4)) and not close.distinguishable


@pytest.mark.parametrize("fn", PAIRED)
def test_paired_intervals_contain_value_and_repeat(fn):
    """Each paired interval brackets its point estimate and is the same for the same seed."""
    one, two = fn(X, Y, n_boot=B, seed=3), fn(X, Y, n_boot=B, seed=3)
    assert one == two and one.low <= one.value <= one.high


@pytest.mark.parametrize("fn", TWO)
def test_two_sample_intervals_contain_value_and_repeat(fn):
    """RI's and P(beat)'s intervals bracket the estimate and are the same for the same seed."""
    m, r = [0.955, 0.96, 0.951, 0.948, 0.962], [0.951, 0.945, 0.95, 0.957, 0.94]
    one, two = fn(m, r, n_boot=B, seed=5), fn(m, r, n_boot=B, seed=5)
    assert one == two and one.low <= one.value <= one.high


def test_default_bootstrap_is_seeded_and_seed_matters():
    """With the defaults (2000 resamples, seed 0) a call repeats exactly; another seed moves the interval."""
    assert A.kendall_tau(X, Y) == A.kendall_tau(X, Y)
    one, two = A.relative_improvement(Y, X), A.relative_improvement(Y, X, seed=1)
    assert one == A.relative_improvement(Y, X, n_boot=2000, seed=0) and (one.low, one.high) != (two.low, two.high)


def test_compare_groups_intervals_contain_values_and_match_scipy_bootstrap():
    """The mean-difference interval brackets b - a and is close to scipy.stats.bootstrap's percentile one."""
    a = np.array([0.881, 0.874, 0.890, 0.874, 0.869, 0.885, 0.878])
    b = np.array([0.892, 0.880, 0.874, 0.901, 0.895, 0.889])
    c = A.compare_groups(a, b)
    assert c.difference.low <= c.difference.value <= c.difference.high
    assert c.cliffs_delta.low <= c.cliffs_delta.value <= c.cliffs_delta.high
    ref = stats.bootstrap((a, b), lambda p, q, axis: q.mean(axis) - p.mean(axis), method="percentile",
                          n_resamples=2000, rng=0).confidence_interval
    assert (c.difference.low, c.difference.high) == pytest.approx((ref.low, ref.high), abs=5e-4)


def test_small_sample_interval_survives_undefined_resamples():
    """At 5 pairs some resamples are all one pair (tau undefined); they are dropped, so the interval is finite."""
    est = A.kendall_tau([0.90, 0.91, 0.92, 0.93, 0.94], [0.91, 0.90, 0.93, 0.95, 0.94])
    assert np.isfinite([est.low, est.high]).all() and est.low <= est.value <= est.high


def test_bootstrap_with_mostly_undefined_resamples_warns_and_gives_nan():
    """When most resamples are undefined the interval is NaN, with a warning."""
    with pytest.warns(AnalysisWarning, match="bootstrap resamples are defined"):
        assert all(map(math.isnan, A._bootstrap("t", lambda a: np.nan, (np.arange(5.0),), True, 10, 0)))


@pytest.mark.parametrize("fn", PAIRED)
@pytest.mark.parametrize("x, y, why", [([0.9, 0.8], [0.9, 0.7], "fewer than 3"),
                                       ([0.9, 0.9, 0.9], [0.9, 0.8, 0.7], "zero variance"),
                                       ([0.9, np.nan, 0.7], [0.9, 0.8, 0.7], "contains NaN")])
def test_paired_degenerate_inputs_give_nan_and_warn(fn, x, y, why):
    """Too few pairs, a constant side or a NaN give NaN with a warning saying why, not an exception."""
    with pytest.warns(AnalysisWarning, match=why):
        est = fn(x, y, n_boot=B)
    assert all(map(math.isnan, (est.value, est.low, est.high, est.p_value)))


def test_sparse_tau_one_bin_gives_nan_and_warns():
    """When rounding puts every architecture in one bin, sparse tau is undefined."""
    with pytest.warns(AnalysisWarning, match="one bin"):
        assert math.isnan(A.sparse_kendall_tau([0.901, 0.902, 0.903], [0.1, 0.2, 0.3], n_boot=B).value)


@pytest.mark.parametrize("fn", TWO + [A.compare_groups, A.noise_vs_spread])
@pytest.mark.parametrize("a, b, why", [([0.9, 0.8], [0.9, 0.7, 0.8], "fewer than 3"),
                                       ([0.9, 0.8, 0.7], [0.9, np.nan, 0.7], "contains NaN")])
def test_two_sample_degenerate_inputs_give_nan_and_warn(fn, a, b, why):
    """Two-sample statistics give NaN with a warning on too few runs or a NaN."""
    with pytest.warns(AnalysisWarning, match=why):
        res = fn(a, b) if fn is A.noise_vs_spread else fn(a, b, n_boot=B)
    value = {A.compare_groups: lambda c: c.difference.value, A.noise_vs_spread: lambda c: c.ratio}.get(
        fn, lambda e: e.value)(res)
    assert math.isnan(value)


def test_zero_variance_two_samples():
    """Constant groups: Welch's p, Hedges' g and the calibration ratio are NaN (warned); rank effects still hold."""
    with pytest.warns(AnalysisWarning, match="zero variance"):
        c = A.compare_groups([0.9, 0.9, 0.9], [0.8, 0.8, 0.8], n_boot=B)
    assert math.isnan(c.welch_p) and math.isnan(c.hedges_g) and c.cliffs_delta.value == -1.0
    with pytest.warns(AnalysisWarning, match="zero variance"):
        ri = A.relative_improvement([0.9, 0.9, 0.9], [0.8, 0.8, 0.8], n_boot=B)
    assert ri.value == pytest.approx(12.5) and math.isnan(ri.p_value)
    with pytest.warns(AnalysisWarning, match="zero variance"):
        cal = A.noise_vs_spread([0.9, 0.9, 0.9], [0.8, 0.8, 0.8])
    assert math.isnan(cal.ratio) and not cal.distinguishable
    assert A.prob_beats_random([0.9, 0.9, 0.9], [0.9, 0.9, 0.9], n_boot=B).value == 0.5  # all ties, no warning


def test_relative_improvement_zero_random_mean_warns():
    """A random baseline averaging 0 makes RI undefined."""
    with pytest.warns(AnalysisWarning, match="mean"):
        assert math.isnan(A.relative_improvement([0.1, 0.2, 0.3], [0.0, 0.0, 0.0], n_boot=B).value)


def test_malformed_input_raises_value_error():
    """Non-1-D input, lengths that differ and bad k / precision / n_boot raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=r"argument `x`: expected a 1-D array, received shape \(2, 2\)"):
        A.kendall_tau([[1, 2], [3, 4]], [1, 2])
    with pytest.raises(ValueError, match="argument `y`: expected 3 values .*, received 2"):
        A.spearman_rho([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="argument `random_acc`: expected a 1-D array"):
        A.relative_improvement([1, 2, 3], 0.5)
    with pytest.raises(ValueError, match="argument `k`"):
        A.precision_at_k([1, 2, 3], [1, 2, 3], 4)
    with pytest.raises(ValueError, match="argument `precision`"):
        A.sparse_kendall_tau([1, 2, 3], [1, 2, 3], 0)
    with pytest.raises(ValueError, match="argument `n_boot`"):
        A.kendall_tau([1, 2, 3], [1, 3, 2], n_boot=0)


def test_rank_agreement_table_and_pandas_input():
    """The four paired statistics as one DataFrame, from pandas Series, with k and precision as columns."""
    table = A.rank_agreement(pd.Series(X), pd.Series(Y), k=3, n_boot=B)
    assert list(table.index) == ["kendall_tau", "spearman_rho", "sparse_kendall_tau", "precision_at_k"]
    assert table.loc["kendall_tau", "value"] == pytest.approx(stats.kendalltau(X, Y).statistic)
    assert table.loc["sparse_kendall_tau", "precision"] == 0.01 and table.loc["precision_at_k", "k"] == 3
    assert A.kendall_tau(X, Y, n_boot=B).as_dict().keys() == {"value", "low", "high", "n", "p_value"}


def test_op_effect_hand_case_and_inert_ops():
    from enaslite.analysis import op_effect
    acc = np.array([[0.80, 0.82, 0.84], [0.70, 0.70, 0.73]])
    e = op_effect(acc)
    grand = acc.mean()
    ss_total = ((acc - grand) ** 2).sum()
    ss_within = ((acc - acc.mean(1, keepdims=True)) ** 2).sum()
    assert e.ops_share == pytest.approx(ss_within / ss_total)
    assert e.max_range == pytest.approx(0.04) and (e.n_patterns, e.n_variants) == (2, 3)
    assert e.friedman_p == pytest.approx(stats.friedmanchisquare(*acc.T).pvalue)
    with pytest.warns(AnalysisWarning, match="all ties"):
        inert = op_effect(np.array([[0.8, 0.8, 0.8], [0.7, 0.7, 0.7], [0.75, 0.75, 0.75]]))
    assert inert.ops_share == 0.0 and inert.within_sd == 0.0 and inert.max_range == 0.0
    assert np.isnan(inert.friedman_p) and inert.between_sd > 0
    with pytest.warns(AnalysisWarning, match="fewer than 2 patterns"):
        assert np.isnan(op_effect(np.array([[0.8, 0.9]])).ops_share)
    with pytest.raises(ValueError, match="argument `acc`"):
        op_effect([0.8, 0.9])
