"""Charts and tables of the book's experiments, built from the DataFrames of `enaslite.study.results.load`.

Chart builders return Altair charts (display them with `enaslite.charts.show`, which renders offline); table
builders return DataFrames, and `table(frame, caption)` shows one with its caption. Every builder takes the frames
of any scale: captions are passed in (`Study.caption`), never written here. Accuracies are fractions in the frames
and percent in tables, as the thesis prints them. Statistics come from `enaslite.analysis`; where one is undefined
(too few seeds, equal values) its cell is "n/a" and the `note` column says why.

The one hand-typed exception is the thesis' own results (`THESIS_TABLE1`, `THESIS_TABLE2`, `THESIS_TABLE3`, its
section 6), kept as printed to be shown beside ours and always labelled as the thesis'.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd

from enaslite import analysis
from enaslite.macro_arc import OPS as MACRO_OPS
from enaslite.micro_arc import OPS as MICRO_OPS

# -- the thesis' own numbers (section 6, as printed; test accuracy in percent after 310 retrain epochs) -----------

THESIS_TABLE1 = [  # (dataset, search space, sampled epoch, transfer applied, accuracy)
    ("CIFAR-100", "macro", 310, "NO", 80.55), ("CIFAR-100", "macro", 100, "NO", 80.78),
    ("CIFAR-100", "macro", 155, "NO", 80.33), ("CIFAR-100", "macro", 310, "YES", 80.35),
    ("CIFAR-100", "macro", 100, "YES", 80.19), ("CIFAR-100", "macro", 155, "YES", 80.39),
]
THESIS_TABLE2 = [  # (dataset, search space, sampled epoch, accuracies of the runs)
    ("CIFAR-10", "macro", 1, (96.69, 95.80, 95.71)), ("CIFAR-10", "macro", 310, (95.38, 95.81, 95.76)),
    ("CIFAR-100", "macro", 1, (80.75, 77.12, 80.55)), ("CIFAR-100", "macro", 310, (80.39, 80.07, 80.47)),
    ("CIFAR-100", "micro", 1, (79.59, 77.67)), ("CIFAR-100", "micro", 310, (80.50, 80.02)),
]
THESIS_TABLE3 = [  # (dataset, sampled epoch, shared-weight validation accuracy, final accuracy); macro space
    ("CIFAR-100", 155, 41.41, 80.33), ("CIFAR-100", 155, 32.81, 81.11), ("CIFAR-100", 155, 17.97, 80.81),
    ("CIFAR-100", 155, 21.09, 80.50), ("CIFAR-100", 155, 28.12, 81.12),
]
THESIS_LAST_EPOCH = 310

OPS = {"macro": MACRO_OPS, "micro": MICRO_OPS}
REWARD = {"ctrl_reward": "controller reward"}
METRICS = {"logged_acc_mean": "shared-weight accuracy, mean of logged",
           "logged_acc_max": "shared-weight accuracy, best logged",
           "ctrl_entropy": "controller entropy", "skip_rate": "skip rate"}
RANDOM = "random architectures"
ROLES = ("source", "fresh", "transferred", "uniform")
_ROLE = re.compile(r"-(source|target-fresh|target-transfer|target-uniform)-s\d+")
NA = "n/a"
# Panel sizes (px): a facet of four panels with their axes stays within the book's text column (about 650 px),
# so charts are not shrunk to unreadable text. Legends go below the panels for the same reason.
WIDTH, HEIGHT = 110, 100
_TABLE_STYLE = [{"selector": "caption", "props": "caption-side: top; text-align: left; font-size: 0.85em;"},
                {"selector": "td, th", "props": "font-size: 0.85em; padding: 0.2em 0.5em;"}]


# -- small helpers --------------------------------------------------------------------------------------------------

def pooling_ops(space: str) -> list[int]:
    """Ids of the pooling operations of `space`."""
    return [i for i, name in enumerate(OPS[space]) if "pool" in name]


def pct(x, digits: int = 2) -> str:
    """A fraction as a percent string ("80.55"); NaN as n/a."""
    return NA if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}"


def _num(x, digits: int = 3) -> str:
    return NA if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _ci(e: analysis.Estimate, scale: float = 1.0, digits: int = 2) -> str:
    if not np.isfinite(e.value):
        return NA
    interval = (f" [{e.low * scale:.{digits}f}, {e.high * scale:.{digits}f}]" if np.isfinite(e.low)
                else " [n/a]")
    return f"{e.value * scale:.{digits}f}{interval}"


def _ci_p(e: analysis.Estimate, scale: float = 1.0, digits: int = 2) -> str:
    """"value [low, high], p = ..." (the p-value only when the estimate has one)."""
    text = _ci(e, scale, digits)
    return text if text == NA or not np.isfinite(e.p_value) else f"{text}, p = {_num(e.p_value)}"


def _why(message: str) -> str:
    """The reason in an AnalysisWarning ("fn: why; the result is NaN" -> "why")."""
    why = message.split(": ", 1)[-1]
    why = why.rsplit("; ", 1)[0] if why.endswith(" NaN") else why
    return re.sub(r" in `[^`]+`", "", why)  # the argument's name means nothing on the page


def _quietly(fn, *args, **kwargs):
    """`fn(...)` and the reasons of its AnalysisWarnings, joined ("" when there were none)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", analysis.AnalysisWarning)
        out = fn(*args, **kwargs)
    notes = dict.fromkeys(_why(str(w.message)) for w in caught if issubclass(w.category, analysis.AnalysisWarning))
    return out, "; ".join(notes)


