import io
import json
import os

import nbformat
import pytest

from enaslite.cli import build_parser, main
from enaslite.study import reproduce

EXPERIMENTS = ["calibration.ipynb", "searches.ipynb", "learning_curve.ipynb", "performance_estimation.ipynb",
               "transfer.ipynb", "reference_bug.ipynb"]
PARAMETERS = {"scale", "space", "dataset", "preset", "epochs", "seeds", "runs_dir"}


def test_toc_notebooks_in_book_order():
    """The notebooks of _toc.yml in its order: background, experiments, appendix (markdown pages left out)."""
    assert reproduce.toc_notebooks() == ["enas.ipynb", "setup.ipynb", *EXPERIMENTS, "conclusions.ipynb",
                                         "reproducibility.ipynb"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_notebooks_declare_the_common_parameters(name):
    """Every experiment notebook takes scale, space, dataset, preset, epochs, seeds and runs_dir."""
    assert PARAMETERS <= reproduce.declared_parameters(reproduce.BOOK / name)


def test_background_notebooks_take_no_parameters():
    """The background chapters have no parameters cell, so reproduce injects nothing into them."""
    assert reproduce.declared_parameters(reproduce.BOOK / "enas.ipynb") == set()


def test_hide_injected_tags_papermill_cell_once(tmp_path):
    """The injected-parameters cell gets remove-cell; a second call changes nothing and writes nothing."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.cells[0].metadata["tags"] = ["injected-parameters"]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert reproduce.hide_injected(path) is True
    assert json.loads(path.read_text())["cells"][0]["metadata"]["tags"] == ["injected-parameters", "remove-cell"]
    before = path.stat().st_mtime_ns
    assert reproduce.hide_injected(path) is False and path.stat().st_mtime_ns == before


def test_bad_arguments_fail_before_anything_is_written(tmp_path):
    """A bad scale, dataset or seed list fails naming it, before the build folder or runs dir exist."""
    for kwargs, message in [({"scale": "huge"}, "argument `scale`: expected one of"),
                            ({"dataset": "mnist"}, "argument `dataset`: expected None, one of"),
                            ({"seeds": [1, 1]}, "argument `seeds`: expected a non-empty list of distinct ints")]:
        with pytest.raises(ValueError, match=message):
            reproduce.reproduce(out=tmp_path / "out", runs_dir=tmp_path / "runs", **{"scale": "smoke", **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_out_folder_must_hold_a_book_copy(tmp_path):
    """An existing OUT/book that is not a copy of the book is refused, not deleted."""
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"argument `out`: expected a folder whose `book` is a previous copy"):
        reproduce.reproduce("smoke", out=tmp_path, runs_dir=tmp_path / "runs")
    assert (tmp_path / "book" / "mine.txt").read_text() == "keep me"


def test_smoke_runs_default_to_the_build_folder(tmp_path, monkeypatch):
    """At the smoke scale the runs go to OUT/runs-smoke unless --runs-dir says otherwise; the book is copied fresh."""
    calls = []
    monkeypatch.setattr(reproduce, "execute", lambda path, parameters, cwd, stderr: calls.append((path.name,
                                                                                                   parameters)))
    monkeypatch.setattr(reproduce.subprocess, "run", lambda *a, **k: type("R", (), {"returncode": 0})())
    html = reproduce.reproduce("smoke", out=tmp_path, seeds=[0], extra={"k": 2}, stream=io.StringIO())
    assert html == tmp_path / "_build" / "html"
    assert [name for name, _ in calls] == reproduce.toc_notebooks()
    assert calls[0][1] == {"scale": "smoke", "runs_dir": str(tmp_path / "runs-smoke"), "k": 2, "seeds": [0]}
    assert (tmp_path / "book" / "_toc.yml").is_file() and not (tmp_path / "book" / "_build").exists()


def test_cli_has_reproduce_with_its_options(capsys):
    """`python -m enaslite reproduce` takes --scale, --dataset, --runs-dir, --out and --seeds; a bad scale is one
    error line and exit status 2."""
    args = build_parser().parse_args(["reproduce", "--scale", "smoke", "--seeds", "0", "1", "--out", "o"])
    assert (args.scale, args.seeds, args.out, args.runs_dir, args.dataset) == ("smoke", [0, 1], "o", None, None)
    assert main(["reproduce", "--scale", "gpu"]) == 2
    assert "argument `--scale`: expected one of 'auto', 'smoke', 'cpu', 'thesis', received 'gpu'" in \
           capsys.readouterr().err


def test_ray_reaches_the_notebooks_through_the_environment(tmp_path, monkeypatch):
    """With --ray the notebooks run while ENASLITE_RUNNER=ray and the Ray address and thread count are set (the
    kernels inherit them, so `experiments.run` picks a RayRunner), and the environment is restored afterwards."""
    monkeypatch.delenv("ENASLITE_RUNNER", raising=False)
    seen = []
    monkeypatch.setattr(reproduce, "ray_environment", lambda runs_dir, address, threads, stream: {
        "ENASLITE_RUNNER": "ray", "ENASLITE_RAY_ADDRESS": address or "local:1", "ENASLITE_RAY_THREADS_PER_JOB":
        str(threads)})
    monkeypatch.setattr(reproduce, "execute", lambda path, parameters, cwd, stderr: seen.append(
        {k: os.environ.get(k) for k in ("ENASLITE_RUNNER", "ENASLITE_RAY_ADDRESS", "ENASLITE_RAY_THREADS_PER_JOB")}))
    monkeypatch.setattr(reproduce.subprocess, "run", lambda *a, **k: type("R", (), {"returncode": 0})())
    reproduce.reproduce("smoke", out=tmp_path, ray_address="head:6379", ray_threads_per_job=2, stream=io.StringIO())
    assert seen and all(s == {"ENASLITE_RUNNER": "ray", "ENASLITE_RAY_ADDRESS": "head:6379",
                              "ENASLITE_RAY_THREADS_PER_JOB": "2"} for s in seen)
    assert "ENASLITE_RUNNER" not in os.environ
    args = build_parser().parse_args(["reproduce", "--ray", "--ray-threads-per-job", "2"])
    assert (args.ray, args.ray_address, args.ray_threads_per_job) == (True, None, 2)
    assert build_parser().parse_args(["reproduce", "--ray"]).ray_threads_per_job is None  # RayRunner's default


def test_bad_ray_arguments_fail_before_anything_is_written(tmp_path):
    """A bad thread count or an empty address fails naming it, before Ray starts or anything is copied."""
    for kwargs, message in [({"ray": True, "ray_threads_per_job": 0}, "argument `threads_per_job`: expected an int"),
                            ({"ray_address": " "}, "argument `address`: expected None")]:
        with pytest.raises(ValueError, match=message):
            reproduce.reproduce("smoke", out=tmp_path / "out", runs_dir=tmp_path / "runs", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_check_lists_what_reproduce_would_compute(tmp_path, capsys):
    """`reproduce --check` executes nothing: on an empty runs dir it lists the runs every experiment plans before
    any result (searches, their rescores and probes, the random architectures' retrains) and exits 1, writing nothing; `check` with the notebooks' extra
    parameters plans as they do (fewer random architectures, fewer runs)."""
    from enaslite.cli import main

    runs = tmp_path / "runs"
    missing = reproduce.check("smoke", runs_dir=runs, seeds=[0])
    assert missing and all(m.split("/")[0] in ("search", "retrain", "rescore", "probe") for m in missing)
    assert any(m.startswith("search/") for m in missing) and any(m.startswith("retrain/") for m in missing)
    fewer = reproduce.check("smoke", runs_dir=runs, seeds=[0], extra={"random_archs": 1})
    assert set(fewer) < set(missing)
    assert main(["reproduce", "--scale", "smoke", "--seeds", "0", "--runs-dir", str(runs), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"{len(missing)} run(s) of the book at scale smoke are not finished in {runs}" in out
    assert not runs.exists() and not (tmp_path / "out").exists()
