"""Charts and tables of the reference-bug chapter (`experiments.reference_bug`), from `results.load`'s frames.

Every frame gets a `condition` column from the runs' `bug` field: "intended" (the sampled op is the one that runs)
or `BUG` (the reference code's macro search, where every layer runs the max-pool branch whatever was sampled). As in
`figures`, captions come from the study and statistics from `enaslite.analysis`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from enaslite import analysis
from enaslite.study.figures import (HEIGHT, WIDTH, _ci_p, _empty, _last_pick, _legend, _num, _quietly, _title, pct,
                                    picks)

INTENDED = "intended"
BUG = "reference bug"
CONDITIONS = (INTENDED, BUG)


def with_condition(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with `condition` (`INTENDED` or `BUG`, from its `bug` column)."""
    out = frame.copy()
    out["condition"] = pd.Series(dtype=object) if out.empty else np.where(out["bug"].astype(bool), BUG, INTENDED)
    return out


def probe_matrix(probes: pd.DataFrame, label: str) -> np.ndarray:
    """acc[pattern, variant] of one probe (`label`), variants in their logged order."""
    g = probes[probes["label"] == label]
    wide = g.pivot(index="pattern", columns="variant", values="valid_acc")
    return wide[list(dict.fromkeys(g["variant"]))].to_numpy(float)


def op_effect_table(probes: pd.DataFrame) -> pd.DataFrame:
    """Per condition and seed: how much changing only the ops moves the shared-weight accuracy of a skip pattern
    (`analysis.op_effect`), and the largest change of any logit (0 means the ops are inert)."""
    frame, rows = with_condition(probes), []
    for (condition, seed, label), g in frame.groupby(["condition", "seed", "label"], sort=False):
        e, note = _quietly(analysis.op_effect, probe_matrix(frame, label))
        rows.append({"condition": condition, "seed": seed, "patterns × variants": f"{e.n_patterns} × {e.n_variants}",
                     "share of variance from the ops (%)": pct(e.ops_share, 1),
                     "within-pattern SD (points)": _num(100 * e.within_sd, 2),
                     "between-pattern SD (points)": _num(100 * e.between_sd, 2),
                     "largest within-pattern range (points)": _num(100 * e.max_range, 2),
                     "largest |Δ logit|": f"{g['max_logit_diff'].max():.3g}",
                     "Friedman p": _num(e.friedman_p), "note": note})
    return pd.DataFrame(rows).set_index(["condition", "seed"]) if rows else pd.DataFrame()


def probe_chart(probes: pd.DataFrame, caption: str | None = None):
    """Shared-weight accuracy of each skip pattern under each op variant, a line per pattern: flat lines are ops
    that change nothing. A panel per condition and seed."""
    import altair as alt

    title = "Does the shared-weight accuracy depend on the ops?"
    if probes.empty:
        return _empty(title, caption)
    frame = with_condition(probes)[["condition", "seed", "pattern", "variant", "valid_acc"]]
    frame["pattern"] = frame["pattern"].astype(str)
    order = list(dict.fromkeys(frame["variant"]))
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("variant:N", sort=order, title="ops of every layer (skips unchanged)"),
        y=alt.Y("valid_acc:Q", title="shared-weight validation accuracy", axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)),
        color=alt.Color("pattern:N", title="skip pattern", legend=_legend()),
    ).properties(width=WIDTH + 40, height=HEIGHT + 20).facet(
        row=alt.Row("condition:N", title=None, sort=list(CONDITIONS)), column=alt.Column("seed:N", title="seed"),
    ).resolve_scale(y="independent").properties(title=_title(title, caption))


def retrain_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Retrained test accuracy (%) per seed of the best epoch-1 and last-epoch architectures of both conditions."""
    frame = with_condition(picks(finals))
    frame = frame[frame["group"] == "reinforce"]
    if frame.empty:
        return pd.DataFrame()
    frame["pick"] = np.where(frame["pick"] == "epoch 1", "epoch 1", np.where(_last_pick(frame), "last epoch",
                                                                             frame["pick"]))
    frame["test acc (%)"] = 100 * frame["test_acc"]
    out = frame.pivot_table(index="seed", columns=["condition", "pick"], values="test acc (%)", aggfunc="first")
    return out.reindex(columns=sorted(out.columns, key=lambda c: (CONDITIONS.index(c[0]), c[1] != "epoch 1")))


def retrain_comparison(finals: pd.DataFrame) -> pd.DataFrame:
    """Per pick (epoch 1, last epoch): intended (a) vs reference-bug (b) searches' architectures retrained,
    `analysis.compare_groups` over the seeds."""
    frame = with_condition(picks(finals))
    frame = frame[frame["group"] == "reinforce"]
    rows = []
    for pick, test in (("epoch 1", frame["pick"] == "epoch 1"), ("last epoch", _last_pick(frame))):
        g = frame[test]
        a = g.loc[g["condition"] == INTENDED, "test_acc"].to_numpy(float)
        b = g.loc[g["condition"] == BUG, "test_acc"].to_numpy(float)
        if not len(a) and not len(b):
            continue
        c, note = _quietly(analysis.compare_groups, a, b)
        rows.append({"pick": pick, "n (intended, bug)": f"{len(a)}, {len(b)}", "intended (%)": pct(c.mean_a),
                     "reference bug (%)": pct(c.mean_b),
                     "bug − intended, points [95% CI], Welch p": _ci_p(c.difference, 100),
                     "Cliff's δ [95% CI], Mann–Whitney p": _ci_p(c.cliffs_delta), "note": note})
    return pd.DataFrame(rows).set_index("pick") if rows else pd.DataFrame()


def probe_text(probes: pd.DataFrame) -> str:
    """Markdown, a line per condition: the ops' share of the accuracy's variance and the largest logit change,
    over all its probes."""
    frame, lines = with_condition(probes), []
    for condition in CONDITIONS:
        g = frame[frame["condition"] == condition]
        if g.empty:
            continue
        shares = [_quietly(analysis.op_effect, probe_matrix(frame, label))[0].ops_share
                  for label in dict.fromkeys(g["label"])]
        shares = [s for s in shares if np.isfinite(s)]
        span = pct(min(shares), 1) if shares and min(shares) == max(shares) else (
            f"{pct(min(shares), 1)}–{pct(max(shares), 1)}" if shares else "")
        share = (f"the ops account for {span}% of the variance of a search's probe accuracies" if shares
                 else "the ops' share of the variance is undefined")
        lines.append(f"- **{condition}** ({g['label'].nunique()} searches, {len(g)} scored variants): {share}; the "
                     f"largest change of any logit when only the ops change is {g['max_logit_diff'].max():.3g}.")
    return "\n".join(lines) if lines else "No finished probes yet."
