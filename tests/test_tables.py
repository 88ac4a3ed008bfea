"""Tests for enaslite.tables: preset, thesis, search-space and environment tables."""

import json
import math

import pytest

from enaslite import tables
from enaslite.config import preset
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc


def test_presets_of_space():
    """Each space lists its presets in PRESETS order; smoke (macro) only on request."""
    assert tables.presets_of("macro") == ["enas-macro", "thesis-macro", "thesis-macro-bug", "cpu-macro",
                                          "cpu-macro-bug"]
    assert tables.presets_of("micro") == ["enas-micro", "thesis-micro", "cpu-micro"]
    assert "smoke" in tables.presets_of("macro", include_smoke=True)


def test_hyperparameter_table_reads_the_presets():
    """Each cell is the preset's own field; None becomes "full pass" / "off"; branches default to all ops."""
    t = tables.hyperparameter_table("macro")
    assert list(t.columns) == tables.presets_of("macro")
    assert t.loc[("search child", "layers"), "enas-macro"] == 12
    assert t.loc[("search child", "layers"), "thesis-macro"] == 24
    assert t.loc[("retrain child", "keep prob (dropout)"), "enas-macro"] == preset("enas-macro").final.keep_prob
    assert t.loc[("search child", "steps per epoch"), "cpu-macro"] == 100
    assert t.loc[("search child", "steps per epoch"), "enas-macro"] == "full pass"
    assert t.loc[("search child", "ops to choose from"), "cpu-macro"] == 6
    assert t.loc[("controller", "LSTM units"), "thesis-macro"] == 100
    assert t.loc[("search child", "reference's inert-op bug"), "thesis-macro-bug"] is True
    micro = tables.hyperparameter_table("micro")
    assert micro.loc[("search child", "drop-path keep prob"), "enas-micro"] == "off"
    assert micro.loc[("retrain child", "drop-path keep prob"), "enas-micro"] == 0.6


def test_hyperparameter_table_rows_follow_the_space():
    """Cell rows appear for micro only, skip-penalty rows and the inert-op bug for macro only."""
    macro = tables.hyperparameter_table("macro").index.get_level_values(1)
    micro = tables.hyperparameter_table("micro").index.get_level_values(1)
    assert "nodes per cell (B)" in micro and "nodes per cell (B)" not in macro
    assert "skip target" in macro and "skip target" not in micro
    assert "reference's inert-op bug" in macro and "reference's inert-op bug" not in micro
    sections = list(dict.fromkeys(tables.hyperparameter_table("macro").index.get_level_values(0)))
    assert sections == ["data", "search child", "retrain child", "controller", "search space"]


def test_hyperparameter_table_space_size_is_the_packages():
    """The search-space row is MacroArc/MicroArc.search_space_size of the search child, formatted."""
    t = tables.hyperparameter_table("macro", presets=["enas-macro"])
    assert t.loc[("search space", "architectures (search child)"), "enas-macro"] == tables.sci(
        MacroArc.search_space_size(12, 6))
    t = tables.hyperparameter_table("micro", presets=["cpu-micro"])
    assert t.loc[("search space", "architectures (search child)"), "cpu-micro"] == tables.sci(
        MicroArc.search_space_size(5, 5))


@pytest.mark.parametrize("space, presets, message", [
    ("meso", None, "argument `space`: expected one of ['macro', 'micro'], received 'meso'"),
    ("macro", ["enas-micro"], "argument `presets`: expected macro presets, received 'enas-micro' (micro)"),
    ("macro", ["nope"], "argument `presets`: expected names among"),
])
def test_bad_arguments(space, presets, message):
    """A wrong space or preset raises naming the argument."""
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        tables.hyperparameter_table(space, presets=presets)


@pytest.mark.parametrize("space", ["macro", "micro"])
def test_thesis_table_prints_the_thesis_values(space):
    """The thesis column is the section 5 table as printed (in order), then the values from its text."""
    t = tables.thesis_table(space)
    printed = [(label, value) for label, value in tables.THESIS_TABLES[space]]
    assert list(zip(t.index, t["thesis"]))[:12] == printed
    assert list(t["source"][:12]) == ["section 5 table"] * 12
    assert t.loc["controller LSTM units", "thesis"] == 100


