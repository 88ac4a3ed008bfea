"""Statistics for judging weight-sharing NAS the way later studies did (see the book's evaluation methods).

- Shared-weight accuracy `x` against retrained accuracy `y` of the same architectures: `kendall_tau`,
  `spearman_rho`, `sparse_kendall_tau` (Yu, Ranftl, Salzmann 2020) and `precision_at_k`.
- A method against random search (Yang, Esperança, Carlucci 2020): `relative_improvement`, `prob_beats_random`.
- Two independent samples (e.g. retrained accuracy of epoch-1 vs last-epoch architectures): `compare_groups`.
- The retrain budget's calibration: `noise_vs_spread`.
- Whether the ops of a macro architecture change its shared-weight accuracy (the reference bug): `op_effect`.

Each statistic comes with a seeded 95% percentile-bootstrap interval; at the 3 to 8 seeds of these studies such
intervals are too narrow (they undercover), so read them beside the p-values, not instead of them. Tests and point
estimates are scipy's; this module adds only what scipy lacks (sparse tau, precision@k, RI, Hedges' g, the
calibration verdict, the op-effect decomposition) and a bootstrap that skips undefined resamples (`_bootstrap`). Pure functions on 1-D arrays;
nothing here imports Keras.

Degenerate input never raises: fewer than 3 values, a NaN, or zero variance where the statistic needs variance give
NaN and an `AnalysisWarning` saying why. Malformed input (not 1-D, lengths that differ) raises ValueError.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

MIN_N = 3  # fewer points give no rank statistic or interval worth reporting
LEVEL = 0.95
NAN = float("nan")


class AnalysisWarning(UserWarning):
    """A statistic was undefined for its input and is reported as NaN."""


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap 95% interval [`low`, `high`]. `n`: pairs, or (n_a, n_b) for two samples.
    `p_value`: of the scipy test named in the function's docstring (NaN where none). `params`: e.g. {"k": 5}."""
    value: float
    low: float
    high: float
    n: int | tuple[int, int]
    p_value: float = NAN
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        return {**{k: v for k, v in d.items() if k != "params"}, **d["params"]}


@dataclass(frozen=True)
class Comparison:
    """`compare_groups`' result: group means, b − a with its interval (p: Welch), the test p-values, Hedges' g,
    and Cliff's delta with its interval (p: Mann–Whitney)."""
    mean_a: float
    mean_b: float
    difference: Estimate
    welch_p: float
    mannwhitney_p: float
    hedges_g: float
    cliffs_delta: Estimate


@dataclass(frozen=True)
class Calibration:
    """`noise_vs_spread`' result; `rule` is the verdict's rule in words."""
    noise: float
    spread: float
    ratio: float
    distinguishable: bool
    n_seeds: int
    n_archs: int
    rule: str


@dataclass(frozen=True)
class OpEffect:
    """`op_effect`'s result. `ops_share`: the share of the accuracies' variance (sum of squares) that lies within
    patterns, i.e. that changing only the ops moves; `within_sd` / `between_sd`: the mean within-pattern SD and the
    SD of the pattern means; `max_range`: the largest within-pattern max − min; `friedman_p`: Friedman's test of
    "the variants score alike" with patterns as blocks (NaN, with a warning, when it is undefined)."""
    ops_share: float
    within_sd: float
    between_sd: float
    max_range: float
    friedman_p: float
    n_patterns: int
    n_variants: int


def _arg_error(name, expected, received) -> ValueError:
    return ValueError(f"argument `{name}`: expected {expected}, received {received}")


def _vector(name, v) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim != 1:
        raise _arg_error(name, "a 1-D array", f"shape {a.shape}")
    return a


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = _vector("x", x), _vector("y", y)
    if len(y) != len(x):
        raise _arg_error("y", f"{len(x)} values (as many as `x`)", f"{len(y)}")
    return x, y


def _check_int(name, v, lo, hi=None):
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi)):
        raise _arg_error(name, f"an int in [{lo}, {hi}]" if hi is not None else f"an int >= {lo}", repr(v))


def _undefined(fn: str, why: str, what: str = "the result is") -> bool:
    warnings.warn(f"{fn}: {why}; {what} NaN", AnalysisWarning, stacklevel=3)
    return True


def _degenerate(fn: str, named: dict, constant_ok: bool = False) -> bool:
    """Warns and returns True when a statistic of `named` arrays is undefined."""
    for name, a in named.items():
        if np.isnan(a).any():
            return _undefined(fn, f"`{name}` contains NaN (drop those runs first)")
        if len(a) < MIN_N:
            return _undefined(fn, f"fewer than {MIN_N} values in `{name}` ({len(a)})")
    for name, a in named.items():
        if not constant_ok and np.ptp(a) == 0:
            return _undefined(fn, f"`{name}` has zero variance (all values equal)")
    return False