def _legend():
    import altair as alt
    return alt.Legend(orient="bottom", direction="horizontal", columns=4)


def _title(title: str, caption: str | None):
    import altair as alt

    from enaslite.study.experiments import wrap
    return alt.TitleParams(title, subtitle=wrap(caption, 95) if caption else [], anchor="start")


def _empty(title: str, caption: str | None):
    import altair as alt
    return alt.Chart(pd.DataFrame({"text": ["no finished runs yet"]}), title=_title(title, caption)).mark_text(
        ).encode(text="text:N").properties(width=300, height=40)


def table(frame: pd.DataFrame, caption: str | None = None):
    """`frame` for display with its caption above it (a pandas Styler; NaN cells left blank). A `note` column that
    says the same for every row moves into the caption."""
    if "note" in frame and len(frame):
        notes = set(frame["note"].fillna(""))
        if len(notes) == 1:
            note = notes.pop()
            frame = frame.drop(columns="note")
            if note:
                caption = f"{caption or ''} Every statistic n/a here: {note}.".strip()
    styler = frame.style.format(na_rep="", precision=2).set_table_styles(_TABLE_STYLE, overwrite=False)
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    return styler.set_caption(caption) if caption else styler


def transfer_role(label: str) -> str:
    """`source`, `fresh`, `transferred` or `uniform` from a transfer job's label (or its parent's); else ''."""
    m = _ROLE.search(label or "")
    return "" if m is None else {"target-fresh": "fresh", "target-transfer": "transferred",
                                 "target-uniform": "uniform", "source": "source"}[m.group(1)]


def with_roles(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a transfer frame with `role`: the job's own (searches) or its parent's (retrains); random
    architectures (no parent) get `RANDOM`."""
    out = frame.copy()
    if out.empty:
        out["role"] = pd.Series(dtype=object)
        return out
    own = out["label"].map(transfer_role)
    parent = out["parent"].map(lambda p: transfer_role(p) if isinstance(p, str) else "")
    out["role"] = np.where(out["kind"].eq("search") if "kind" in out else False, own,
                           np.where(out["parent"].isna(), RANDOM, parent))
    return out


def picks(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a frame of retrains (finals or retrains) with `group` (the controller mode, or `RANDOM` for
    architectures drawn without a search) and `pick` ("epoch 1", "epoch E (last)" or `RANDOM`), E being the last
    search epoch picked from in that space."""
    out = frame.copy()
    if out.empty:
        out["group"], out["pick"] = pd.Series(dtype=object), pd.Series(dtype=object)
        return out
    epoch = pd.to_numeric(out["source_epoch"], errors="coerce")
    last = epoch.groupby(out["space"]).transform("max")
    random = out["parent"].isna()
    out["group"] = np.where(random, RANDOM, out["mode"])
    out["pick"] = np.where(random, RANDOM, np.where(epoch == 1, "epoch 1", "epoch " + last.astype("Int64").astype(
        str) + " (last)"))
    out.loc[~random & (epoch != 1) & (epoch != last), "pick"] = "epoch " + epoch.astype("Int64").astype(str)
    return out


def _epoch_x(field: str, title: str, epochs):
    """An x encoding for integer epochs: a tick per epoch when there are few, else integer ticks only."""
    import altair as alt
    epochs = sorted({int(e) for e in epochs if pd.notna(e)})
    axis = alt.Axis(values=epochs, format="d") if len(epochs) <= 12 else alt.Axis(tickMinStep=1, format="d")
    return alt.X(f"{field}:Q", title=title, axis=axis)


def _last_pick(frame: pd.DataFrame) -> pd.Series:
    return frame["pick"].str.endswith("(last)")


# -- the search: does the controller learn, and what? ---------------------------------------------------------------

def search_metrics(searches: pd.DataFrame, by: str = "mode", metrics: dict | None = None) -> pd.DataFrame:
    """Long frame of the per-epoch search metrics (`metrics`, default `METRICS`; the skip rate is NaN outside macro,
    where it is not measured): space, `by`, seed, label, epoch, metric, value."""
    metrics = METRICS if metrics is None else metrics
    cols = [c for c in metrics if c in searches]
    long = searches.melt(id_vars=["space", by, "seed", "label", "epoch"], value_vars=cols, var_name="metric")
    # Rows stay (NaN) rather than go: a facet grid missing a (row, column) cell shifts that row's panels.
    long.loc[(long["metric"] == "skip_rate") & (long["space"] != "macro"), "value"] = np.nan
    long["metric"] = long["metric"].map(metrics)
    return long.reset_index(drop=True)


def search_curves(searches: pd.DataFrame, caption: str | None = None, by: str = "mode",
                  metrics: dict | None = None):
    """Per epoch and space: the logged architectures' shared-weight accuracy (mean and best), the controller's
    entropy and (macro) skip rate (or `metrics`, {column: title}), a line per search coloured by `by` (controller
    mode, or transfer role)."""
    metrics = METRICS if metrics is None else metrics
    import altair as alt

    title = "Search, epoch by epoch"
    if searches.empty:
        return _empty(title, caption)
    long = search_metrics(searches, by, metrics)
    long["seed"] = long["seed"].astype(str)
    return alt.Chart(long).mark_line(point=len(set(long["epoch"])) < 4).encode(
        x=_epoch_x("epoch", "search epoch", long["epoch"]),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color(f"{by}:N", title=by, legend=_legend()), detail="label:N",
        strokeDash=alt.StrokeDash("seed:N", title="seed", legend=_legend()),
    ).properties(width=WIDTH, height=HEIGHT).facet(
        row=alt.Row("space:N", title=None), column=alt.Column("metric:N", title=None, sort=list(metrics.values())),
    ).resolve_scale(y="independent").properties(title=_title(title, caption))


def op_shares(searches: pd.DataFrame, by: str = "mode") -> pd.DataFrame:
    """Long frame: the share of each operation among the architectures the child phase sampled (epochs.csv's op
    columns), averaged over seeds: space, `by`, epoch, op (its name), share."""
    rows = []
    for space, frame in searches.groupby("space"):
        names = OPS[space]
        cols = [f"op{i}" for i in range(len(names)) if f"op{i}" in frame]
        mean = frame.groupby([by, "epoch"])[cols].mean().reset_index()
        long = mean.melt(id_vars=[by, "epoch"], value_vars=cols, var_name="op", value_name="share")
        long["op"] = long["op"].map(lambda c: names[int(c[2:])])
        long.insert(0, "space", space)
        rows.append(long)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["space", by, "epoch", "op", "share"])


