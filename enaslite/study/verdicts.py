"""The conclusions page: each claim of the thesis, the evidence of our runs, and a verdict by a stated rule.

Verdicts are one of `SUPPORTED`, `NOT_SUPPORTED` and `CANT_TELL` ("can't tell at this scale"), decided by rules
written here once, so that the page's verdicts follow from the runs and change when the runs do:

- **"No difference" claims** (epoch-1 picks retrain as well as last-epoch ones; a transferred controller gives no
  gain; the trained controller's picks are no better than random search's): a difference in the direction the
  thesis denies with Welch's p < 0.05 is *not supported*; a 95% interval of the difference inside ± the resolution
  is *supported* (any difference is smaller than the budget can resolve); anything else *can't tell*. The resolution
  is twice the seed-to-seed SD that the calibration measured for that space (`resolution`), the size of difference
  one retrain per side could just notice.
- **"Does not predict"** (shared-weight vs retrained accuracy): pooled Kendall τ; an interval above 0 is *not
  supported* (it does predict, to the degree τ says); an interval whose upper end is below `TAU_WEAK` is
  *supported*; else *can't tell*.
- **"Stops sampling pooling"**: *supported* when every seed's last-epoch pooling share is below half the uniform
  share, *not supported* when the mean last-epoch share is not below the mean first-epoch share, else *can't tell*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from enaslite import analysis
from enaslite.study import calibration_figures, figures
from enaslite.study.figures import RANDOM, _ci, _last_pick, _quietly, pct, picks, with_roles

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
CANT_TELL = "can't tell at this scale"
TAU_WEAK = 0.2
ALPHA = 0.05


def resolution(calibration_finals: pd.DataFrame, space: str) -> float:
    """Twice the seed-to-seed SD of `space`'s calibration (NaN without one)."""
    seed_runs, _ = calibration_figures.groups(calibration_finals, space)
    accs = seed_runs["test_acc"].to_numpy(float)
    return 2 * float(np.std(accs, ddof=1)) if len(accs) >= 2 else float("nan")


def no_difference(a, b, margin: float, names: tuple = ("a", "b")) -> tuple[str, str]:
    """(verdict, evidence) for a claim that b is no better than a (see the module docstring); `names` name a and b
    in the evidence."""
    c, note = _quietly(analysis.compare_groups, np.asarray(a, float), np.asarray(b, float))
    if note:
        return CANT_TELL, f"n = {len(a)}, {len(b)}: {note}"
    d = c.difference
    evidence = (f"{names[0]} {pct(c.mean_a)}% vs {names[1]} {pct(c.mean_b)}% (n = {len(a)}, {len(b)}); "
                f"{names[1]} − {names[0]} {_ci(d, 100)} points, Welch p = {c.welch_p:.3f}; "
                f"resolution ± {100 * margin:.1f} points")
    if d.value > 0 and c.welch_p < ALPHA:
        return NOT_SUPPORTED, evidence
    if np.isfinite(margin) and np.isfinite(d.low) and -margin < d.low and d.high < margin:
        return SUPPORTED, evidence
    return CANT_TELL, evidence


def _row(claim: str, thesis: str, space: str, verdict: tuple[str, str]) -> dict:
    return {"claim": claim, "the thesis": thesis, "space": space, "verdict": verdict[0], "our evidence": verdict[1]}


