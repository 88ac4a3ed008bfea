"""Two ways to run the same study jobs on this machine, timed back to back: one at a time in one process with
TensorFlow's default threads (what `reproduce` does, and how the committed study was made), and two at a time on a
local Ray instance with one TensorFlow thread each (`reproduce --ray --ray-threads-per-job 1`).

    python scripts/parallel_jobs.py --out runs/bench/parallel-jobs LABEL LABEL ...

LABELs are job labels of the book's plan at the cpu scale (e.g. `micro-reinforce-s2-ep10-n20-rank11`). Each way
runs every job afresh into a scratch runs dir, in a fresh interpreter; the machine's CPU-seconds (from /proc/stat)
and wall time of each way are recorded, with every job's own seconds and test accuracy beside the committed run's.
Writes `<out>.json` and `<out>.md`. Run it with nothing else on the machine: its point is the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r'''
import json, shutil, sys
from pathlib import Path
from enaslite.study import experiments, params
mode, root, runs_dir, labels = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
p = params.check(scale="cpu", space="both", dataset=None, preset=None, epochs=None, seeds=[0, 1, 2],
                 runs_dir=runs_dir)
by_key = experiments.book_jobs(p)
table = {j.label: j for j in by_key.values()}
missing = [l for l in labels if l not in table]
if missing:
    sys.exit(f"argument `labels`: expected job labels of the cpu plan, received {missing}")
jobs = [table[l] for l in labels]
# A job's ancestors (the search a retrain reads) come finished from the committed runs, copied into the scratch dir.
ancestors = []
for job in jobs:
    key = job.parent
    while key is not None:
        ancestors.append(by_key[key])
        key = by_key[key].parent
for job in ancestors:
    if not job.run_dir(root).exists():
        shutil.copytree(job.run_dir(Path(runs_dir)), job.run_dir(root))
jobs = ancestors + jobs
if mode == "serial":
    from enaslite.study.runner import LocalRunner
    runner = LocalRunner()
else:
    from enaslite.study.ray_runner import RayRunner
    runner = RayRunner(threads_per_job=1)
runner.run(jobs, root, progress=False)
print(json.dumps({l: str(table[l].run_dir(root).relative_to(root)) for l in labels}))
'''


def cpu_seconds() -> float:
    """User + system CPU-seconds of the whole machine since boot (/proc/stat's first line)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system = (int(fields[i]) for i in (0, 1, 2))
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def run_way(mode: str, labels: list[str], runs_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"parallel-jobs-{mode}-") as scratch:
        load = os.getloadavg()[0]
        c0, t0 = cpu_seconds(), time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", WORKER, mode, scratch, str(runs_dir), *labels],
                              capture_output=True, text=True, cwd=ROOT)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        if proc.returncode:
            raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
        dirs = json.loads(proc.stdout.strip().splitlines()[-1])
        jobs = {}
        for label, rel in dirs.items():
            done = json.loads((Path(scratch) / rel / "finished.json").read_text())
            committed = json.loads((runs_dir / rel / "finished.json").read_text())
            jobs[label] = {"run": rel, "seconds": done["seconds"], "test_acc": done.get("test_acc"),
                           "committed_seconds": committed["seconds"], "committed_test_acc": committed.get("test_acc")}
        return {"mode": mode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "load_before": load,
                "load_after": os.getloadavg()[0], "jobs": jobs}


def table(result: dict) -> str:
    serial, ray = result["ways"]
    lines = [f"parallel jobs: {len(result['labels'])} jobs of the cpu plan, {result['machine']}; "
             f"{result['when']}", "",
             "| way | wall (s) | machine CPU-s | 1-min load before / after |", "|---|---|---|---|"]
    for way, name in ((serial, "one at a time, default threads (LocalRunner)"),
                      (ray, "two at a time, 1 thread each (RayRunner(threads_per_job=1))")):
        lines.append(f"| {name} | {way['wall_s']} | {way['cpu_s']} | {way['load_before']:.2f} / "
                     f"{way['load_after']:.2f} |")
    lines += ["", f"serial wall / parallel wall: **{serial['wall_s'] / ray['wall_s']:.2f}**", "",
              "| job | serial s | parallel s | committed s | test acc serial / parallel / committed |",
              "|---|---|---|---|---|"]
    for label in result["labels"]:
        s, r = serial["jobs"][label], ray["jobs"][label]
        lines.append(f"| {label} | {s['seconds']:.1f} | {r['seconds']:.1f} | {s['committed_seconds']:.1f} | "
                     f"{s['test_acc']} / {r['test_acc']} / {s['committed_test_acc']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="+", help="job labels of the cpu plan")
    parser.add_argument("--out", type=Path, required=True, help="path stem of the .json and .md written")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs", help="the committed runs (for comparison)")
    args = parser.parse_args(argv)
    ways = [run_way(mode, args.labels, args.runs_dir.resolve()) for mode in ("serial", "ray")]
    result = {"labels": args.labels, "ways": ways, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{os.cpu_count()} CPUs"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(table(result))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