def op_chart(searches: pd.DataFrame, caption: str | None = None, by: str = "mode"):
    """Stacked shares of the operations sampled per epoch (mean over seeds), a panel per space and `by`."""
    import altair as alt

    title = "Operations the controller samples"
    if searches.empty:
        return _empty(title, caption)
    long = op_shares(searches, by)
    order = list(dict.fromkeys(list(MACRO_OPS) + list(MICRO_OPS)))
    return alt.Chart(long).mark_area().encode(
        x=_epoch_x("epoch", "search epoch", long["epoch"]),
        y=alt.Y("share:Q", stack="normalize", title="share of sampled ops", axis=alt.Axis(format="%")),
        color=alt.Color("op:N", sort=order, title="operation", legend=_legend()),
        order=alt.Order("op_order:Q"),
    ).transform_calculate(op_order=f"indexof({order!r}, datum.op)").properties(width=WIDTH, height=HEIGHT).facet(
        row=alt.Row("space:N", title=None), column=alt.Column(f"{by}:N", title=None),
    ).properties(title=_title(title, caption))


def pooling_table(searches: pd.DataFrame, by: str = "mode") -> pd.DataFrame:
    """Per space, `by` and seed: the share (%) of pooling operations sampled at the first and the last epoch, and
    the share a uniform choice gives."""
    rows = []
    for (space, group, seed), frame in searches.groupby(["space", by, "seed"]):
        cols = [f"op{i}" for i in pooling_ops(space)]
        frame = frame.sort_values("epoch")
        first, last = frame.iloc[0], frame.iloc[-1]
        rows.append({"space": space, by: group, "seed": seed, "first epoch": int(first["epoch"]),
                     "pooling at first epoch (%)": 100 * float(first[cols].sum()),
                     "last epoch": int(last["epoch"]), "pooling at last epoch (%)": 100 * float(last[cols].sum()),
                     "uniform share (%)": 100 * len(cols) / len(OPS[space])})
    columns = ["space", by, "seed", "first epoch", "pooling at first epoch (%)", "last epoch",
               "pooling at last epoch (%)", "uniform share (%)"]
    return pd.DataFrame(rows, columns=columns).set_index(["space", by, "seed"])


