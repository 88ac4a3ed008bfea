"""`python -m enaslite bench --peer nni`: enaslite's ENAS search against NNI 2.8's on the same macro search space.

Each side trains its weight-sharing network for `steps` steps with a new architecture sampled before every step, the
way its search runs its child phase, in a fresh process of its own:
- enaslite: the supernet of the config's search settings (`search.build_supernet`), arcs sampled by the controller
  (`Policy.sample`, all of a pass's at once, as `search` does), trained by `loop.train_epoch` on the config's dataset;
- NNI 2.8: its v1 ENAS trainer's child phase on the `GeneralNetwork` of NNI's example `examples/nas/oneshot/enas`,
  with the same layers, filters, batch and input shape, on synthetic data (`enaslite/peer_nni_worker.py`, run by the
  interpreter `--peer-python` names; NNI is no requirement of enaslite, and its example files are fetched at run
  time, never copied into this repository).
The processes alternate (enaslite first in odd rounds, NNI first in even ones), `rounds` of each, and every figure
is given as min / median / max over the rounds, with the ratio of the medians, enaslite / NNI. Throughput is wall
img/s with the CPU-seconds per 1,000 images and the cores used (CPU s / wall s) beside it, so a stalled or starved
pass shows, for steps 2 to `steps` and for the whole pass (sampling and the first step, which may trace or compile,
included); then the seconds from launching the process to the end of its first step, and its peak resident memory.
The table is printed and saved as `<out>/<preset>-<space>-vs-nni.{md,json}`.

The enaslite side runs as `python -m enaslite.peer '<json spec>'`; this module imports no Keras until then.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from enaslite.config import Config
from enaslite.runs import atomic_write_bytes, atomic_write_json, atomic_write_text

PEERS = ("nni",)
NNI_WORKER = Path(__file__).with_name("peer_nni_worker.py")
RESULT_PREFIX = "ENASLITE_PEER_RESULT "  # the workers' result line (peer_nni_worker.RESULT_PREFIX too)
NNI_EXAMPLE_URL = "https://raw.githubusercontent.com/microsoft/nni/v2.8/examples/nas/oneshot/enas/"
NNI_EXAMPLE_SHA256 = {  # the files at tag v2.8 (commit e8c78bbab03fa651563e21cdf004220f29d9560a)
    "macro.py": "f0568f747438c64a40b413ccb9df7ce3988582b7f9cb24f8b4965e3022d63c49",
    "ops.py": "0e86b79fd97ec14bc7f04ad8b34b54d145c0b9137e2e7f6620a4d4d77fbc4b19",
}
THREAD_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS")
"""Environment variables that change how many threads either side uses, and how they wait; recorded when set."""
MEASURES = ("steady", "pass")
"""steady: steps 2 to `steps`; pass: the whole pass, from before sampling to the end of the last step."""


def default_example_dir() -> Path:
    """Where NNI's example files are fetched to by default: the user's cache, outside any repository."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "enaslite" / "nni-2.8-enas-example"


# -- checks, before anything is timed ------------------------------------------------------------------------------

def fetch_nni_example(folder) -> dict:
    """Makes `folder` hold NNI v2.8's `macro.py` and `ops.py` (downloaded when absent); returns their sha256."""
    folder = Path(folder)

    def fail(expected, received):
        raise ValueError(f"argument `--peer-example`: expected {expected}, received {received}")

    if folder.exists() and not folder.is_dir():
        fail("a folder for NNI v2.8's examples/nas/oneshot/enas/macro.py and ops.py", f"the file {str(folder)!r}")
    hashes = {}
    for name, sha in NNI_EXAMPLE_SHA256.items():
        path, url = folder / name, NNI_EXAMPLE_URL + name
        if path.is_file():
            data = path.read_bytes()
        else:
            try:
                import urllib.request
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = response.read()
            except OSError as e:
                fail(f"a folder holding NNI v2.8's {name} (downloading {url} failed: "
                     f"{getattr(e, 'reason', None) or e}; save it there by hand)", repr(str(folder)))
        hashes[name] = hashlib.sha256(data).hexdigest()
        if hashes[name] != sha:
            where = str(path) if path.is_file() else url
            fail(f"NNI v2.8's {name} (sha256 {sha[:12]}...)", f"{where!r} with sha256 {hashes[name][:12]}...")
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
    return hashes


