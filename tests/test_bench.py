import pytest

from enaslite.bench import format_table, run_bench
from enaslite.config import preset


def test_bench_writes_table(tmp_path):
    """The benchmark measures (a)-(d) and saves its table, with any thread settings of the environment; this
    checks structure, not speed."""
    cfg = preset("smoke", **{"search.steps_per_epoch": 2})
    r = run_bench(cfg, tmp_path, steps=2, repeats=1, num_arcs=2)
    assert r["a_new_over_same"] > 0 and r["b_supernet_over_plain"] > 0
    assert 0 < r["c_ctrl_share_without_rewards"] < 1 and r["d_peak_rss_mib"] > 0
    assert (tmp_path / "smoke-macro.md").read_text().startswith("bench: preset smoke")
    assert (tmp_path / "smoke-macro.json").exists()
    assert "(e)" not in format_table(r)  # (e) is optional
    r["thread_env"] = {"TF_NUM_INTRAOP_THREADS": "2"}  # thread settings from the environment are listed
    assert format_table(r).endswith("\n\nthread settings: TF_NUM_INTRAOP_THREADS=2")


def test_bench_rejects_steps_not_shared_evenly(tmp_path):
    """Both sides of (a) need the same work, so `steps` must split evenly over the sampled architectures."""
    with pytest.raises(ValueError, match=r"argument `steps`: expected a positive multiple of num_arcs=3, received 4"):
        run_bench(preset("smoke"), tmp_path, steps=4, num_arcs=3)
    with pytest.raises(ValueError, match=r"argument `repeats`: expected an int >= 1, received 0"):
        run_bench(preset("smoke"), tmp_path, steps=4, repeats=0, num_arcs=2)


def test_bench_retrain_loop_against_its_model(tmp_path):
    """`retrain=True` adds (e): the retrain model's own steps, retrain's epoch path and its eval passes, as img/s,
    CPU-seconds and cores, with the loop / model ratio against its 1.15 target; structure, not speed."""
    cfg = preset("smoke", **{"search.steps_per_epoch": 2, "data.valid_size": 64, "data.test_limit": 64})
    r = run_bench(cfg, tmp_path, steps=2, repeats=1, num_arcs=2, retrain=True)
    e = r["e_retrain"]
    for key in ("images_per_s", "cpu_seconds_per_1000_images", "cores_used"):
        assert set(e[key]) == {"model", "loop", "eval"} and all(v > 0 for v in e[key].values())
    assert all(e[k] > 0 for k in ("loop_over_model", "loop_over_model_cpu", "epoch_over_model",
                                  "epoch_over_model_cpu"))
    assert e["batch_size"] == cfg.final.batch_size and e["epoch_eval_images"] == 128
    table = (tmp_path / "smoke-macro.md").read_text()
    assert f"random arc `{e['arc']}`" in table
    assert f"| (e) loop / model, cost per image (CPU-seconds: {e['loop_over_model_cpu']:.3f}) | " in table
    assert "| <= 1.15 |" in table