def pooling_answer(searches: pd.DataFrame, by: str = "mode", subject: str = "reinforce",
                   stopped_below: float = 1.0) -> str:
    """Markdown answering "does the controller stop sampling pooling operations?" from `pooling_table`: per space,
    the `subject` group's mean pooling share at the first and last epoch beside the other groups' last-epoch share;
    "stopped" means below `stopped_below` percent in every seed, and "less" a drop of more than a point in every seed
    (a mean drop that some seed does not share is too weak, with a few seeds, to call a trend)."""
    t = pooling_table(searches, by)
    if t.empty:
        return "No finished search epochs yet."
    lines = []
    for space, frame in t.groupby(level="space"):
        frame = frame.droplevel("space")
        if subject not in frame.index.get_level_values(by):
            continue
        mine = frame.xs(subject, level=by)
        first, last = mine["pooling at first epoch (%)"].mean(), mine["pooling at last epoch (%)"].mean()
        epoch, seeds = int(mine["last epoch"].max()), len(mine)
        stopped = bool((mine["pooling at last epoch (%)"] < stopped_below).all())
        less = bool((mine["pooling at last epoch (%)"] < mine["pooling at first epoch (%)"] - 1).all())
        others = [f"{g} {frame.xs(g, level=by)['pooling at last epoch (%)'].mean():.1f}%"
                  for g in dict.fromkeys(frame.index.get_level_values(by)) if g != subject]
        verdict = ("**Yes**: it stopped" if stopped else
                   "**No**, but it samples them less in every seed" if less else "**No**")
        lines.append(f"- {space}: {verdict}. Pooling operations made {first:.1f}% of the operations the {subject} "
                     f"controller sampled at epoch 1 and {last:.1f}% at epoch {epoch} (mean of {seeds} "
                     f"seed{'s' if seeds > 1 else ''}; uniform choice: "
                     f"{mine['uniform share (%)'].iloc[0]:.1f}%)" + (f"; at epoch {epoch}, " + ", ".join(others)
                                                                      if others else "") + ".")
    return "\n".join(lines)


# -- learning curve (thesis 5.2, 6.2, Table 2, Figures 16-17) --------------------------------------------------------