def check_peer(peer: str, peer_python: str, example_dir, config: Config) -> dict:
    """Refuses, before any compute, a peer run that cannot work; returns the peer's versions and example hashes."""
    if peer not in PEERS:
        raise ValueError(f"argument `--peer`: expected one of {list(PEERS)}, received {peer!r}")
    if config.space != "macro":
        raise ValueError(f"argument `--space`: expected macro with --peer {peer} (NNI's ENAS example is its macro "
                         f"space), received {config.space!r}")
    if shutil.which(peer_python) is None:
        raise ValueError(f"argument `--peer-python`: expected a Python interpreter, received {peer_python!r} (not an "
                         f"executable file)")
    hashes = fetch_nni_example(example_dir)
    try:
        proc = subprocess.run([peer_python, str(NNI_WORKER), "--check", str(Path(example_dir).resolve())],
                              capture_output=True, text=True, timeout=300)
        versions, why = _result_line(proc.stdout), _last_line(proc.stderr)
    except subprocess.TimeoutExpired:
        proc, versions, why = None, None, "its imports took over 300 s"
    if proc is None or proc.returncode != 0 or versions is None:
        raise ValueError(f"argument `--peer-python`: expected a Python that imports NNI 2.8, its v1 ENAS trainer "
                         f"and torch (see README, \"Speed\"), received {peer_python!r} ({why})")
    return {**versions, "example_sha256": hashes}


def _result_line(stdout: str):
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# -- one process ----------------------------------------------------------------------------------------------------

def _run_worker(side: str, cmd: list, cwd) -> tuple[float, dict]:
    """(time.time() at launch, the worker's result) of one fresh process."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # this enaslite, whatever the child's working directory
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    launched = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    result = _result_line(proc.stdout)
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"the {side} worker failed (exit status {proc.returncode}): {_last_line(proc.stderr)}")
    return launched, result


def measures(result: dict, launched: float, batch_size: int) -> dict:
    """The figures of one worker's result: img/s, CPU-seconds per 1,000 images and cores, first step, memory."""
    marks = result["marks"]  # [wall, process CPU] at the pass's start and at the end of each step
    steps = len(marks) - 1
    out = {}
    for key, first, n in (("steady", 1, steps - 1), ("pass", 0, steps)):
        wall, cpu = marks[-1][0] - marks[first][0], marks[-1][1] - marks[first][1]
        images = n * batch_size
        out[key] = {"images_per_s": images / wall, "cpu_seconds_per_1000_images": 1000 * cpu / images,
                    "cores_used": cpu / wall}
    out["first_step_s"] = marks[1][0] - launched
    out["first_step_cpu_s"] = marks[1][1]
    out["peak_rss_mib"] = result["peak_rss_mib"]
    return out


def enaslite_spec(config: Config, steps: int) -> dict:
    return {"config": config.to_dict(), "steps": steps}


def nni_spec(config: Config, steps: int, data: dict, example_dir) -> dict:
    c = config.search
    return {"num_layers": c.num_layers, "out_filters": c.out_filters, "batch_size": c.batch_size, "steps": steps,
            "input_shape": data["input_shape"], "num_classes": data["num_classes"],
            "n_train": data["n_train"] + data["n_valid"], "n_test": data["n_test"], "seed": config.seed,
            "example_dir": str(Path(example_dir).resolve())}


# -- the benchmark --------------------------------------------------------------------------------------------------

