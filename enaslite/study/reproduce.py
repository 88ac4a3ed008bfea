"""`python -m enaslite reproduce`: the whole book, computed and built into a folder of its own.

    python -m enaslite reproduce --scale cpu                  # runs in runs/, HTML in book/_build/reproduce/_build/html
    python -m enaslite reproduce --scale smoke --out /tmp/b   # throwaway runs in /tmp/b/runs-smoke

`reproduce` copies `book/` (without `_build`) into `<out>/book`, executes every notebook of its table of contents
there with papermill, in order, and builds the copy with `jupyter-book build -W --path-output <out>`. Notebooks that
take parameters (the experiments) get `scale`, `runs_dir` (absolute) and, when given, `dataset` and `seeds`; they
reuse the finished runs in `runs_dir` and compute the missing ones, so a second `reproduce` recomputes nothing.
Nothing in the repository changes: the copy and the HTML go under `out` (default `book/_build/reproduce`, which git
ignores), runs go to `runs_dir` (default `runs/`, or `<out>/runs-smoke` at the smoke scale). Each notebook is named
as it starts, and the kernel's progress output (the runner's bar with its ETA) is forwarded to stderr.

With `ray=True` (``--ray``) `reproduce` starts one local Ray instance on this machine's cores, or with `ray_address`
(``--ray-address``) joins a cluster, checks that every node sees `runs_dir`, and has the notebooks run their jobs
there: it sets ENASLITE_RUNNER=ray, ENASLITE_RAY_ADDRESS and ENASLITE_RAY_THREADS_PER_JOB for the kernels (which
inherit the environment), so each notebook's `experiments.run` gets a `RayRunner` (`runner.default_runner`) that
joins the same instance.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from enaslite.study import params as params_module
from enaslite.study.jobs import arg_error

BOOK = Path(__file__).resolve().parents[2] / "book"
DEFAULT_OUT = BOOK / "_build" / "reproduce"
INJECTED = "injected-parameters"


def toc_files(node) -> list[str]:
    """Every `root` and `file` entry of a parsed _toc.yml, in order."""
    if isinstance(node, dict):
        own = [node[k] for k in ("root", "file") if k in node]
        return own + [f for k, v in node.items() if k not in ("root", "file") for f in toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in toc_files(item)]
    return []


def toc_notebooks(book=BOOK) -> list[str]:
    """The notebooks of `book`'s _toc.yml (its `root` and `file` entries with an .ipynb beside), in order."""
    import yaml

    book = Path(book)
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{name}.ipynb" for name in toc_files(toc) if (book / f"{name}.ipynb").is_file()]