def retrain_curves(retrains: pd.DataFrame, caption: str | None = None):
    """Test accuracy per retrain epoch of every retrained architecture (the thesis' Figures 16 and 17), coloured by
    the search epoch it was picked at, a panel per space and controller (random architectures on their own)."""
    import altair as alt

    title = "Learning curves of the retrained architectures"
    if retrains.empty:
        return _empty(title, caption)
    frame = picks(retrains)[["space", "group", "pick", "label", "epoch", "test_acc"]]
    return alt.Chart(frame).mark_line(point=len(set(frame["epoch"])) < 4).encode(
        x=_epoch_x("epoch", "retrain epoch", frame["epoch"]),
        y=alt.Y("test_acc:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("pick:N", title="architecture", legend=_legend()), detail="label:N",
    ).properties(width=WIDTH, height=HEIGHT).facet(
        row=alt.Row("space:N", title=None), column=alt.Column("group:N", title=None),
    ).properties(title=_title(title, caption))


def final_accuracy_chart(finals: pd.DataFrame, caption: str | None = None):
    """Final test accuracy of each retrained architecture, a point per seed, by controller and pick."""
    import altair as alt

    title = "Retrained test accuracy: first-epoch vs last-epoch picks vs random architectures"
    if finals.empty:
        return _empty(title, caption)
    frame = picks(finals)[["space", "group", "pick", "seed", "test_acc", "label"]]
    frame["seed"] = frame["seed"].astype(str)
    return alt.Chart(frame).mark_point(filled=True, size=60, opacity=0.8).encode(
        x=alt.X("pick:N", title=None), y=alt.Y("test_acc:Q", title="test accuracy", axis=alt.Axis(format="%"),
                                               scale=alt.Scale(zero=False)),
        color=alt.Color("pick:N", legend=None), shape=alt.Shape("seed:N", title="seed", legend=_legend()),
    ).properties(width=WIDTH - 20, height=HEIGHT + 20).facet(
        row=alt.Row("space:N", title=None), column=alt.Column("group:N", title=None),
    ).resolve_scale(x="independent").properties(title=_title(title, caption))


def learning_curve_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy (%) per space, controller and seed: of the architecture picked at epoch 1, at the last epoch,
    and of the random architectures (one per seed)."""
    frame = picks(finals)
    if frame.empty:
        return pd.DataFrame()
    frame["test acc (%)"] = 100 * frame["test_acc"]
    out = frame.pivot_table(index=["space", "group", "seed"], columns="pick", values="test acc (%)", aggfunc="first")
    columns = sorted(out.columns, key=lambda c: (c == RANDOM, c != "epoch 1", c))
    out = out[columns]
    out.columns.name = "test accuracy (%) of"
    return out


def epoch_comparison(finals: pd.DataFrame) -> pd.DataFrame:
    """Per space and controller: epoch-1 picks (a) vs last-epoch picks (b), `analysis.compare_groups`."""
    frame, rows = picks(finals), []
    for (space, group), g in frame[frame["group"] != RANDOM].groupby(["space", "group"]):
        a = g.loc[g["pick"] == "epoch 1", "test_acc"].to_numpy(float)
        b = g.loc[_last_pick(g), "test_acc"].to_numpy(float)
        c, note = _quietly(analysis.compare_groups, a, b)
        rows.append({"space": space, "controller": group, "n (epoch 1, last)": f"{len(a)}, {len(b)}",
                     "epoch 1 (%)": pct(c.mean_a), "last (%)": pct(c.mean_b),
                     "last − epoch 1, points [95% CI], Welch p": _ci_p(c.difference, 100),
                     "Cliff's δ [95% CI], Mann–Whitney p": _ci_p(c.cliffs_delta), "Hedges' g": _num(c.hedges_g, 2),
                     "note": note})
    return pd.DataFrame(rows).set_index(["space", "controller"]) if rows else pd.DataFrame()


def versus_random(finals: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Per space, controller (or `by`) and pick: relative improvement over the random architectures (Yang et al.)
    and the probability of beating one, `analysis.relative_improvement` and `analysis.prob_beats_random`."""
    frame, rows = picks(finals), []
    if by != "group":
        frame = frame.assign(group=frame[by])
    for space, s in frame.groupby("space"):
        random = s.loc[s["group"] == RANDOM, "test_acc"].to_numpy(float)
        for (group, pick), g in s[s["group"] != RANDOM].groupby(["group", "pick"], sort=False):
            method = g["test_acc"].to_numpy(float)
            ri, note_ri = _quietly(analysis.relative_improvement, method, random)
            pb, note_pb = _quietly(analysis.prob_beats_random, method, random)
            rows.append({"space": space, "controller": group, "pick": pick,
                         "n (picks, random)": f"{len(method)}, {len(random)}",
                         "RI (%) [95% CI], Welch p": _ci_p(ri), "P(beats random) [95% CI], Mann–Whitney p": _ci_p(pb),
                         "note": "; ".join(dict.fromkeys(n for n in (note_ri, note_pb) if n))})
    return pd.DataFrame(rows).set_index(["space", "controller", "pick"]) if rows else pd.DataFrame()


def thesis_table(number: int) -> pd.DataFrame:
    """The thesis' Table 1, 2 or 3 as printed (accuracies in percent), marked as the thesis'."""
    if number == 1:
        frame = pd.DataFrame(THESIS_TABLE1, columns=["dataset", "search space", "sampled epoch", "transfer applied",
                                                     "accuracy (%)"])
    elif number == 2:
        frame = pd.DataFrame([(d, s, e, ", ".join(f"{a:.2f}" for a in accs)) for d, s, e, accs in THESIS_TABLE2],
                             columns=["dataset", "search space", "sampled epoch", "accuracy (%), one per run"])
    elif number == 3:
        frame = pd.DataFrame(THESIS_TABLE3, columns=["dataset", "sampled epoch", "validation accuracy (%)",
                                                     "final accuracy (%)"])
    else:
        raise ValueError(f"argument `number`: expected 1, 2 or 3, received {number!r}")
    frame.columns = pd.MultiIndex.from_product([[f"thesis, Table {number}"], frame.columns])
    return frame


def beside_thesis_table2(finals: pd.DataFrame, ours: str) -> pd.DataFrame:
    """Retrained accuracy (%) of ENAS' epoch-1 and last-epoch picks: the thesis' Table 2 runs (CIFAR-10 and
    CIFAR-100, as printed) beside ours (the reinforce controller, one value per seed); `ours` names our data and
    scale in the column header."""
    frame = picks(finals)
    frame = frame[frame["group"] == "reinforce"]
    rows = []
    for space in ("macro", "micro"):
        for first in (True, False):
            mine = frame[(frame["space"] == space) & ((frame["pick"] == "epoch 1") if first else _last_pick(frame))]
            thesis = {d: accs for d, s, e, accs in THESIS_TABLE2 if s == space and (e == 1) == first}
            if mine.empty and not thesis:
                continue
            ours_epoch = "" if mine.empty else mine["pick"].iloc[0].removeprefix("epoch ").removesuffix(" (last)")
            rows.append({"space": space, "sampled epoch (thesis)": 1 if first else THESIS_LAST_EPOCH,
                         "sampled epoch (ours)": ours_epoch,
                         "thesis: CIFAR-10": ", ".join(f"{a:.2f}" for a in thesis.get("CIFAR-10", ())),
                         "thesis: CIFAR-100": ", ".join(f"{a:.2f}" for a in thesis.get("CIFAR-100", ())),
                         f"ours: {ours}": ", ".join(pct(a) for a in mine.sort_values("seed")["test_acc"])})
    return pd.DataFrame(rows).set_index(["space", "sampled epoch (thesis)"]) if rows else pd.DataFrame()


# -- performance estimation (thesis 5.3, 6.3, Table 3, Figure 18) -----------------------------------------------------

def _thesis_points() -> pd.DataFrame:
    return pd.DataFrame({"shared_acc": [v / 100 for _, _, v, _ in THESIS_TABLE3],
                         "test_acc": [f / 100 for _, _, _, f in THESIS_TABLE3]})


def estimation_scatter(finals: pd.DataFrame, caption: str | None = None, thesis: bool = True):
    """Shared-weight accuracy (x) against retrained test accuracy (y) of the same architectures, a colour per seed
    and a panel per space (the thesis' Figure 18); with `thesis`, its Table 3 points beside, marked as the thesis'."""
    import altair as alt

    title = "Shared-weight accuracy vs retrained accuracy"
    finals = finals.dropna(subset=["shared_acc"])  # random architectures have no shared-weight score
    if finals.empty:
        return _empty(title, caption)
    frame = finals[["space", "seed", "shared_acc", "test_acc", "label"]].copy()
    frame["seed"] = frame["seed"].astype(str)
    x = alt.X("shared_acc:Q", title="shared-weight validation accuracy", axis=alt.Axis(format="%"),
              scale=alt.Scale(zero=False))
    y = alt.Y("test_acc:Q", title="retrained test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    panels = [alt.Chart(frame[frame["space"] == space], title=f"ours, {space}").mark_point(
        filled=True, size=60).encode(x=x, y=y, color=alt.Color("seed:N", title="seed", legend=_legend())).properties(
        width=2 * WIDTH - 40, height=2 * WIDTH - 40) for space in dict.fromkeys(frame["space"])]
    if thesis:
        panels.append(alt.Chart(_thesis_points(), title="thesis, Table 3 (CIFAR-100, macro, epoch 155)").mark_point(
            filled=True, size=60, color="black", shape="diamond").encode(x=x, y=y).properties(width=2 * WIDTH - 40, height=2 * WIDTH - 40))
    return alt.hconcat(*panels).resolve_scale(x="independent", y="independent").properties(
        title=_title(title, caption))


