"""Tests for the book: its notebooks execute and are committed executed, it builds offline with warnings as errors,
every page's figures render in Chromium with the network cut off, and scripts/screenshot_book.py catches a page
that would not."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from enaslite.study.reproduce import toc_files, toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SCRIPT = ROOT / "scripts" / "screenshot_book.py"
# The notebooks of the background chapters: they only call enaslite (seconds), so the test executes them afresh.
OWN_NOTEBOOKS = ("enas.ipynb", "setup.ipynb", "reproducibility.ipynb")
EXPERIMENTS = ("calibration", "searches", "learning_curve", "performance_estimation", "transfer", "reference_bug")


def _load_script():
    spec = importlib.util.spec_from_file_location("screenshot_book", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


shots = _load_script()
needs_chromium = pytest.mark.skipif(
    shots.find_chromium() is None,
    reason="Chromium is not installed (Debian package `chromium`): the book's pages cannot be rendered and checked")
needs_jupyter_book = pytest.mark.skipif(shutil.which("jupyter-book") is None,
                                        reason="jupyter-book is not installed (requirements.txt)")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's `dot` is not installed (Debian package `graphviz`): the ENAS "
                                      "chapter's diagrams cannot be drawn")


def _page_sources() -> dict:
    """Page name -> source file for every .md and .ipynb of the book (outside _build)."""
    return {p.with_suffix("").relative_to(BOOK).as_posix(): p for p in BOOK.rglob("*")
            if p.suffix in (".md", ".ipynb") and not any(part.startswith(("_", "."))
                                                        for part in p.relative_to(BOOK).parts)}


# -- the sources ------------------------------------------------------------------------------------------------------

def test_toc_lists_every_page_and_only_existing_ones():
    """Every page file is in _toc.yml (only_build_toc_files would silently drop it) and every entry exists."""
    toc = toc_files(yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8")))
    assert sorted(toc) == sorted(_page_sources())


def test_experiment_notebooks_are_in_the_toc():
    """The four experiment chapters are listed, and none is named `search` (Sphinx's own search page would replace
    it without a warning)."""
    toc = toc_files(yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8")))
    assert all(name in toc for name in EXPERIMENTS) and "search" not in toc


@pytest.mark.parametrize("name", toc_notebooks())
def test_committed_notebooks_are_executed(name):
    """Every notebook of the toc is committed with its outputs (the build executes nothing), and none is an error;
    tests/test_notebooks.py checks that the experiment chapters' outputs are the cpu scale's."""
    nb = json.loads((BOOK / name).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells and all(c["execution_count"] for c in cells)
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert "remove-cell" in cells[0]["metadata"].get("tags", [])  # the imports are plumbing


# -- the built book ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """A copy of book/ with its own notebooks executed afresh by papermill, built with -W; returns the HTML folder."""
    if shutil.which("jupyter-book") is None:
        pytest.skip("jupyter-book is not installed (requirements.txt)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed (Debian package `graphviz`): the ENAS chapter's diagrams "
                    "cannot be drawn")
    book = tmp_path_factory.mktemp("book") / "book"
    shutil.copytree(BOOK, book, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    for name in OWN_NOTEBOOKS:
        run = subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", "--kernel", "python3",
                              "--cwd", str(book), str(book / name), str(book / name)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"papermill {name} failed:\n{run.stderr[-3000:]}"
    run = subprocess.run(["jupyter-book", "build", str(book), "-W"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"jupyter-book build -W failed:\n{(run.stdout + run.stderr)[-4000:]}"
    return book / "_build" / "html"


def test_book_builds_a_page_per_toc_entry(built_book):
    """`jupyter-book build -W` succeeds and writes one HTML page per page of the table of contents."""
    for name in _page_sources():
        assert (built_book / f"{name}.html").is_file(), name


def test_pages_load_nothing_from_the_network(built_book):
    """No page names a script, style sheet, image or font with a network address, nor a missing local file."""
    problems = {page.name: shots.static_problems(page, page.read_text(encoding="utf-8"))
                for page in shots.book_pages(built_book)}
    assert {name: p for name, p in problems.items() if p} == {}
    assert "mathjax" not in "".join(p.read_text(encoding="utf-8").lower() for p in shots.book_pages(built_book))


def test_enas_chapter_embeds_its_figures_inline(built_book):
    """The ENAS chapter carries its diagrams and chart as inline SVG, and its computed numbers are pasted in."""
    html = (built_book / "enas.html").read_text(encoding="utf-8")
    assert html.count('<div class="enaslite-figure"') == 6
    assert "5.8 × 10¹⁰¹" in html and "2.6 × 10²⁵" in html  # glued from MacroArc / MicroArc.search_space_size


@needs_chromium
def test_screenshots_of_every_page(built_book, tmp_path):
    """The screenshot script passes on the built book and writes a PNG of every page (the redirect stub aside)."""
    run = subprocess.run([sys.executable, str(SCRIPT), str(built_book), str(tmp_path / "shots")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    pngs = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert pngs == sorted(f"{name}.png" for name in list(_page_sources()) + ["genindex", "search"])
    assert "enas.html: 6 figure(s)" in run.stdout


# -- the screenshot script on hand-made pages -------------------------------------------------------------------------

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'


def _site(tmp_path, **pages) -> Path:
    site = tmp_path / "html"
    (site / "_static").mkdir(parents=True)
    for name, body in pages.items():
        (site / f"{name}.html").write_text(f"<!DOCTYPE html><html><head><title>{name}</title></head>"
                                           f"<body>{body}</body></html>", encoding="utf-8")
    return site


def _run_script(site, out, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), str(site), str(out), *extra], capture_output=True, text=True,
                          timeout=300)


@needs_chromium
def test_script_fails_naming_the_page_whose_figure_is_missing(tmp_path):
    """A figure without its <svg> fails the run (exit 1) naming the page; a good page beside it passes."""
    site = _site(tmp_path, good=f'<div class="enaslite-figure">{SVG}</div>',
                 broken=f'<div class="enaslite-figure">{SVG}</div><div class="enaslite-figure"></div>')
    run = _run_script(site, tmp_path / "out")
    assert run.returncode == 1
    assert run.stderr.strip() == "error: broken.html: figure 2 of 2 has no <svg>"
    assert (tmp_path / "out" / "good.png").is_file() and (tmp_path / "out" / "broken.png").is_file()


@needs_chromium
def test_script_fails_on_a_chart_that_needs_the_network(tmp_path):
    """A Vega-Embed chart loading its scripts from a CDN fails twice: the network address, and the empty chart."""
    page = ('<div id="vis"></div><script src="https://cdn.jsdelivr.net/npm/vega-embed@6"></script>'
            '<script>vegaEmbed("#vis", {});</script>')
    run = _run_script(_site(tmp_path, chart=page), tmp_path / "out")
    assert run.returncode == 1
    assert "chart.html: loads https://cdn.jsdelivr.net/npm/vega-embed@6 from the network (<script>)" in run.stderr
    assert "chart.html: chart #vis did not render" in run.stderr


def test_script_without_chromium(tmp_path):
    """Without a browser the script exits 2 naming the Debian package."""
    site = _site(tmp_path, page="<p>hi</p>")
    run = _run_script(site, tmp_path / "out", "--chromium", str(tmp_path / "no-such-browser"))
    assert run.returncode == 2 and "install the Debian package `chromium`" in run.stderr


def test_script_without_a_build(tmp_path):
    """A folder without HTML pages is a usage error (exit 2)."""
    run = _run_script(tmp_path / "nothing", tmp_path / "out")
    assert run.returncode == 2 and "expected a built book" in run.stderr


@pytest.mark.parametrize("html, problem", [
    ('<link rel="stylesheet" href="https://fonts.example/css">', "loads https://fonts.example/css from the network"),
    ('<img src="//cdn.example/a.png">', "loads //cdn.example/a.png from the network"),
    ('<style>@import url("https://x.example/a.css");</style>', "loads https://x.example/a.css from the network"),
    ('<script src="_static/missing.js"></script>', "names a missing file _static/missing.js"),
    ('<a href="https://example.com/">a link is not a load</a><script src="_static/ok.js?v=1"></script>', None),
])
def test_static_problems(tmp_path, html, problem):
    """Static checks: network loads and missing local files are problems; links and present files are not."""
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "ok.js").write_text("")
    found = shots.static_problems(tmp_path / "page.html", html)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(problem), found


@pytest.mark.parametrize("dom, problem", [
    (f'<div class="enaslite-figure">{SVG}</div>', None),
    ('<div class="enaslite-figure"><p>no drawing</p></div>', "figure 1 of 1 has no <svg>"),
    ('<div class="vega-embed"></div>', "chart #? did not render (no <svg> or <canvas>)"),
    ('<div class="vega-embed"><canvas></canvas></div>', None),
    ('<div class="error" style="color:red;"><p>JavaScript Error: Failed to fetch</p></div>',
     "chart error: JavaScript Error: Failed to fetch"),
    ('<div class="output traceback highlight-ipythontb"><pre>ValueError: x</pre></div>',
     "a notebook output is a traceback: ValueError: x"),
])
def test_dom_problems(dom, problem):
    """DOM checks: empty figures and charts, chart errors and tracebacks are problems."""
    assert shots.dom_problems(f"<html><body>{dom}</body></html>") == ([problem] if problem else [])


def test_a_hung_browser_run_is_killed_and_started_again(tmp_path):
    """A browser run past its timeout is started once more; a second hang is an error."""
    fake = tmp_path / "chromium"
    marker = tmp_path / "ran-once"
    fake.write_text(f"#!{sys.executable}\nimport pathlib, time\nm = pathlib.Path({str(marker)!r})\n"
                    "if not m.exists():\n    m.touch()\n    time.sleep(30)\nprint('rendered')\n")
    fake.chmod(0o755)
    assert shots._chromium(str(fake), tmp_path / "profile", [], timeout=3).stdout.strip() == "rendered"
    marker.unlink()
    with pytest.raises(subprocess.TimeoutExpired):
        shots._chromium(str(fake), tmp_path / "profile", [], timeout=3, attempts=1)
