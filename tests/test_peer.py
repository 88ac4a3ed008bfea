import json
import os
import subprocess
import sys

import pytest

from enaslite import peer
from enaslite.cli import main
from enaslite.config import preset

# The interpreter with NNI 2.8 (e.g. a virtualenv's bin/python); the NNI side is tested only where it imports nni.
PEER_PYTHON = os.environ.get("ENASLITE_PEER_PYTHON", sys.executable)


def _peer_reason():
    """Why the NNI side can't run here, or None."""
    try:
        proc = subprocess.run([PEER_PYTHON, str(peer.NNI_WORKER), "--check"], capture_output=True, text=True,
                              timeout=120)
    except OSError as e:
        return f"ENASLITE_PEER_PYTHON={PEER_PYTHON!r} does not run ({e})"
    if proc.returncode != 0:
        return f"{PEER_PYTHON} can't import NNI 2.8 and torch (set ENASLITE_PEER_PYTHON to one that can)"
    try:
        peer.fetch_nni_example(peer.default_example_dir())
    except ValueError as e:
        return f"NNI's example files are not in {peer.default_example_dir()} and can't be fetched ({e})"
    return None


def _fake_run(r, ours, theirs):
    """One round's figures: enaslite at `ours` img/s, NNI at `theirs`, batch 64, 30 steps."""
    def side(ips, first, rss):
        m = {key: {"images_per_s": ips, "cpu_seconds_per_1000_images": 2000 / ips, "cores_used": 2.0}
             for key in peer.MEASURES}
        return {**m, "first_step_s": first, "first_step_cpu_s": 2 * first, "peak_rss_mib": rss,
                "versions": {"keras": "3.15.1", "backend": "tensorflow"}}
    return {"round": r, "order": ["enaslite", "nni"], "enaslite": side(ours, 8.0, 1200.0),
            "nni": side(theirs, 3.0, 800.0)}


def _config():
    return preset("enas-macro", **{"data.dataset": "synthetic", "search.out_filters": 24,
                                   "search.batch_size": 64, "search.augment": False})