def claims(calibration: pd.DataFrame, learning_curve, estimation: pd.DataFrame, transfer: pd.DataFrame
           ) -> pd.DataFrame:
    """The verdict table. `calibration`, `estimation`, `transfer`: those studies' `finals`; `learning_curve`: that
    study's `Results` (its finals and searches)."""
    rows = []
    lc = picks(learning_curve.finals)
    for space in ("macro", "micro"):
        margin = resolution(calibration, space)
        s = lc[lc["space"] == space]
        enas = s[s["group"] == "reinforce"]
        if not enas.empty:
            first = enas.loc[enas["pick"] == "epoch 1", "test_acc"]
            last = enas.loc[_last_pick(enas), "test_acc"]
            rows.append(_row("Later architectures are no better", "architectures sampled at epoch 1 retrain as well "
                             "as those of epoch 310 (Table 2)", space,
                             no_difference(first, last, margin, ("epoch 1", "last epoch"))))
            uniform = s.loc[(s["group"] == "uniform") & _last_pick(s), "test_acc"]
            rows.append(_row("The controller does not learn", "the trained controller proposes no better networks "
                             "than chance (section 7); here: ENAS' last-epoch picks against random search with "
                             "weight sharing (uniform controller), same seeds", space,
                             no_difference(uniform, last, margin, ("uniform", "ENAS"))))
            random = s.loc[s["group"] == RANDOM, "test_acc"]
            rows.append(_row("The space does the work", "even an untrained controller finds accurate networks "
                             "(section 7); here: ENAS' last-epoch picks against architectures drawn uniformly, "
                             "no search", space, no_difference(random, last, margin, ("random", "ENAS"))))
        est = estimation[estimation["space"] == space].dropna(subset=["shared_acc", "test_acc"])
        if not est.empty:
            rows.append(_row("Shared-weight accuracy does not predict", "architectures scored 18–41% with shared "
                             "weights all retrained to 80–81% (Table 3)", space, _predicts(est)))
        searches = learning_curve.searches
        searches = searches[(searches["space"] == space) & (searches["mode"] == "reinforce")]
        if not searches.empty:
            rows.append(_row("The controller stops sampling pooling", "on CIFAR-10 the trained controller drew no "
                             "pooling operations (section 7)", space, _pooling(searches, space)))
        tr = with_roles(transfer)
        tr = tr[tr["space"] == space]
        if not tr.empty:
            fresh = tr.loc[tr["role"] == "fresh", "test_acc"]
            moved = tr.loc[tr["role"] == "transferred", "test_acc"]
            rows.append(_row("Transfer gives no gain", "a controller transferred from CIFAR-10 gave CIFAR-100 "
                             "architectures no better than a fresh one (Table 1); here: all sampled epochs pooled",
                             space, no_difference(fresh, moved, margin, ("fresh", "transferred"))))
    return pd.DataFrame(rows, columns=["claim", "the thesis", "space", "verdict", "our evidence"])


def _predicts(est: pd.DataFrame) -> tuple[str, str]:
    e, note = _quietly(analysis.kendall_tau, est["shared_acc"].to_numpy(float), est["test_acc"].to_numpy(float))
    if note or not np.isfinite(e.low):
        return CANT_TELL, f"n = {len(est)}: {note or 'no interval'}"
    evidence = f"Kendall τ = {_ci(e)} over {len(est)} architectures from {est['seed'].nunique()} searches"
    if e.low > 0:
        return NOT_SUPPORTED, evidence
    if e.high < TAU_WEAK:
        return SUPPORTED, evidence
    return CANT_TELL, evidence


def _pooling(searches: pd.DataFrame, space: str) -> tuple[str, str]:
    t = figures.pooling_table(searches).reset_index()
    first, last = t["pooling at first epoch (%)"], t["pooling at last epoch (%)"]
    uniform = float(t["uniform share (%)"].iloc[0])
    evidence = (f"pooling share {first.mean():.1f}% at the first epoch, {last.mean():.1f}% at the last (per seed: "
                f"{', '.join(f'{v:.1f}' for v in last)}); a uniform choice gives {uniform:.1f}%")
    if (last < uniform / 2).all():
        return SUPPORTED, evidence
    if last.mean() >= first.mean():
        return NOT_SUPPORTED, evidence
    return CANT_TELL, evidence


def summary_text(table: pd.DataFrame) -> str:
    """Markdown: how many claims each verdict got, and which."""
    if table.empty:
        return "No experiment has finished runs yet, so no claim has a verdict."
    lines = []
    for verdict in (SUPPORTED, NOT_SUPPORTED, CANT_TELL):
        rows = table[table["verdict"] == verdict]
        if len(rows):
            which = "; ".join(f"{c} ({s})" for c, s in zip(rows["claim"], rows["space"]))
            lines.append(f"- **{verdict}** ({len(rows)} of {len(table)}): {which}.")
    return "\n".join(lines)


def for_book(p) -> tuple[pd.DataFrame, str, str]:
    """(verdict table, the probe's summary, a caption) for the book's conclusions at `p` (a `params.Params`), read
    from the runs the experiment chapters made; computes nothing."""
    from enaslite.study import bug_figures, experiments

    studies = {name: experiments.load_study(getattr(experiments, name)(p))
               for name in ("calibration", "learning_curve", "performance_estimation", "transfer")}
    table = claims(studies["calibration"].results.finals, studies["learning_curve"].results,
                   studies["performance_estimation"].results.finals, studies["transfer"].results.finals)
    probes = (bug_figures.probe_text(experiments.load_study(experiments.reference_bug(p)).results.probes)
              if "macro" in p.spaces else "The macro space was not run, so there is no probe.")
    return table, probes, studies["learning_curve"].caption()
