"""The study's timing table and its estimate of the study's time alone, on made-up run dirs and load logs."""

import json
import os
import datetime as dt

import pandas as pd
import pytest

from enaslite.study import timing


def utc(hh_mm: str) -> float:
    return dt.datetime.fromisoformat(f"2026-11-29T{hh_mm}:00").replace(tzinfo=dt.timezone.utc).timestamp()


def make_run(root, kind, name, seconds, end, space="macro", classes=None):
    run = root / kind / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"space": space, "data": {"classes": classes}}))
    (run / "finished.json").write_text(json.dumps({"seconds": seconds}))
    os.utime(run / "finished.json", (end, end))
    return run


@pytest.fixture
def study(tmp_path):
    """Three macro retrains (two alone, one beside other work), one micro search before the load log began."""
    log = tmp_path / "load.log"
    log.write_text("".join(f"2026-11-29T10:{m:02d}:00 {load} 2.0 2.0\n"
                           for m, load in zip(range(0, 30), [2.2] * 10 + [4.5] * 10 + [2.5] * 10)))
    runs = tmp_path / "runs"
    dirs = [make_run(runs, "retrain", "a", 300.0, utc("10:06")),   # 10:01-10:06, load 2.2
            make_run(runs, "retrain", "b", 600.0, utc("10:19")),   # 10:09-10:19, mostly 4.5
            make_run(runs, "retrain", "c", 120.0, utc("10:25")),   # 10:23-10:25, load 2.5
            make_run(runs, "search", "d", 900.0, utc("09:00"), space="micro", classes=[0, 1, 2, 3, 4])]
    return runs, log, dirs


def test_rows_join_each_run_with_the_load_during_it(study):
    runs, log, _ = study
    rows = {r["run"]: r for r in timing.timing_rows(runs, log)}
    assert rows["retrain/a"]["load_mean"] == 2.2 and rows["retrain/a"]["load_samples"] == 6
    assert rows["retrain/b"]["load_max"] == 4.5 and rows["retrain/b"]["load_mean"] > timing.ALONE_LOAD
    assert rows["retrain/a"]["finished_utc"] == "2026-11-29T10:06:00"
    assert rows["search/d"]["load_samples"] == 0 and rows["search/d"]["load_mean"] == ""


def test_alone_estimate_uses_the_median_of_alone_runs_else_the_measured_time(study):
    runs, log, dirs = study
    table = timing.read_timing(timing.write_timing(runs, log, runs / "timing.csv"))
    cost = timing.alone_cost(dirs, table)
    retrain = cost.loc["macro retrain"]
    assert retrain["runs"] == 3 and retrain["made alone"] == 2
    assert retrain["alone, median (min)"] == 3.5                      # median of 5 and 2 minutes
    assert retrain["estimate alone (h)"] == pytest.approx(3 * 210 / 3600)
    assert retrain["measured (h)"] == pytest.approx(1020 / 3600)
    search = cost.loc["micro search, 5 classes"]
    assert search["made alone"] == 0 and search["estimate from"] == "measured (upper bound)"
    assert search["estimate alone (h)"] == 0.25
    total = cost.loc["whole study"]
    assert total["runs"] == 4 and total["estimate alone (h)"] == pytest.approx(3 * 210 / 3600 + 0.25)


def test_unfinished_runs_are_left_out_and_a_bad_log_line_is_named(study, tmp_path):
    runs, log, dirs = study
    (dirs[0] / "finished.json").unlink()
    cost = timing.alone_cost(dirs, pd.DataFrame(columns=timing.COLUMNS).set_index("run"))
    assert cost.loc["macro retrain", "runs"] == 2 and cost.loc["macro retrain", "made alone"] == 0
    bad = tmp_path / "bad.log"
    bad.write_text("2026-11-29T10:00:00 2.1 2 2\nnot a line\n")
    with pytest.raises(ValueError, match="argument `load_log`: line 2"):
        timing.read_load_log(bad)
    with pytest.raises(ValueError, match="argument `path`: expected a timing table"):
        (tmp_path / "x.csv").write_text("a,b\n1,2\n")
        timing.read_timing(tmp_path / "x.csv")


def test_budget_text_says_plainly_whether_the_estimate_fits(study):
    runs, log, dirs = study
    cost = timing.alone_cost(dirs, timing.read_timing(timing.write_timing(runs, log, runs / "timing.csv")))
    assert "within the 8-hour budget" in timing.budget_text(cost)
    assert "**over** the 0.1-hour budget by 0.3" in timing.budget_text(cost, budget_hours=0.1)
    assert "1 of the 2 kinds of run count at their measured time" in timing.budget_text(cost)