def declared_parameters(path) -> set[str]:
    """Names the notebook's `parameters` cell assigns (empty without such a cell)."""
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def hide_injected(path) -> bool:
    """Tags the cell papermill injected with `remove-cell`, so the built page shows the story, not the plumbing
    (the notebook states its parameters in prose). Writes the notebook only when a tag was added; returns whether
    it was."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if INJECTED in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
            changed = True
    if changed:
        nbformat.write(nb, str(path))
    return changed


def _copy_book(book: Path, out: Path) -> Path:
    copy = out / "book"
    if copy.exists():
        if not (copy / "_toc.yml").is_file():
            raise arg_error("out", f"a folder whose `book` is a previous copy of the book (with _toc.yml) or absent",
                            str(copy))
        shutil.rmtree(copy)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(book, copy, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    return copy


def execute(path, parameters: dict, cwd, stderr=None) -> None:
    """Executes the notebook at `path` in place with papermill, passing the `parameters` it declares; the kernel's
    stderr (progress bars) goes to `stderr`. A failing cell raises RuntimeError naming the notebook and the error."""
    import papermill

    path = Path(path)
    declared = declared_parameters(path)
    given = {k: v for k, v in parameters.items() if k in declared}
    try:
        papermill.execute_notebook(str(path), str(path), parameters=given, kernel_name="python3", cwd=str(cwd),
                                   progress_bar=False, stderr_file=stderr)
    except papermill.PapermillExecutionError as e:
        raise RuntimeError(f"notebook {path.name} failed in cell {e.exec_count}: {e.ename}: {e.evalue} (the "
                           f"executed notebook with its traceback is {path})") from None
    if given:
        hide_injected(path)


@contextlib.contextmanager
def _environment(values: dict):
    """`values` set in os.environ inside the block (papermill's kernels inherit it), the old values restored after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def ray_environment(runs_dir, address: str | None, threads_per_job: int, stream) -> dict:
    """Starts (address None) or joins Ray, checks that every node sees `runs_dir`, and returns the environment that
    makes the notebooks' `experiments.run` use it."""
    from enaslite.study import ray_runner
    from enaslite.study.runner import RUNNER_ENV

    gcs = ray_runner.connect(address)
    probe, _ = ray_runner.check_shared_storage(runs_dir)
    probe.unlink(missing_ok=True)
    cpus = ray_runner.cluster_cpus()
    print(f"jobs run on Ray at {gcs} ({'a local instance' if address is None else 'a cluster'}, {cpus} CPUs, "
          f"{threads_per_job} thread(s) per job: up to {max(1, cpus // threads_per_job)} jobs at a time)",
          file=stream, flush=True)
    return {RUNNER_ENV: "ray", ray_runner.ADDRESS_ENV: gcs, ray_runner.THREADS_ENV: str(threads_per_job)}


def check(scale: str = "auto", dataset: str | None = None, runs_dir=None, seeds=None, *,
          extra: dict | None = None) -> list[str]:
    """The runs `reproduce` with these arguments would have to compute (`experiments.missing_runs`), computing and
    executing nothing: empty when `runs_dir` holds every run of the book at that scale."""
    from enaslite.study import experiments

    runs_dir = Path("runs" if runs_dir is None else runs_dir).absolute()
    checked = params_module.check(scale=scale, dataset=dataset, runs_dir=runs_dir,
                                  **({} if seeds is None else {"seeds": list(seeds)}))
    return experiments.missing_runs(checked, **(extra or {}))


def reproduce(scale: str = "auto", dataset: str | None = None, runs_dir=None, out=None, seeds=None, *,
              book=BOOK, extra: dict | None = None, stream=None, stderr=None, ray: bool = False,
              ray_address: str | None = None, ray_threads_per_job: int | None = None) -> Path:
    """Executes every notebook of a copy of `book` and builds it (see the module docstring); returns the folder
    holding the HTML. `extra`: more notebook parameters (e.g. {"random_archs": 2}), each passed to the notebooks
    that declare it. `ray`, `ray_address`, `ray_threads_per_job`: run the jobs on Ray (a local instance, or the
    cluster at the address; see the module docstring; threads None: this machine's cores, with which every job
    computes what it computes in process). Parameters are checked before anything is copied or run."""
    stream = sys.stdout if stream is None else stream
    out = Path(DEFAULT_OUT if out is None else out).absolute()
    if runs_dir is None:
        runs_dir = out / "runs-smoke" if scale == "smoke" else Path("runs")
    runs_dir = Path(runs_dir).absolute()
    checked = params_module.check(scale=scale, dataset=dataset, runs_dir=runs_dir,
                                  **({} if seeds is None else {"seeds": list(seeds)}))
    if shutil.which("jupyter-book") is None:
        raise RuntimeError("jupyter-book is not installed (requirements.txt: jupyter-book>=1.0.4,<2)")
    use_ray = ray or ray_address is not None
    if use_ray:
        from enaslite.study.ray_runner import RayRunner
        ray_threads_per_job = RayRunner(address=ray_address, threads_per_job=ray_threads_per_job).threads_per_job
    parameters = {"scale": scale, "runs_dir": str(runs_dir), **(extra or {})}
    if dataset is not None:
        parameters["dataset"] = dataset
    if seeds is not None:
        parameters["seeds"] = list(checked.seeds)
    env = ray_environment(runs_dir, ray_address, ray_threads_per_job, stream) if use_ray else {}
    copy = _copy_book(Path(book), out)
    notebooks = toc_notebooks(copy)
    print(f"reproducing the book at scale {checked.scale} ({checked.scale_reason}); runs in {runs_dir}; "
          f"{len(notebooks)} notebooks in {copy}", file=stream, flush=True)
    with _environment(env):
        for i, name in enumerate(notebooks, 1):
            print(f"[{i}/{len(notebooks)}] executing {name}", file=stream, flush=True)
            t0 = time.perf_counter()
            execute(copy / name, parameters, copy, sys.stderr if stderr is None else stderr)
            print(f"[{i}/{len(notebooks)}] {name} done in {time.perf_counter() - t0:.0f} s", file=stream,
                  flush=True)
    print("building the HTML (jupyter-book build -W)", file=stream, flush=True)
    run = subprocess.run(["jupyter-book", "build", str(copy), "-W", "--path-output", str(out)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"jupyter-book build -W failed:\n{(run.stdout + run.stderr)[-4000:]}")
    html = out / "_build" / "html"
    print(f"the book is in {html / 'index.html'}", file=stream, flush=True)
    return html