def top_k(n: int) -> int:
    """The k of precision@k for n architectures: a third of them, rounded up."""
    return max(1, math.ceil(n / 3))


def _rank_row(x, y, precision: float) -> dict:
    k = top_k(len(x))
    stats, note = _quietly(analysis.rank_agreement, x, y, k, precision)
    e = {name: analysis.Estimate(r["value"], r["low"], r["high"], r["n"], r["p_value"]) for name, r in
         stats.iterrows()}
    return {"n": len(x), "Kendall τ [95% CI], p": _ci_p(e["kendall_tau"]),
            "Spearman ρ [95% CI], p": _ci_p(e["spearman_rho"]),
            f"sparse τ (bins of {100 * precision:g} point{'' if precision == 0.01 else 's'}) [95% CI], p": _ci_p(e["sparse_kendall_tau"]),
            "k": k, "precision@k [95% CI]": _ci(e["precision_at_k"]), "note": note}


def rank_table(finals: pd.DataFrame, precision: float = 0.01) -> pd.DataFrame:
    """Rank agreement (`analysis.rank_agreement`) between shared-weight and retrained accuracy, per space and seed
    and pooled over the seeds; precision@k with k = `top_k(n)`."""
    rows = []
    frame = finals.dropna(subset=["shared_acc", "test_acc"])
    for space, s in frame.groupby("space"):
        groups = [(str(seed), g) for seed, g in s.groupby("seed")] + [("pooled", s)]
        for seeds, g in groups:
            rows.append({"space": space, "seed": seeds,
                         **_rank_row(g["shared_acc"].to_numpy(float), g["test_acc"].to_numpy(float), precision)})
    return pd.DataFrame(rows).set_index(["space", "seed"]) if rows else pd.DataFrame()


