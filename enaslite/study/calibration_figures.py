"""Tables of the calibration chapter (`experiments.calibration`): does the retrain budget tell architectures apart?

A calibration retrains a few random architectures once each (architecture i with seed i: the spread between
architectures) and the first of them with other training seeds (the seed-to-seed noise); `analysis.noise_vs_spread`
compares the two. Frames come from `results.load`; architectures are told apart by their labels
(``macro-random-s3``, ``macro-random-s0-train-s2``), training seeds by the `seed` column.
"""

from __future__ import annotations

import re

import pandas as pd

from enaslite import analysis
from enaslite.study.figures import _num, _quietly, pct

_LABEL = re.compile(r"-random(?:-c[0-9_]+)?-s(\d+)(?:-train-s\d+)?$")


def with_architecture(finals: pd.DataFrame) -> pd.DataFrame:
    """The calibration's retrains with `architecture` (the index i of ``-random-s{i}``); other rows are dropped."""
    arch = finals["label"].map(lambda label: _LABEL.search(label or "")) if len(finals) else pd.Series(dtype=object)
    out = finals[arch.notna()].copy() if len(finals) else finals.copy()
    out["architecture"] = arch[arch.notna()].map(lambda m: int(m.group(1))) if len(out) else pd.Series(dtype=int)
    return out


def groups(finals: pd.DataFrame, space: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(seed runs: architecture 0 under every training seed, architecture runs: architecture i with seed i)."""
    f = with_architecture(finals)
    f = f[f["space"] == space]
    seed_runs = f[f["architecture"] == 0].sort_values("seed")
    arch_runs = f[f["architecture"] == f["seed"]].sort_values("architecture")
    return seed_runs, arch_runs


def calibration_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy (%) of every calibration retrain, by space, architecture and training seed."""
    f = with_architecture(finals)
    if f.empty:
        return pd.DataFrame()
    f["test acc (%)"] = (100 * f["test_acc"]).round(2)
    f["measures"] = ["seed noise and spread" if a == s == 0 else "seed noise" if a == 0 else "spread"
                     for a, s in zip(f["architecture"], f["seed"])]
    f = f.rename(columns={"seed": "training seed"}).sort_values(["space", "architecture", "training seed"])
    return f.set_index(["space", "architecture", "training seed"])[["measures", "test acc (%)"]]


def verdict_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Per space: the seed-to-seed noise and the spread between architectures (sample SDs, in points), their ratio
    and `analysis.noise_vs_spread`'s verdict."""
    rows = []
    for space in dict.fromkeys(with_architecture(finals)["space"]):
        seed_runs, arch_runs = groups(finals, space)
        c, note = _quietly(analysis.noise_vs_spread, seed_runs["test_acc"], arch_runs["test_acc"])
        rows.append({"space": space, "seeds of one architecture": c.n_seeds, "architectures": c.n_archs,
                     "seed noise, SD (points)": _num(100 * c.noise, 2),
                     "architecture spread, SD (points)": _num(100 * c.spread, 2),
                     "spread / noise": _num(c.ratio, 2), f"distinguishable ({c.rule})": "yes" if c.distinguishable
                     else "no", "note": note})
    return pd.DataFrame(rows).set_index("space") if rows else pd.DataFrame()


def verdict_text(finals: pd.DataFrame) -> str:
    """Markdown, a line per space: what the calibration says the budget can and cannot resolve."""
    lines = []
    for space in dict.fromkeys(with_architecture(finals)["space"]):
        seed_runs, arch_runs = groups(finals, space)
        c, note = _quietly(analysis.noise_vs_spread, seed_runs["test_acc"], arch_runs["test_acc"])
        if note:
            lines.append(f"- **{space}**: no verdict yet ({note}).")
            continue
        accs = arch_runs["test_acc"]
        head = (f"- **{space}**: {c.n_archs} random architectures retrained to {pct(accs.min())}–{pct(accs.max())}% "
                f"(SD {100 * c.spread:.2f} points); one of them under {c.n_seeds} seeds varied by SD "
                f"{100 * c.noise:.2f} points, a ratio of {c.ratio:.2f}. ")
        if c.distinguishable:
            lines.append(head + "The architectures differ by more than twice the seed noise: at this budget the "
                                "retrained accuracy can rank them.")
        else:
            lines.append(head + f"That is below the rule ({c.rule}): at this budget seed noise is a large part of "
                                "the differences between architectures, so rank statistics between shared-weight and "
                                "retrained accuracy are attenuated, and the difference between two single retrains "
                                f"has a standard deviation of about {141 * c.noise:.1f} points from the seeds alone.")
    return "\n".join(lines) if lines else "No finished calibration runs yet."