# -- arguments ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--rounds", "3"], "argument `--rounds`: expected it only with --peer nni, received 3 without --peer"),
    (["--peer-python", "py"], "argument `--peer-python`: expected it only with --peer nni, received 'py' without"),
    (["--peer", "nni", "--repeats", "2"], "argument `--repeats`: expected it only without --peer (use --rounds), "
                                          "received 2 with --peer nni"),
    (["--peer", "nni", "--retrain"],
     "argument `--retrain`: expected it only without --peer, received it with --peer nni"),
    (["--peer", "torch"], "argument `--peer`: expected one of 'nni', received 'torch'"),
    (["--peer", "nni", "--preset", "cpu-micro"], "argument `--space`: expected macro with --peer nni"),
    (["--peer", "nni", "--peer-python", "/no/such/python"],
     "argument `--peer-python`: expected a Python interpreter, received '/no/such/python' (not an executable"),
    (["--peer", "nni", "--steps", "1", "--peer-python", sys.executable],
     "argument `steps`: expected an int >= 2 (the first step is timed apart), received 1"),
    (["--dataset", "mnist"], "argument `data.dataset`: expected one of ['cifar10', 'cifar100', 'fashion_mnist', "
                             "'synthetic'] or a path"),
    (["--set", "search.nope=1"], "argument `--set search.nope=1`: expected a field of search"),
])
def test_bench_arguments_refused_before_any_work(argv, message, capsys, tmp_path):
    """Each bad bench argument stops the command with one house-style line, before any process or file."""
    assert main(["bench", "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}"), err
    assert not (tmp_path / "out").exists()


def test_peer_python_without_nni_is_refused(monkeypatch, capsys, tmp_path):
    """A peer interpreter that can't import NNI is named in the error, with what failed, before any compute."""
    proc = subprocess.run([sys.executable, "-c", "import nni"], capture_output=True)
    if proc.returncode == 0:
        pytest.skip("this interpreter imports nni")
    monkeypatch.setattr(peer, "fetch_nni_example", lambda folder: {})
    assert main(["bench", "--peer", "nni", "--peer-python", sys.executable, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: argument `--peer-python`: expected a Python that imports NNI 2.8, its v1 ENAS "
                          f"trainer and torch (see README, \"Speed\"), received {sys.executable!r} "
                          f"(ModuleNotFoundError: No module named 'nni')")


def test_example_files_must_be_nni_2_8s(tmp_path):
    """A folder whose macro.py is not NNI v2.8's is refused (the space must be the one the README names)."""
    (tmp_path / "macro.py").write_text("class GeneralNetwork: pass\n")
    (tmp_path / "ops.py").write_text("")
    with pytest.raises(ValueError, match=r"argument `--peer-example`: expected NNI v2.8's macro.py \(sha256 "
                                         r"f0568f747438\.\.\.\), received .*macro.py' with sha256 "):
        peer.fetch_nni_example(tmp_path)
    with pytest.raises(ValueError, match=r"argument `--peer-example`: expected a folder .*, received the file"):
        peer.fetch_nni_example(tmp_path / "ops.py")


def test_example_download_failure_and_wrong_content(tmp_path, monkeypatch):
    """A failed download says what to do; downloaded bytes that are not v2.8's are refused and never saved."""
    import urllib.request

    def offline(url, timeout):
        raise OSError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ValueError, match=r"argument `--peer-example`: expected a folder holding NNI v2.8's macro.py "
                                         r"\(downloading https://\S+/v2.8/examples/nas/oneshot/enas/macro.py failed: "
                                         r"Name or service not known; save it there by hand\), received "):
        peer.fetch_nni_example(tmp_path / "cache")

    class Page:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"<html>not found</html>"

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Page())
    with pytest.raises(ValueError, match=r"expected NNI v2.8's macro.py \(sha256 f0568f747438\.\.\.\), received "
                                         r"'https://\S+/macro.py' with sha256"):
        peer.fetch_nni_example(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_run_peer_bench_checks_rounds_and_steps():
    """rounds >= 1 and steps >= 2, refused in the house style before anything runs."""
    with pytest.raises(ValueError, match=r"argument `rounds`: expected an int >= 1, received 0"):
        peer.run_peer_bench(_config(), rounds=0)
    with pytest.raises(ValueError, match=r"argument `steps`: expected an int >= 2 \(the first step is timed apart\), "
                                         r"received 1"):
        peer.run_peer_bench(_config(), steps=1)


# -- figures and table ----------------------------------------------------------------------------------------------

def test_measures_from_marks():
    """img/s, CPU-seconds per 1,000 images and cores come from the marks; the first step is timed from launch."""
    marks = [[100.0, 5.0], [104.0, 9.0], [105.0, 11.0], [106.0, 13.0]]  # start, then the end of 3 steps
    m = peer.measures({"marks": marks, "peak_rss_mib": 500.0}, launched=90.0, batch_size=50)
    assert m["steady"] == {"images_per_s": 50.0, "cpu_seconds_per_1000_images": 40.0, "cores_used": 2.0}
    assert m["pass"]["images_per_s"] == 150 / 6 and m["pass"]["cores_used"] == 8 / 6
    assert m["first_step_s"] == 14.0 and m["first_step_cpu_s"] == 9.0 and m["peak_rss_mib"] == 500.0


def test_table_reports_spread_and_ratios():
    """The table gives min / median / max per side and the enaslite / NNI ratio of the medians."""
    runs = [_fake_run(1, 300.0, 100.0), _fake_run(2, 200.0, 160.0), _fake_run(3, 240.0, 120.0)]
    data = {"input_shape": [32, 32, 3], "num_classes": 10, "n_train": 5000, "n_valid": 5000, "n_test": 1000}
    versions = {"nni": "2.8", "torch": "2.13.0+cpu"}
    r = peer.summarize(_config(), runs, peer="nni", steps=30, data=data, peer_versions=versions, load=[1.0, 1.5])
    assert r["ratios"]["steady"]["images_per_s"] == 2.0
    assert r["per_round_steady_images_per_s_ratio"] == {"min": 1.25, "median": 2.0, "max": 3.0}
    json.dumps(r)  # saved as JSON
    table = peer.format_table(r)
    lines = table.splitlines()
    assert lines[0].startswith("peer bench: enaslite (Keras 3.15.1, tensorflow) vs NNI 2.8 (v1 ENAS trainer, torch "
                               "2.13.0+cpu), macro space, 12 layers x 24 filters, batch 64, 32x32x3 input")
    assert "| measure | enaslite | NNI 2.8 | enaslite / NNI (medians) |" in lines
    assert ("| img/s, steps 2-30 (higher is faster) | 200.0 / 240.0 / 300.0 | 100.0 / 120.0 / 160.0 | 2.00 (per "
            "round 1.25-3.00) |") in lines
    assert ("| CPU-seconds per 1,000 images, steps 2-30 (lower is cheaper) | 6.67 / 8.33 / 10.00 | "
            "12.50 / 16.67 / 20.00 | 0.50 |") in lines
    assert "| cores used (CPU s / wall s), steps 2-30 | 2.00 / 2.00 / 2.00 | 2.00 / 2.00 / 2.00 | |" in lines
    assert "| seconds from launch to the end of the first step | 8.0 / 8.0 / 8.0 | 3.0 / 3.0 / 3.0 | 2.67 |" in lines
    assert "| peak resident memory (MiB) | 1200 / 1200 / 1200 | 800 / 800 / 800 | 1.50 |" in lines
    assert "1-minute load average 1.00 before, 1.50 after; thread settings: " in lines[-1]


def test_output_names():
    """Results go to <out>/<preset>-<space>-vs-nni.{json,md}."""
    json_path, md_path = peer.output_paths(_config(), "x")
    assert (str(json_path), str(md_path)) == ("x/enas-macro-macro-vs-nni.json", "x/enas-macro-macro-vs-nni.md")


# -- real processes -------------------------------------------------------------------------------------------------

def _tiny():
    return preset("smoke", **{"data.dataset": "synthetic", "search.augment": False})


@pytest.fixture(scope="module")
def enaslite_run(tmp_path_factory):
    """(launch time, result) of one real enaslite worker process at the smoke scale, 3 steps."""
    cwd = tmp_path_factory.mktemp("cwd")
    cmd = [sys.executable, "-m", "enaslite.peer", json.dumps(peer.enaslite_spec(_tiny(), 3))]
    return cwd, peer._run_worker("enaslite", cmd, cwd)


def test_enaslite_worker_times_a_real_pass(enaslite_run):
    """The enaslite worker, in a fresh process, trains the supernet with a new arc per step and reports its marks."""
    cwd, (launched, result) = enaslite_run
    assert len(result["marks"]) == 4 and result["data"]["input_shape"] == [32, 32, 3]
    m = peer.measures(result, launched, 16)
    assert m["steady"]["images_per_s"] > 0 and m["first_step_s"] > 0 and m["peak_rss_mib"] > 0
    assert list(cwd.iterdir()) == []  # nothing written into its working directory


def test_peer_bench_end_to_end(enaslite_run, tmp_path, monkeypatch):
    """One round against NNI 2.8 (where the peer interpreter has it) writes the table and the JSON.
    The enaslite side reuses the worker run above (one TensorFlow start-up fewer); the NNI process is real."""
    reason = _peer_reason()
    if reason:
        pytest.skip(reason)
    real = peer._run_worker
    monkeypatch.setattr(peer, "_run_worker", lambda side, cmd, cwd: enaslite_run[1] if side == "enaslite"
                        else real(side, cmd, cwd))
    r = peer.run_peer_bench(_tiny(), peer_python=PEER_PYTHON, rounds=1, steps=3, out_dir=tmp_path)
    assert r["versions"]["nni"]["nni"].startswith("2.8") and len(r["runs"][0]["nni"]["marks"]) == 4
    assert (tmp_path / "smoke-macro-vs-nni.md").read_text().startswith("peer bench: enaslite")
    assert json.loads((tmp_path / "smoke-macro-vs-nni.json").read_text())["rounds"] == 1
