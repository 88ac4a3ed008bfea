"""How long a search takes to start: seconds from process start to the first supernet training step, and memory.

Prints, from the start of the process (the kernel's start time, so the interpreter's own start counts):
(a) imports done, (b) supernet built (as `search` builds it), (c) first training step done, (d) each later step;
for each, wall seconds and CPU-seconds (user + system, all threads), and the peak resident memory (ru_maxrss) and
current resident memory. The steps run as `search` runs its child phase: `enaslite.loop.train_epoch` over
`ArcBatches`, a new uniformly random architecture on every step. The data are synthetic (seeded uniform pixels), so
nothing is read from disk. On a loaded machine the wall times mean little; CPU-seconds and memory are what to compare.

    python scripts/start_time.py                                  # macro, 12 layers x 24 filters, batch 64, 32x32x3
    python scripts/start_time.py --steps 20 --set search.num_layers=6 --set search.out_filters=16
    python scripts/start_time.py --json out.json
"""

import os
import resource
import time


def _since_start() -> float:
    """Wall seconds since this process started (field 22 of /proc/self/stat, in clock ticks since boot)."""
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


# Process start, as an offset of perf_counter (/proc/uptime has 10 ms resolution: enough at this scale).
_T0 = time.perf_counter() - _since_start()

import argparse  # noqa: E402  (after the clock is read, so the imports below are timed)
import json  # noqa: E402


def _mark(name: str) -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return {"point": name, "wall_s": round(time.perf_counter() - _T0, 3),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "rss_mib": round(rss / 1024, 1)}


def _parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu-macro")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="config override by dotted path (repeatable); applied after the 12 x 24, batch 64 defaults")
    p.add_argument("--steps", type=int, default=10, help="training steps to run (the first one included)")
    p.add_argument("--image-shape", default="32,32,3")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--json", help="also write the marks to this file")
    args = p.parse_args()

    marks = [_mark("python started")]
    import numpy as np

    from enaslite import Dataset, preset, seed_everything, train_epoch
    from enaslite.macro_arc import MacroArc
    from enaslite.micro_arc import MicroArc
    from enaslite.data import Batches
    from enaslite.search import ArcBatches, build_supernet, num_ops
    import keras  # noqa: F401  (imported by the above; named so the mark means "everything imported")
    marks.append(_mark("(a) imports done"))

    overrides = {"search.num_layers": 12, "search.out_filters": 24, "search.batch_size": 64}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key.strip()] = _parse_value(value.strip())
    config = preset(args.preset).override(**overrides)
    c = config.search
    shape = tuple(int(s) for s in args.image_shape.split(","))
    rng = np.random.default_rng(0)
    n_train, n_valid = c.batch_size * args.steps, c.batch_size
    x = rng.integers(0, 256, (n_train + n_valid,) + shape, dtype=np.uint8)
    y = rng.integers(0, args.num_classes, n_train + n_valid)
    data = Dataset.from_arrays(x, y, x[:n_valid], y[:n_valid], valid_size=n_valid, num_classes=args.num_classes,
                               name="synthetic")
    seed_everything(config.seed)
    net = build_supernet(config, data)
    marks.append(_mark("(b) supernet built"))

    if config.space == "macro":
        arcs = [MacroArc.random(rng, c.num_layers, num_ops=num_ops(config)) for _ in range(args.steps)]
    else:
        arcs = [MicroArc.random(rng, num_nodes=c.num_cells, num_ops=num_ops(config)) for _ in range(args.steps)]
    batches = Batches(data, "train", c.batch_size, seed=config.seed, augment=c.augment, cutout=c.cutout,
                      steps=args.steps)

    def on_batch_begin(i):
        if i == 1:
            marks.append(_mark("(c) first step done"))
        elif i > 1:
            marks.append(_mark(f"step {i} done"))

    logs = train_epoch(net, ArcBatches(batches, arcs), on_batch_begin=on_batch_begin)
    marks.append(_mark(f"step {args.steps} done" if args.steps > 1 else "(c) first step done"))

    per_step = [(b["wall_s"] - a["wall_s"], b["cpu_s"] - a["cpu_s"]) for a, b in zip(marks[3:], marks[4:])]
    print(f"{config.space}, {c.num_layers} layers x {c.out_filters} filters, batch {c.batch_size}, images {shape}, "
          f"{args.num_classes} classes, {args.steps} steps, backend {keras.backend.backend()}, "
          f"loss {logs['loss']:.6f}, load average {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'point':22} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'RSS MiB':>8}")
    for m in marks:
        print(f"{m['point']:22} {m['wall_s']:8.2f} {m['cpu_s']:8.2f} {m['peak_rss_mib']:13.0f} {m['rss_mib']:8.0f}")
    if per_step:
        walls, cpus = zip(*per_step)
        print(f"steps 2..{args.steps}: median {np.median(walls):.3f} s wall, {np.median(cpus):.3f} CPU-s per step")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": config.to_dict(), "loss": logs["loss"], "marks": marks,
                       "loadavg": open("/proc/loadavg").read().split()[:3]}, f, indent=1)


if __name__ == "__main__":
    main()