def _bootstrap(fn, stat, samples, paired: bool, n_boot: int, seed) -> tuple[float, float]:
    """Percentile interval of `stat(*samples)` over `n_boot` seeded resamples: pairs resampled together (`paired`),
    else each sample on its own. Written here rather than scipy.stats.bootstrap because scipy returns a NaN
    interval when any resample's statistic is undefined, e.g. a resample of identical pairs for tau, which at
    n ≈ 5 pairs happens in almost every run of 2000; such resamples are dropped here instead."""
    _check_int("n_boot", n_boot, 1)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # scipy's constant-input warnings for the dropped resamples
        for b in range(n_boot):
            if paired:
                i = rng.integers(0, len(samples[0]), len(samples[0]))
                draws[b] = stat(*(s[i] for s in samples))
            else:
                draws[b] = stat(*(s[rng.integers(0, len(s), len(s))] for s in samples))
    draws = draws[np.isfinite(draws)]
    if len(draws) < n_boot / 2:  # an interval over a minority of resamples would be a biased one
        _undefined(fn, f"only {len(draws)} of {n_boot} bootstrap resamples are defined", "the interval is")
        return NAN, NAN
    low, high = np.percentile(draws, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return float(low), float(high)


def _paired_estimate(fn, stat, x, y, n_boot, seed, params=None, test=None, bin_=None) -> Estimate:
    x, y = _pair(x, y)
    params = params or {}
    if _degenerate(fn, {"x": x, "y": y}):
        return Estimate(NAN, NAN, NAN, len(x), NAN, params)
    if bin_ is not None:
        x, y = bin_(x), bin_(y)
        if min(np.ptp(x), np.ptp(y)) == 0:
            _undefined(fn, f"all of `x` or all of `y` fall in one bin at {params}")
            return Estimate(NAN, NAN, NAN, len(x), NAN, params)
    value = stat(x, y)
    low, high = _bootstrap(fn, stat, (x, y), True, n_boot, seed)
    return Estimate(float(value), low, high, len(x), float(test(x, y)) if test else NAN, params)


def _tau(x, y):
    return stats.kendalltau(x, y, method="asymptotic").statistic


def kendall_tau(x, y, *, n_boot: int = 2000, seed=0) -> Estimate:
    """Kendall tau-b (ties counted as scipy.stats.kendalltau does) of shared-weight `x` vs retrained `y`; p: scipy's
    test of tau = 0."""
    return _paired_estimate("kendall_tau", _tau, x, y, n_boot, seed, test=lambda a, b: stats.kendalltau(a, b).pvalue)


def spearman_rho(x, y, *, n_boot: int = 2000, seed=0) -> Estimate:
    """Spearman's rho (scipy.stats.spearmanr) of `x` vs `y`; p: scipy's test of rho = 0."""
    return _paired_estimate("spearman_rho", lambda a, b: stats.spearmanr(a, b).statistic, x, y, n_boot, seed,
                            test=lambda a, b: stats.spearmanr(a, b).pvalue)


def sparse_kendall_tau(x, y, precision: float = 0.01, *, n_boot: int = 2000, seed=0) -> Estimate:
    """Sparse Kendall tau (Yu, Ranftl, Salzmann 2020): both accuracies are binned to floor(acc / `precision`)
    (as their `sparse_rank_by_simple_bin` does) and tau-b is taken of the bins, so two architectures within one bin
    are a tie, not a flip. `precision` is in the accuracies' units (0.01 = one point for fractions) and is returned
    in `params`. Unlike their code, `x` is binned too (its noise is no smaller) and nothing is rescaled from
    percent. Not in scipy; p: scipy's tau test on the bins."""
    if not (isinstance(precision, (int, float)) and np.isfinite(precision) and precision > 0):
        raise _arg_error("precision", "a positive number", repr(precision))
    # Rounding before floor: 0.29 / 0.01 is 28.999999999999996 in floating point, which must land in bin 29.
    bin_ = lambda a: np.floor(np.round(a / precision, 9))  # noqa: E731
    return _paired_estimate("sparse_kendall_tau", _tau, x, y, n_boot, seed, {"precision": precision},
                            test=lambda a, b: stats.kendalltau(a, b).pvalue, bin_=bin_)


def _top(a, k):
    return set(np.argsort(-a, kind="stable")[:k])  # ties go to the earlier index: deterministic


def precision_at_k(x, y, k: int, *, n_boot: int = 2000, seed=0) -> Estimate:
    """Fraction of the top `k` by `x` that are also in the top `k` by `y` (ties broken by position). Not in scipy;
    no p-value. An interval from resampled pairs may count a duplicated architecture twice."""
    x, y = _pair(x, y)
    _check_int("k", k, 1, max(len(x), 1))
    stat = lambda a, b: len(_top(a, k) & _top(b, k)) / k  # noqa: E731
    return _paired_estimate("precision_at_k", stat, x, y, n_boot, seed, {"k": k})


def _two(fn, a, b, names):
    """Two independent samples; all-equal values are fine here (a statistic that then needs variance checks)."""
    a, b = _vector(names[0], a), _vector(names[1], b)
    return a, b, _degenerate(fn, {names[0]: a, names[1]: b}, constant_ok=True)


def _welch_p(fn, a, b, what="Welch's p is") -> float:
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # Welch's standard error is 0: t is ±inf and p says nothing
        _undefined(fn, "both samples have zero variance", what)
        return NAN
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def relative_improvement(method_acc, random_acc, *, n_boot: int = 2000, seed=0) -> Estimate:
    """RI = 100 · (mean(method) − mean(random)) / mean(random), in percent (Yang et al. 2020); seeds of each side
    resampled independently. Not in scipy; p: Welch's t-test (scipy.stats.ttest_ind, equal_var=False)."""
    m, r, bad = _two("relative_improvement", method_acc, random_acc, ("method_acc", "random_acc"))
    if not bad and r.mean() == 0:
        bad = _undefined("relative_improvement", "mean(random_acc) is 0")
    if bad:
        return Estimate(NAN, NAN, NAN, (len(m), len(r)))
    stat = lambda a, b: 100 * (a.mean() - b.mean()) / b.mean()  # noqa: E731
    p = _welch_p("relative_improvement", m, r)
    return Estimate(float(stat(m, r)), *_bootstrap("relative_improvement", stat, (m, r), False, n_boot, seed),
                    (len(m), len(r)), p)


def _p_greater(a, b):
    # Mann–Whitney U of `a` counts the pairs with a > b plus half the ties.
    return stats.mannwhitneyu(a, b, method="asymptotic").statistic / (len(a) * len(b))


def prob_beats_random(method_acc, random_acc, *, n_boot: int = 2000, seed=0) -> Estimate:
    """Fraction of (method seed, random seed) pairs where the method's accuracy is higher, ties counting 0.5:
    U / (n_m · n_r) from scipy.stats.mannwhitneyu; p: its two-sided test of P = 0.5."""
    m, r, bad = _two("prob_beats_random", method_acc, random_acc, ("method_acc", "random_acc"))
    if bad:
        return Estimate(NAN, NAN, NAN, (len(m), len(r)))
    return Estimate(float(_p_greater(m, r)), *_bootstrap("prob_beats_random", _p_greater, (m, r), False, n_boot, seed),
                    (len(m), len(r)), float(stats.mannwhitneyu(m, r).pvalue))


def hedges_g(a, b) -> float:
    """Cohen's d of b − a (pooled SD) times Hedges' small-sample correction 1 − 3 / (4 (n_a + n_b) − 9). Not in
    scipy. NaN when both samples have zero variance."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # np.var of equal floats can be 1e-33, not 0
        return NAN
    na, nb = len(a), len(b)
    pooled = np.sqrt(((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2))
    return float((b.mean() - a.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9)))


def compare_groups(a, b, *, n_boot: int = 2000, seed=0) -> Comparison:
    """Two independent samples `a` and `b` (e.g. retrained accuracy of epoch-1 and of last-epoch architectures):
    Welch's t-test and Mann–Whitney U p-values (scipy), mean(b) − mean(a) and Cliff's delta
    P(b > a) − P(b < a) = 2 U_b / (n_a n_b) − 1, each with a bootstrap interval, and Hedges' g (no interval)."""
    a, b, bad = _two("compare_groups", a, b, ("a", "b"))
    n = (len(a), len(b))
    if bad:
        nan = Estimate(NAN, NAN, NAN, n)
        return Comparison(NAN, NAN, nan, NAN, NAN, NAN, nan)
    welch = _welch_p("compare_groups", b, a, "Welch's p and Hedges' g are")
    mwu = float(stats.mannwhitneyu(b, a).pvalue)
    diff = lambda p, q: q.mean() - p.mean()  # noqa: E731
    delta = lambda p, q: 2 * _p_greater(q, p) - 1  # noqa: E731
    # The same seed for both intervals: they come from the same resamples.
    interval = lambda stat: _bootstrap("compare_groups", stat, (a, b), False, n_boot, seed)  # noqa: E731
    return Comparison(float(a.mean()), float(b.mean()), Estimate(float(diff(a, b)), *interval(diff), n, welch),
                      welch, mwu, hedges_g(a, b), Estimate(float(delta(a, b)), *interval(delta), n, mwu))


def noise_vs_spread(seed_accs, arch_accs, *, factor: float = 2.0) -> Calibration:
    """Seed-to-seed noise (sample SD of one architecture retrained with several seeds) against the architecture
    spread (sample SD of different architectures, one seed each), their ratio spread / noise, and
    `distinguishable` = spread > `factor` · noise. With factor 2 the spread's variance is over 4 times the noise's,
    so since the spread contains the noise, the architectures' own variance is at least 3 times the seeds'. With
    3 to 5 runs per side both SDs are rough; read the verdict as a calibration, not a test. Not in scipy."""
    s, a, bad = _two("noise_vs_spread", seed_accs, arch_accs, ("seed_accs", "arch_accs"))
    rule = f"spread > {factor} × noise"
    if bad:
        return Calibration(NAN, NAN, NAN, False, len(s), len(a), rule)
    # ptp first: np.std of equal floats can be 1e-17 rather than 0.
    noise, spread = (float(np.std(v, ddof=1)) if np.ptp(v) > 0 else 0.0 for v in (s, a))
    if noise == 0 and spread == 0:
        _undefined("noise_vs_spread", "`seed_accs` and `arch_accs` both have zero variance", "the ratio is")
        ratio = NAN
    else:
        ratio = spread / noise if noise > 0 else float("inf")
    return Calibration(noise, spread, ratio, bool(spread > factor * noise), len(s), len(a), rule)


def op_effect(acc) -> OpEffect:
    """How much the ops move the shared-weight accuracy, from `acc[p, v]`: pattern p (one set of skip connections)
    scored with op variant v (`enaslite.probe`). The within-pattern variation is what the ops cause; under the
    reference code's macro bug it is exactly zero. A two-way layout without replication; scipy has Friedman's test
    but not the sum-of-squares split, which is written here.

    Malformed input (not 2-D, fewer than 2 variants) raises ValueError; fewer than 2 patterns or a NaN gives NaN
    fields with an `AnalysisWarning`."""
    a = np.asarray(acc, dtype=float)
    if a.ndim != 2 or a.shape[1] < 2:
        raise _arg_error("acc", "a 2-D array of patterns × variants with at least 2 variants", f"shape {a.shape}")
    p, v = a.shape
    if p < 2 or np.isnan(a).any():
        _undefined("op_effect", "fewer than 2 patterns" if p < 2 else "`acc` contains NaN", "every field is")
        return OpEffect(NAN, NAN, NAN, NAN, NAN, p, v)
    means, ranges = a.mean(axis=1), np.ptp(a, axis=1)
    inert = bool(np.all(ranges == 0))  # exact zeros: a row mean of equal floats can differ from them by 1e-17
    ss_total = float(((a - a.mean()) ** 2).sum())
    ss_within = 0.0 if inert else float(((a - means[:, None]) ** 2).sum())
    if ss_total == 0:
        share = _undefined("op_effect", "all accuracies are equal", "ops_share is") and NAN
    else:
        share = ss_within / ss_total
    if inert:
        friedman = _undefined("op_effect", "every pattern scores all its variants alike (all ties)",
                              "Friedman's p is") and NAN
    else:
        friedman = float(stats.friedmanchisquare(*a.T).pvalue)
    within = 0.0 if inert else float(a.std(axis=1, ddof=1).mean())
    return OpEffect(share, within, float(np.std(means, ddof=1)), float(ranges.max()), friedman, p, v)


def rank_agreement(x, y, k: int, precision: float = 0.01, *, n_boot: int = 2000, seed=0) -> pd.DataFrame:
    """The four statistics of `x` vs `y` as one table, a row each (value, low, high, n, p_value, k, precision)."""
    rows = {"kendall_tau": kendall_tau(x, y, n_boot=n_boot, seed=seed),
            "spearman_rho": spearman_rho(x, y, n_boot=n_boot, seed=seed),
            "sparse_kendall_tau": sparse_kendall_tau(x, y, precision, n_boot=n_boot, seed=seed),
            "precision_at_k": precision_at_k(x, y, k, n_boot=n_boot, seed=seed)}
    return pd.DataFrame.from_dict({name: e.as_dict() for name, e in rows.items()}, orient="index")
