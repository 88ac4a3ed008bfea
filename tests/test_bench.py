import pytest

from enaslite.bench import run_bench
from enaslite.config import preset


def test_bench_writes_table(tmp_path):
    """The benchmark measures (a)-(d) and saves its table; this checks structure, not speed."""
    cfg = preset("smoke", **{"search.steps_per_epoch": 2})
    r = run_bench(cfg, tmp_path, steps=2, repeats=1, num_arcs=2)
    assert r["a_new_over_same"] > 0 and r["b_supernet_over_plain"] > 0
    assert 0 < r["c_ctrl_share_without_rewards"] < 1 and r["d_peak_rss_mib"] > 0
    assert (tmp_path / "smoke-macro.md").read_text().startswith("bench: preset smoke")
    assert (tmp_path / "smoke-macro.json").exists()


def test_bench_rejects_steps_not_shared_evenly(tmp_path):
    """Both sides of (a) need the same work, so `steps` must split evenly over the sampled architectures."""
    with pytest.raises(ValueError, match=r"argument `steps`: expected a positive multiple of num_arcs=3, received 4"):
        run_bench(preset("smoke"), tmp_path, steps=4, num_arcs=3)
    with pytest.raises(ValueError, match=r"argument `repeats`: expected an int >= 1, received 0"):
        run_bench(preset("smoke"), tmp_path, steps=4, repeats=0, num_arcs=2)
