"""The book's notebooks: the experiment notebooks hold no logic, every notebook executes at the smoke scale, the book
builds with warnings as errors, and a bad parameter stops a notebook in its first cell."""

import ast
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from enaslite.study import reproduce

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EXPERIMENTS = ("calibration", "searches", "learning_curve", "performance_estimation", "transfer", "reference_bug")
# Smoke scale, one seed, and the smallest samples the pages still show: the test stays within a few minutes on two
# cores (the notebooks' defaults, 5 random architectures and k = 7 retrains, are for the real scales).
SMOKE = {"seeds": [0], "extra": {"random_archs": 1, "k": 2}}
needs_tools = pytest.mark.skipif(shutil.which("jupyter-book") is None or shutil.which("dot") is None,
                                 reason="jupyter-book and Graphviz's dot are needed to execute and build the book")


def cells(name):
    return json.loads((BOOK / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def code_cells(name):
    return [c for c in cells(name) if c["cell_type"] == "code"]


def snapshot(folder):
    """Every file under `folder` but _build, with a hash of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "_build" not in p.relative_to(folder).parts}


# -- the notebooks as written ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXPERIMENTS)
def test_parameters_then_check_first(name):
    """A parameters cell (hidden), then a first cell that checks them with params.check before anything else."""
    first, second = code_cells(name)[:2]
    assert {"parameters", "remove-cell"} <= set(first["metadata"]["tags"])
    assert "params.check(" in "".join(second["source"])
    assert all(isinstance(node, ast.Assign) for node in ast.parse("".join(first["source"])).body)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_cells_hold_no_logic(name):
    """No loops, conditions, functions, comprehensions or arithmetic in any cell: they call the package and
    display."""
    banned = (ast.For, ast.While, ast.If, ast.IfExp, ast.FunctionDef, ast.Lambda, ast.ListComp, ast.DictComp,
              ast.GeneratorExp, ast.BinOp, ast.ClassDef, ast.With, ast.Try)
    for cell in code_cells(name):
        tree = ast.parse("".join(cell["source"]))
        found = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, banned)]
        assert not found, (name, "".join(cell["source"]), found)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_code_cell_is_tagged_and_every_result_has_a_caption(name):
    """Each code cell is hidden or removed; each chart or table of our results is given the study's caption."""
    for cell in code_cells(name):
        tags = set(cell["metadata"].get("tags", []))
        assert tags & {"hide-input", "remove-cell", "remove-input"}, "".join(cell["source"])
        source = "".join(cell["source"])
        if source.startswith(("charts.show(", "figures.table(")) and "thesis" not in source:
            assert "study.caption()" in source, source


@pytest.mark.parametrize("name", EXPERIMENTS + ("conclusions",))
def test_committed_with_the_cpu_scale_outputs(name):
    """The repository holds every experiment notebook executed at the cpu scale on the committed runs (what the
    published book shows; `book/build.sh --no-execute` builds it): its cells ran in order in one go (that every
    cell ran and none failed is tests/test_book.py's check of every notebook), no traceback went to stderr, the page
    states the cpu scale, and papermill's injected parameters cell is hidden."""
    code = code_cells(name)
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), counts
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o.get("name") == "stderr" and "Traceback" in "".join(o["text"])]
    texts = ["".join(o.get("data", {}).get("text/markdown", "")) for o in outputs]
    assert any("This page was computed at the **cpu** scale" in t for t in texts)
    assert all("remove-cell" in c["metadata"]["tags"] for c in code
               if "injected-parameters" in c["metadata"].get("tags", []))


# -- executing them --------------------------------------------------------------------------------------------------

@needs_tools
@pytest.mark.smoke
def test_every_notebook_executes_and_the_book_builds(tmp_path):
    """`reproduce` at the smoke scale executes every notebook of the book (experiments computing their runs in a
    temporary runs dir) and builds it with -W; each experiment page shows its charts and captions, no notebook
    output is an error, and book/ is left as it was."""
    before = snapshot(BOOK)
    t0 = time.perf_counter()
    html = reproduce.reproduce("smoke", runs_dir=tmp_path / "runs", out=tmp_path / "out", **SMOKE)
    minutes = (time.perf_counter() - t0) / 60
    assert snapshot(BOOK) == before
    copy = tmp_path / "out" / "book"
    for name in reproduce.toc_notebooks(copy):
        nb = json.loads((copy / name).read_text(encoding="utf-8"))
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], name
        assert all("remove-cell" in c["metadata"]["tags"] for c in nb["cells"]
                   if "injected-parameters" in c["metadata"].get("tags", []))
    for name, figures in (("searches", 2), ("learning_curve", 2), ("performance_estimation", 1), ("transfer", 3),
                          ("reference_bug", 3)):
        page = (html / f"{name}.html").read_text(encoding="utf-8")
        assert page.count('<div class="enaslite-figure"') == figures, name
        assert "Scale smoke, " in page and "Fashion-MNIST" in page and "Traceback" not in page
        assert "This page was computed at the <strong>smoke</strong> scale" in page
    assert "thesis, Table 2" in (html / "learning_curve.html").read_text(encoding="utf-8")
    assert "Later architectures are no better" in (html / "conclusions.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["probe", "rescore", "retrain", "search"]
    # ... and `reproduce --check` (the README's main command's test) then finds nothing left to compute.
    assert reproduce.check("smoke", runs_dir=tmp_path / "runs", seeds=SMOKE["seeds"], extra=SMOKE["extra"]) == []
    print(f"reproduce at the smoke scale: {minutes:.1f} min")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_a_bad_parameter_stops_the_first_cell(name, tmp_path):
    """`papermill NB out -p epochs abc` fails in the cell after the parameters with the params message, before any
    run directory is made."""
    out = tmp_path / "out.ipynb"
    run = subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", "--kernel", "python3", "--cwd",
                          str(BOOK), str(BOOK / f"{name}.ipynb"), str(out), "-p", "epochs", "abc", "-p", "runs_dir",
                          str(tmp_path / "runs")], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    nb = json.loads(out.read_text(encoding="utf-8"))
    failed = [c for c in nb["cells"] if c["cell_type"] == "code" and any(o["output_type"] == "error"
                                                                         for o in c["outputs"])]
    assert len(failed) == 1 and "params.check(" in "".join(failed[0]["source"])
    error = next(o for o in failed[0]["outputs"] if o["output_type"] == "error")
    assert error["evalue"] == "argument `epochs`: expected None or an int >= 1, received 'abc'"
    assert not (tmp_path / "runs").exists()
