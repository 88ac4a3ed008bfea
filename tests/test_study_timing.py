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


def write_reruns(bench, name, runs, serial_wall, parallel_wall):
    """A parallel-jobs JSON as scripts/parallel_jobs.py writes it: `runs` maps committed run -> (serial s,
    parallel s)."""
    labels = [f"job{i}" for i in range(len(runs))]
    jobs = {m: {label: {"run": run, "seconds": times[i]} for label, (run, times) in zip(labels, runs.items())}
            for i, m in enumerate(("serial", "ray"))}
    bench.mkdir(exist_ok=True)
    (bench / name).write_text(json.dumps({"labels": labels, "ways": [
        {"mode": "serial", "wall_s": serial_wall, "jobs": jobs["serial"]},
        {"mode": "ray", "wall_s": parallel_wall, "jobs": jobs["ray"]}]}))


def test_reruns_count_as_alone_and_give_the_two_at_a_time_ratio(study, tmp_path):
    """Reruns made alone join the kind's median (the micro search had none: its estimate now comes from them);
    the wall-time ratio of a kind's reruns applies to its kinds with other class counts, and 1 elsewhere."""
    runs, log, dirs = study
    dirs.append(make_run(runs, "search", "e", 1200.0, utc("08:00"), space="micro"))
    bench = tmp_path / "bench"
    write_reruns(bench, "parallel-jobs-micro-search.json", {"search/e": (240.0, 400.0), "search/d": (360.0, 500.0)},
                 serial_wall=640.0, parallel_wall=480.0)
    reruns = timing.read_reruns(bench, runs)
    assert list(reruns["kind"]) == ["micro search", "micro search, 5 classes"]
    cost = timing.alone_cost(dirs, timing.read_timing(timing.write_timing(runs, log, runs / "t.csv")), reruns)
    full, half = cost.loc["micro search"], cost.loc["micro search, 5 classes"]
    assert full["reruns alone"] == 1 and full["estimate alone (h)"] == pytest.approx(240 / 3600)
    assert half["estimate from"] == "alone median" and half["estimate alone (h)"] == pytest.approx(360 / 3600)
    assert full["two at a time / one"] == half["two at a time / one"] == 0.75
    assert cost.loc["macro retrain", "two at a time / one"] == 1.0
    total = cost.loc["whole study"]
    assert total["estimate two at a time (h)"] == pytest.approx((3 * 210 + 0.75 * 600) / 3600)
    text = timing.budget_text(cost)
    assert "Two runs at a time with one thread each, it takes **0.30 h**: within the 8-hour budget" in text
    assert "(1 of the 3 kinds, with 3 runs, counted as one at a time" in text
    assert "Two runs at a time" not in timing.budget_text(timing.alone_cost(dirs, timing.read_timing(runs / "t.csv")))


def test_a_malformed_reruns_file_is_named(study, tmp_path):
    runs, _, _ = study
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "parallel-jobs-x.json").write_text(json.dumps({"labels": ["a"], "ways": [{"mode": "serial"}]}))
    with pytest.raises(ValueError, match=r"argument `bench_dir`: expected parallel-jobs-x.json as "
                                         r"scripts/parallel_jobs.py writes it"):
        timing.read_reruns(bench, runs)