def run_peer_bench(config: Config, *, peer: str = "nni", peer_python: str | None = None, example_dir=None,
                   rounds: int = 5, steps: int = 30, out_dir=None) -> dict:
    """Runs `rounds` alternating pairs of fresh processes and returns the results (saved under `out_dir` if given).

    Args:
        peer: "nni".
        peer_python: the interpreter that runs the peer's process (default: this one).
        example_dir: where NNI's example files are, or are fetched to (default: `default_example_dir()`).
        rounds, steps: processes per side, and training steps per process (the first one is timed apart).
    Everything is checked (`check_peer`) before the first process starts.
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"argument `rounds`: expected an int >= 1, received {rounds!r}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"argument `steps`: expected an int >= 2 (the first step is timed apart), received "
                         f"{steps!r}")
    peer_python = peer_python or sys.executable
    example_dir = Path(example_dir or default_example_dir())
    versions = check_peer(peer, peer_python, example_dir, config)
    runs, data, load = [], None, [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="enaslite-peer-") as scratch:  # NNI's trainer writes logs/ into its cwd
        for r in range(rounds):
            order = ("enaslite", peer) if r % 2 == 0 else (peer, "enaslite")
            row = {"round": r + 1, "order": list(order)}
            for side in order:
                if side == "enaslite":
                    cmd = [sys.executable, "-m", "enaslite.peer", json.dumps(enaslite_spec(config, steps))]
                    launched, result = _run_worker(side, cmd, None)
                    data = data or result["data"]
                else:
                    cmd = [peer_python, str(NNI_WORKER), json.dumps(nni_spec(config, steps, data, example_dir))]
                    launched, result = _run_worker(side, cmd, scratch)
                row[side] = measures(result, launched, config.search.batch_size)
                row[side]["versions"] = result["versions"]
                # Every step's end, as [wall s since launch, CPU s of the process]: where a pass stalled.
                row[side]["marks"] = [[round(w - launched, 4), round(c, 4)] for w, c in result["marks"]]
                print(_progress(row["round"], rounds, side, row[side], steps), flush=True)
            row["load_1min_after"] = os.getloadavg()[0]
            runs.append(row)
    load.append(os.getloadavg()[0])
    result = summarize(config, runs, peer=peer, steps=steps, data=data, peer_versions=versions, load=load)
    table = format_table(result)
    print(table)
    if out_dir is not None:
        json_path, md_path = output_paths(config, out_dir, peer)
        atomic_write_json(json_path, result)
        atomic_write_text(md_path, table + "\n")
    return result


def _progress(r: int, rounds: int, side: str, m: dict, steps: int) -> str:
    return (f"round {r}/{rounds} {side}: {m['steady']['images_per_s']:.1f} img/s (steps 2-{steps}, "
            f"{m['steady']['cores_used']:.2f} cores), first step done {m['first_step_s']:.1f} s after launch, "
            f"peak {m['peak_rss_mib']:.0f} MiB")


def _spread(values) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize(config: Config, runs: list, *, peer: str, steps: int, data: dict, peer_versions: dict,
              load: list) -> dict:
    """The results dict: per-round figures, min / median / max of each, and enaslite / peer ratios of the medians."""
    summary = {}
    for side in ("enaslite", peer):
        s = {key: {k: _spread([r[side][key][k] for r in runs]) for k in runs[0][side][key]} for key in MEASURES}
        for key in ("first_step_s", "first_step_cpu_s", "peak_rss_mib"):
            s[key] = _spread([r[side][key] for r in runs])
        summary[side] = s
    ours, theirs = summary["enaslite"], summary[peer]
    ratios = {key: {k: ours[key][k]["median"] / theirs[key][k]["median"] for k in ours[key]} for key in MEASURES}
    for key in ("first_step_s", "first_step_cpu_s", "peak_rss_mib"):
        ratios[key] = ours[key]["median"] / theirs[key]["median"]
    per_round = [r["enaslite"]["steady"]["images_per_s"] / r[peer]["steady"]["images_per_s"] for r in runs]
    c = config.search
    return {
        "peer": peer, "preset": config.preset, "space": config.space, "dataset": config.data.dataset,
        "data": data, "controller_mode": config.controller.mode,
        "search": {"num_layers": c.num_layers, "out_filters": c.out_filters, "batch_size": c.batch_size,
                   "augment": c.augment},
        "steps": steps, "rounds": len(runs),
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "load_1min_before_and_after": load,
                    "thread_env": {k: os.environ[k] for k in THREAD_VARS if k in os.environ}},
        "versions": {"enaslite": runs[0]["enaslite"]["versions"], peer: peer_versions},
        "config": config.to_dict(),
        "runs": runs, "summary": summary, "ratios": ratios,
        "per_round_steady_images_per_s_ratio": _spread(per_round),
    }


def output_paths(config: Config, out_dir, peer: str = "nni") -> tuple[Path, Path]:
    """The .json and .md files `run_peer_bench` writes (the CLI checks them before running)."""
    name = f"{config.preset or 'custom'}-{config.space}-vs-{peer}"
    return Path(out_dir) / f"{name}.json", Path(out_dir) / f"{name}.md"


def _cell(s: dict, digits: int) -> str:
    return " / ".join(f"{s[k]:.{digits}f}" for k in ("min", "median", "max"))


def format_table(r: dict) -> str:
    peer, s, d = r["peer"], r["search"], r["data"]
    name = {"nni": f"NNI {r['versions'][peer]['nni']}"}[peer]
    ours, theirs, ratios = r["summary"]["enaslite"], r["summary"][peer], r["ratios"]
    v, machine = r["versions"]["enaslite"], r["machine"]
    before, after = machine["load_1min_before_and_after"]
    threads = ", ".join(f"{k}={value}" for k, value in machine["thread_env"].items())
    shape = "x".join(str(n) for n in d["input_shape"])
    lines = [
        f"peer bench: enaslite (Keras {v['keras']}, {v['backend']}) vs {name} (v1 ENAS trainer, torch "
        f"{r['versions'][peer]['torch']}), macro space, {s['num_layers']} layers x {s['out_filters']} filters, batch "
        f"{s['batch_size']}, {shape} input, {d['num_classes']} classes; enaslite on {r['dataset']} (augment "
        f"{str(s['augment']).lower()}), {name} on synthetic data of that shape; a new architecture every step, "
        f"{r['steps']} steps; {r['rounds']} rounds of fresh processes, alternating; min / median / max",
        "",
        f"| measure | enaslite | {name} | enaslite / {name.split()[0]} (medians) |",
        "|---|---|---|---|",
    ]
    for key, label in (("steady", f"steps 2-{r['steps']}"), ("pass", f"whole pass (sampling + steps 1-{r['steps']})")):
        extra = ""
        if key == "steady":
            pr = r["per_round_steady_images_per_s_ratio"]
            extra = f" (per round {pr['min']:.2f}-{pr['max']:.2f})"
        lines += [
            f"| img/s, {label} (higher is faster) | {_cell(ours[key]['images_per_s'], 1)} | "
            f"{_cell(theirs[key]['images_per_s'], 1)} | {ratios[key]['images_per_s']:.2f}{extra} |",
            f"| CPU-seconds per 1,000 images, {label} (lower is cheaper) | "
            f"{_cell(ours[key]['cpu_seconds_per_1000_images'], 2)} | "
            f"{_cell(theirs[key]['cpu_seconds_per_1000_images'], 2)} | "
            f"{ratios[key]['cpu_seconds_per_1000_images']:.2f} |",
            f"| cores used (CPU s / wall s), {label} | {_cell(ours[key]['cores_used'], 2)} | "
            f"{_cell(theirs[key]['cores_used'], 2)} | |",
        ]
    lines += [
        f"| seconds from launch to the end of the first step | {_cell(ours['first_step_s'], 1)} | "
        f"{_cell(theirs['first_step_s'], 1)} | {ratios['first_step_s']:.2f} |",
        f"| CPU-seconds by the end of the first step | {_cell(ours['first_step_cpu_s'], 1)} | "
        f"{_cell(theirs['first_step_cpu_s'], 1)} | {ratios['first_step_cpu_s']:.2f} |",
        f"| peak resident memory (MiB) | {_cell(ours['peak_rss_mib'], 0)} | {_cell(theirs['peak_rss_mib'], 0)} | "
        f"{ratios['peak_rss_mib']:.2f} |",
        "",
        f"machine: {machine['processor']}, {machine['cpu_count']} CPUs; 1-minute load average {before:.2f} before, "
        f"{after:.2f} after; thread settings: {threads or 'the libraries defaults'}",
    ]
    return "\n".join(lines)


# -- the enaslite worker (`python -m enaslite.peer SPEC`) -------------------------------------------------------------

def enaslite_worker(spec: dict) -> dict:
    """One timed pass of enaslite's search child phase; `marks` as in `peer_nni_worker`."""
    import keras
    import numpy as np

    from enaslite.data import Batches, load_dataset_from_config
    from enaslite.loop import train_epoch
    from enaslite.search import ArcBatches, Policy, build_controller, build_supernet
    from enaslite.seeding import seed_everything

    config = Config.from_dict(spec["config"])
    c = config.search
    seed_everything(config.seed)
    data = load_dataset_from_config(config.data)
    net = build_supernet(config, data)
    policy = Policy(config, build_controller(config, config.seed))
    batches = Batches(data, "train", c.batch_size, seed=config.seed, augment=c.augment, cutout=c.cutout,
                      steps=spec["steps"])
    marks = []

    def mark(step=None):
        if step != 0:  # step i begins right after step i - 1 ends
            marks.append([time.time(), time.process_time()])

    mark()
    arcs, _, _ = policy.sample(len(batches), np.random.default_rng([config.seed, 0, 7]))
    train_epoch(net, ArcBatches(batches, arcs), on_batch_begin=mark)
    mark()
    return {"side": "enaslite", "marks": marks,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "versions": {"enaslite": __import__("enaslite").__version__, "keras": keras.__version__,
                         "backend": keras.backend.backend(),
                         "python": sys.version.split()[0]},
            "data": {"input_shape": list(data.input_shape), "num_classes": data.num_classes,
                     "n_train": data.num_examples("train"), "n_valid": data.num_examples("valid"),
                     "n_test": data.num_examples("test")}}


if __name__ == "__main__":
    print(RESULT_PREFIX + json.dumps(enaslite_worker(json.loads(sys.argv[1]))), flush=True)