def proxy_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Per space, pooled over the seeds: Kendall τ of the retrained accuracy with the shared-weight accuracy and with
    a zero-cost proxy, the parameter count, over the same rescored architectures: is sharing weights better than
    counting them?"""
    rows = []
    frame = finals.dropna(subset=["shared_acc", "test_acc", "params"])
    for space, s in frame.groupby("space"):
        y = s["test_acc"].to_numpy(float)
        for name, column in (("shared-weight accuracy", "shared_acc"), ("parameter count", "params")):
            e, note = _quietly(analysis.kendall_tau, s[column].to_numpy(float), y)
            rows.append({"space": space, "predictor": name, "n": len(s), "Kendall τ [95% CI], p": _ci_p(e),
                         "note": note})
    return pd.DataFrame(rows).set_index(["space", "predictor"]) if rows else pd.DataFrame()


def estimation_vs_random(finals: pd.DataFrame) -> pd.DataFrame:
    """Per space: the rescored architecture ranked best by the shared weights (one per search), and all rescored
    picks, against the random architectures retrained the same way (`versus_random`'s statistics)."""
    frame = finals.copy()
    if frame.empty:
        return pd.DataFrame()
    random = frame["parent"].isna()
    best = frame["label"].str.endswith("-rank01")
    frame = pd.concat([frame[best].assign(group="best by shared weights (rank 1)"),
                       frame[~random].assign(group="all rescored picks"), frame[random].assign(group=RANDOM)])
    frame["pick"] = np.where(frame["group"] == RANDOM, RANDOM, "middle epoch")
    rows = []
    for space, s in frame.groupby("space"):
        rand = s.loc[s["group"] == RANDOM, "test_acc"].to_numpy(float)
        for group, g in s[s["group"] != RANDOM].groupby("group", sort=False):
            method = g["test_acc"].to_numpy(float)
            ri, note_ri = _quietly(analysis.relative_improvement, method, rand)
            pb, note_pb = _quietly(analysis.prob_beats_random, method, rand)
            rows.append({"space": space, "architectures": group, "n (picks, random)": f"{len(method)}, {len(rand)}",
                         "mean (%)": pct(method.mean()), "random mean (%)": pct(rand.mean()) if len(rand) else NA,
                         "RI (%) [95% CI], Welch p": _ci_p(ri), "P(beats random) [95% CI], Mann–Whitney p": _ci_p(pb),
                         "note": "; ".join(dict.fromkeys(n for n in (note_ri, note_pb) if n))})
    return pd.DataFrame(rows).set_index(["space", "architectures"]) if rows else pd.DataFrame()


def thesis_rank_table(precision: float = 0.01) -> pd.DataFrame:
    """The same statistics computed here from the thesis' Table 3 (5 architectures, CIFAR-100, macro, epoch 155)."""
    points = _thesis_points()
    row = _rank_row(points["shared_acc"].to_numpy(), points["test_acc"].to_numpy(), precision)
    return pd.DataFrame([{"source": "thesis, Table 3 (computed here)", **row}]).set_index("source")


# -- transfer (thesis 5.1, 6.1, Table 1) ---------------------------------------------------------------------------

def transfer_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Retrained test accuracy (%) on the target task per space, sampled epoch and controller (fresh, transferred,
    uniform), a value per seed and their mean, then the random architectures."""
    frame, rows = with_roles(finals), []
    for space, s in frame.groupby("space"):
        searched = s[s["role"] != RANDOM].copy()
        searched["source_epoch"] = pd.to_numeric(searched["source_epoch"]).astype(int)
        for (epoch, role), g in searched.groupby(["source_epoch", "role"]):
            rows.append({"space": space, "sampled epoch": str(epoch), "controller": role,
                         "per seed (%)": ", ".join(pct(a) for a in g.sort_values("seed")["test_acc"]),
                         "mean (%)": pct(g["test_acc"].mean())})
        random = s[s["role"] == RANDOM]
        if not random.empty:
            rows.append({"space": space, "sampled epoch": "", "controller": RANDOM,
                         "per seed (%)": ", ".join(pct(a) for a in random.sort_values("seed")["test_acc"]),
                         "mean (%)": pct(random["test_acc"].mean())})
    order = {r: i for i, r in enumerate(ROLES)}
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values(["space", "sampled epoch", "controller"],
                          key=lambda c: c.map(lambda v: order.get(v, len(order))) if c.name == "controller" else
                          c.map(lambda v: (v == "", int(v) if v else 0)) if c.name == "sampled epoch" else c)
    return out.set_index(["space", "sampled epoch", "controller"])


def _transfer_groups(finals: pd.DataFrame):
    """(space, sampled epoch, fresh accs, transferred accs, `analysis.compare_groups` result, note) per group."""
    frame = with_roles(finals)
    frame = frame[frame["role"].isin(["fresh", "transferred"])]
    for (space, epoch), g in frame.groupby(["space", pd.to_numeric(frame["source_epoch"]).astype(int)]):
        a = g.loc[g["role"] == "fresh", "test_acc"].to_numpy(float)
        b = g.loc[g["role"] == "transferred", "test_acc"].to_numpy(float)
        c, note = _quietly(analysis.compare_groups, a, b)
        yield space, epoch, a, b, c, note


def transfer_comparison(finals: pd.DataFrame) -> pd.DataFrame:
    """Per space and sampled epoch: fresh (a) vs transferred (b) controllers' picks, `analysis.compare_groups`."""
    rows = []
    for space, epoch, a, b, c, note in _transfer_groups(finals):
        rows.append({"space": space, "sampled epoch": epoch, "n (fresh, transferred)": f"{len(a)}, {len(b)}",
                     "fresh (%)": pct(c.mean_a), "transferred (%)": pct(c.mean_b),
                     "transferred − fresh, points [95% CI], Welch p": _ci_p(c.difference, 100),
                     "Cliff's δ [95% CI], Mann–Whitney p": _ci_p(c.cliffs_delta), "note": note})
    return pd.DataFrame(rows).set_index(["space", "sampled epoch"]) if rows else pd.DataFrame()


def transfer_chart(finals: pd.DataFrame, caption: str | None = None):
    """Retrained test accuracy on the target task against the search epoch the architecture was picked at, a
    point per seed and controller, with the random architectures' mean as a dashed rule."""
    import altair as alt

    title = "Transfer: retrained accuracy on the target task"
    if finals.empty:
        return _empty(title, caption)
    frame = with_roles(finals)[["space", "role", "seed", "source_epoch", "test_acc"]]
    panels = []
    for space, s in frame.groupby("space"):
        searched = s[s["role"] != RANDOM]
        y = alt.Y("test_acc:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
        points = alt.Chart(searched).mark_point(filled=True, size=60, opacity=0.8).encode(
            x=alt.X("source_epoch:O", title="search epoch picked at"), y=y,
            color=alt.Color("role:N", title="controller", sort=list(ROLES), legend=_legend()), xOffset=alt.XOffset("role:N"))
        layers = [points]
        random = s[s["role"] == RANDOM]
        if not random.empty:
            mean = alt.Chart(pd.DataFrame({"test_acc": [random["test_acc"].mean()],
                                           "text": [f"{RANDOM} (mean of {len(random)})"]}))
            layers += [mean.mark_rule(strokeDash=[4, 4], color="gray").encode(y=y),
                       mean.mark_text(align="left", baseline="bottom", dx=4, dy=-2, color="gray").encode(
                           y=y, text="text:N", x=alt.value(0))]
        panels.append(alt.layer(*layers, title=f"{space} space").properties(width=3 * WIDTH, height=2 * HEIGHT))
    return alt.hconcat(*panels).properties(title=_title(title, caption))


# -- sentences for the pages (numbers computed, never typed) ---------------------------------------------------------

def _comparison_sentence(c: analysis.Comparison, note: str, a_name: str, b_name: str) -> str:
    """"A retrained to x% on average and B to y% (...)", or why they cannot be compared."""
    n_a, n_b = c.difference.n
    if not np.isfinite(c.mean_a):
        return (f"{a_name} and {b_name} are too few to compare (n = {n_a} and {n_b}: "
                f"{note.split(': ', 1)[-1] if note else 'undefined'})")
    text = (f"{a_name} retrained to {pct(c.mean_a)}% on average and {b_name} to {pct(c.mean_b)}% "
            f"(n = {n_a} and {n_b}): a difference of {_ci(c.difference, 100)} points (95% bootstrap interval), "
            f"Welch p = {_num(c.welch_p)}, Mann–Whitney p = {_num(c.mannwhitney_p)}")
    return text + (f" ({note})" if note else "")


def learning_curve_text(finals: pd.DataFrame, group: str = "reinforce") -> str:
    """Markdown, a line per space: the `group` controller's epoch-1 picks against its last-epoch picks."""
    frame, lines = picks(finals), []
    for space, g in frame[frame["group"] == group].groupby("space"):
        a = g.loc[g["pick"] == "epoch 1", "test_acc"].to_numpy(float)
        last = g.loc[_last_pick(g), "pick"]
        b = g.loc[_last_pick(g), "test_acc"].to_numpy(float)
        c, note = _quietly(analysis.compare_groups, a, b)
        b_name = f"those of {last.iloc[0].removesuffix(' (last)')}" if len(last) else "those of the last epoch"
        lines.append(f"- {space}: {_comparison_sentence(c, note, f'the {group} controller’s epoch-1 picks', b_name)}.")
    return "\n".join(lines) if lines else "No finished retrains yet."


def estimation_text(finals: pd.DataFrame, precision: float = 0.01) -> str:
    """Markdown, a line per space: Kendall's tau and Spearman's rho pooled over the seeds."""
    t, lines = rank_table(finals, precision), []
    if t.empty:
        return "No finished retrains yet."
    for space in dict.fromkeys(t.index.get_level_values("space")):
        row, searches = t.loc[(space, "pooled")], len(t.loc[space]) - 1
        lines.append(f"- {space}: over {row['n']} architectures from {searches} "
                     f"search{'es' if searches > 1 else ''}, Kendall τ = {row['Kendall τ [95% CI], p']}"
                     f"; Spearman ρ = {row['Spearman ρ [95% CI], p']}"
                     + (f"; {row['note']}" if row["note"] else "") + ".")
    return "\n".join(lines)


def transfer_text(finals: pd.DataFrame) -> str:
    """Markdown, a line per space and sampled epoch: fresh against transferred controllers' picks."""
    lines = []
    for space, epoch, _, _, c, note in _transfer_groups(finals):
        lines.append(f"- {space}, picked at epoch {epoch}: "
                     f"{_comparison_sentence(c, note, 'the fresh controllers’ architectures', 'the transferred ones')}.")
    return "\n".join(lines) if lines else "No finished retrains yet."