def test_thesis_table_shows_where_the_preset_puts_each_value():
    """thesis-macro uses every thesis value; thesis-micro puts the 15 layers x 36 filters in the retrain child."""
    macro = tables.thesis_table("macro")
    assert "no" not in set(macro["preset uses it"])
    assert macro.loc["number of child layers", "preset uses it"] == "both"
    assert macro.loc["controller learning rate", "preset uses it"] == "search"
    micro = tables.thesis_table("micro")
    assert micro.loc["number of child layers", "preset uses it"] == "retrain"
    assert micro.loc["number of child layers", "thesis-micro search"] == 6
    assert micro.loc["retrain epochs", "thesis-micro retrain"] == 310


def test_thesis_table_flags_a_value_no_preset_uses(monkeypatch):
    """A thesis value the preset does not hold is marked "no"."""
    rows = [("batch size", 999)] + tables.THESIS_TABLES["macro"][1:]
    monkeypatch.setitem(tables.THESIS_TABLES, "macro", rows)
    assert tables.thesis_table("macro").loc["batch size", "preset uses it"] == "no"


def test_space_size_table():
    """Per preset and phase: the size parameter, ops, the formatted size and its log10."""
    macro = tables.space_size_table("macro")
    row = macro.loc[("enas-macro", "retrain")]
    assert row["layers (L)"] == 24 and row["ops"] == 6
    assert row["architectures"] == tables.sci(6 ** 24 * 2 ** 276)
    assert row["log10"] == round(math.log10(6 ** 24 * 2 ** 276), 1)
    micro = tables.space_size_table("micro")
    row = micro.loc[("enas-micro", "search")]
    assert row["architectures"] == tables.sci(600 ** 4)
    assert row["log10 (encodings)"] > row["log10"]


def test_space_size_curve():
    """Macro for L = 1..24, micro for B = 1..7 under both counts, logs increasing."""
    curve = tables.space_size_curve()
    assert len(curve) == 24 + 2 * 7
    macro = curve[curve["space"] == "macro"]["log10 architectures"]
    assert macro.is_monotonic_increasing
    assert math.isclose(macro.iloc[-1], math.log10(MacroArc.search_space_size(24)))


@pytest.mark.parametrize("n, text", [(0, "0"), (9999, "9999"), (10_000, "1.0 × 10⁴"), (16 * 10 ** 28, "1.6 × 10²⁹"),
                                     (99_600, "1.0 × 10⁵"), (10 ** 400, "1.0 × 10⁴⁰⁰")])
def test_sci(n, text):
    """Big ints read as a mantissa times a power of ten in superscript digits."""
    assert tables.sci(n) == text


def test_environment_table():
    """The environment table names Python, the cores and this package's version."""
    env = tables.environment_table()
    assert {"python", "cores available", "enaslite", "graphviz"} <= set(env.index)
    assert env.loc["enaslite", "value"] == __import__("enaslite").__version__


def _run(root, name, kind, seed, epochs=None, mode="reinforce"):
    d = root / name
    d.mkdir(parents=True)
    config = preset("smoke", seed=seed).override(**{"controller.mode": mode})
    (d / "config.json").write_text(config.to_json())
    (d / "run.json").write_text(json.dumps({"kind": kind}))
    if epochs is not None:
        (d / "finished.json").write_text(json.dumps({"epochs": epochs}))


def test_runs_table(tmp_path):
    """Each run dir (config.json + run.json) gives its kind, preset, seed and finished epochs, sorted by path."""
    _run(tmp_path, "search/b", "search", seed=3, epochs=2, mode="uniform")
    _run(tmp_path, "retrain/a", "retrain", seed=7)
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "config.json").write_text("{}")  # not a run: no run.json
    t = tables.runs_table(tmp_path)
    assert list(t.index) == ["retrain/a", "search/b"]
    assert list(t["seed"]) == [7, 3]
    assert list(t["controller"]) == ["", "uniform"]
    assert list(t["finished"]) == [False, True]
    assert t["epochs"].iloc[1] == 2 and t["epochs"].isna().iloc[0]


def test_runs_table_of_absent_root(tmp_path):
    """An absent root is an empty table with the usual columns."""
    t = tables.runs_table(tmp_path / "none")
    assert t.empty and [t.index.name, *t.columns] == tables.RUN_COLUMNS
