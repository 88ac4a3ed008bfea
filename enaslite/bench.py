"""`python -m enaslite bench`: speed of the weight-sharing machinery, as ratios measured within one run.

Measurements, at the preset's search settings on its dataset:
(a) supernet training images/s with a different architecture on every step vs the same architecture on every step.
    Both sides do the same work: `num_arcs` sampled architectures, either cycled step by step in one pass, or each
    held for a pass of its own over its share of the batches. So the ratio measures what switching costs (a retrace
    or recompile would show here), not which architectures happened to be cheaper;
(b) supernet training images/s vs plain Keras models built for exactly those sampled paths with the same layers
    (the physical limit of weight sharing: no switch, no unused branches), on the same per-architecture passes;
(c) controller ms per sampled architecture and per update, and their share of a search epoch, not counting the
    reward forward passes (which are child-network work);
(d) peak resident memory of the process;
(e) optional (`retrain=True`, `bench --retrain`): the retrain loop against its own model, at the preset's final
    settings on the architecture `retrain --random` draws with the config's seed: (i) the model's own train steps
    on batches made beforehand (arrays in memory), (ii) `retrain`'s epoch path itself
    (`enaslite.retrain.train_final_epoch`: batches made and augmented step by step, the drop-path schedule,
    `train_epoch`) and (iii) its per-epoch valid and test passes (`evaluate_final`), each timed as a whole call.
    (ii) / (i) is what the loop adds to the model's cost per image; the whole-epoch ratio adds (iii) at the
    preset's epoch sizes.
Training passes are timed step by step (`enaslite.loop.train_epoch`), never as whole `fit` calls, which can idle
after their last step; each also reports CPU-seconds per image and the cores used, so a stalled or starved pass shows.
Every timing is the fastest of `repeats` interleaved rounds: on a shared machine, stalls only ever add time, so the
minimum is the steadiest estimate, and interleaving makes slow drift hit both sides of a ratio.
The table is printed and saved as `<out>/<preset>-<space>.{md,json}`.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

import keras
import numpy as np

from enaslite import backend
from enaslite.config import Config
from enaslite.data import Batches, load_dataset_from_config, steps_per_epoch
from enaslite.loop import train_epoch
from enaslite.ops import DropPathSchedule
from enaslite.peer import THREAD_VARS
from enaslite.retrain import (build_final_model, epoch_batches, evaluate_final, random_final_arc,
                              train_final_epoch)
from enaslite.runs import atomic_write_json, atomic_write_text
from enaslite.seeding import seed_everything
from enaslite.search import ArcBatches, Policy, build_controller, build_supernet, shared_accuracy


def _pass(model, batches) -> np.ndarray:
    """[wall seconds of the training steps alone, CPU seconds of the whole pass] of one pass over `batches`."""
    c0 = time.process_time()
    logs = train_epoch(model, batches)
    return np.array([logs["step_seconds"], time.process_time() - c0])


class _Slice:
    """Batches `start` to `stop` of `batches`."""

    def __init__(self, batches, start: int, stop: int):
        self.batches, self.start, self.stop = batches, start, stop

    def __len__(self):
        return self.stop - self.start

    def __getitem__(self, i):
        return self.batches[self.start + i]


def _timed(fn) -> np.ndarray:
    """[wall seconds, CPU seconds] of one call of `fn`."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return np.array([time.perf_counter() - w0, time.process_time() - c0])


def _retrain_bench(config: Config, data, steps: int, repeats: int) -> dict:
    """(e): the retrain loop against its own model, in interleaved rounds; the fastest round of each side counts."""
    c = config.final
    arc = random_final_arc(config)
    model = build_final_model(arc, config, data)
    timed_config = config.override(**{"final.steps_per_epoch": steps})
    epoch_steps = c.steps_per_epoch or steps_per_epoch(data, "train", c.batch_size)
    schedule = DropPathSchedule(total_steps=c.epochs * epoch_steps)
    schedule.set_model(model)
    made = epoch_batches(model, data, timed_config, 0)
    premade = [made[i] for i in range(steps)]  # fresh arrays each: nothing is made or copied while (i) runs

    def rounds(r):
        yield "model", lambda: train_epoch(model, premade)
        yield "loop", lambda: train_final_epoch(model, data, timed_config, r, schedule)
        yield "eval", lambda: evaluate_final(model, data, config)

    for _, fn in rounds(0):  # warm-up: trace every function once
        fn()
    times = {"model": [], "loop": [], "eval": []}
    for r in range(repeats):
        for key, fn in rounds(r + 1):  # a new data epoch each round, as retrain makes one per epoch
            times[key].append(_timed(fn))
    train_images, eval_images = steps * c.batch_size, data.num_examples("valid") + data.num_examples("test")
    images = {"model": train_images, "loop": train_images, "eval": eval_images}
    fastest = {key: min(v, key=lambda t: t[0]) for key, v in times.items()}
    per_image = {key: t / images[key] for key, t in fastest.items()}  # [wall, cpu] seconds per image
    epoch_images = epoch_steps * c.batch_size
    epoch_cost = epoch_images * per_image["loop"] + eval_images * per_image["eval"]  # [wall, cpu] seconds
    return {
        "arc": arc.to_string(), "params": int(model.count_params()), "batch_size": c.batch_size,
        "eval_batch_size": c.eval_batch_size, "epoch_train_images": epoch_images, "epoch_eval_images": eval_images,
        "images_per_s": {k: round(1 / float(v[0]), 1) for k, v in per_image.items()},
        "cpu_seconds_per_1000_images": {k: round(1000 * float(v[1]), 3) for k, v in per_image.items()},
        "cores_used": {k: round(float(t[1] / t[0]), 2) for k, t in fastest.items()},
        "loop_over_model": round(float(per_image["loop"][0] / per_image["model"][0]), 3),
        "loop_over_model_cpu": round(float(per_image["loop"][1] / per_image["model"][1]), 3),
        "epoch_over_model": round(float(epoch_cost[0] / (epoch_images * per_image["model"][0])), 3),
        "epoch_over_model_cpu": round(float(epoch_cost[1] / (epoch_images * per_image["model"][1])), 3),
    }


def run_bench(config: Config, out_dir="bench-out", steps: int = 30, repeats: int = 5, num_arcs: int = 3,
              retrain: bool = False) -> dict:
    """Runs (a)-(d), and (e) if `retrain`, and returns the results dict (also saved under `out_dir`)."""
    if not isinstance(num_arcs, int) or num_arcs < 2:
        raise ValueError(f"argument `num_arcs`: expected an int >= 2, received {num_arcs!r}")
    if not isinstance(steps, int) or steps < num_arcs or steps % num_arcs:
        raise ValueError(f"argument `steps`: expected a positive multiple of num_arcs={num_arcs}, received {steps!r}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"argument `repeats`: expected an int >= 1, received {repeats!r}")
    seed_everything(config.seed)
    c, k = config.search, config.controller
    data = load_dataset_from_config(config.data)
    net = build_supernet(config, data)
    controller = build_controller(config, config.seed)
    policy = Policy(config.override(**{"controller.mode": "uniform"}), controller)
    rng = np.random.default_rng(config.seed)
    batches = Batches(data, "train", c.batch_size, seed=config.seed, augment=c.augment, steps=steps)
    arcs, _, _ = policy.sample(num_arcs, rng)
    share = steps // num_arcs
    slices = [_Slice(batches, i * share, (i + 1) * share) for i in range(num_arcs)]
    # "new": one pass, the architecture changing on every step; "same": one pass per architecture.
    cycled = ArcBatches(batches, [arcs[i % num_arcs] for i in range(steps)])
    held = [ArcBatches(part, [arc] * share) for part, arc in zip(slices, arcs)]
    plains = []
    for arc in arcs:
        plain = net.build_path_model(arc, data.input_shape)
        plain.compile(keras.optimizers.SGD(c.lr_max, momentum=0.9, nesterov=True),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      jit_compile=backend.JIT_COMPILE)
        plains.append(plain)

    def rounds():
        yield "new", lambda: _pass(net, cycled)
        yield "same", lambda: sum(_pass(net, d) for d in held)
        yield "plain", lambda: sum(_pass(m, d) for m, d in zip(plains, slices))

    # Warm-up: compile every function once (one pass each) before timing anything.
    for _, fn in rounds():
        fn()
    times = {"new": [], "same": [], "plain": []}
    for _ in range(repeats):
        for key, fn in rounds():
            times[key].append(fn())
    images = steps * c.batch_size
    fastest = {key: min(v, key=lambda t: t[0]) for key, v in times.items()}  # [wall, cpu] of the fastest round
    ips = {key: images / float(t[0]) for key, t in fastest.items()}
    cpu_per_1000 = {key: 1000 * float(t[1]) / images for key, t in fastest.items()}
    cores = {key: float(t[1] / t[0]) for key, t in fastest.items()}

    # (c) controller, timed the way a search epoch uses it.
    epoch_steps = c.steps_per_epoch or len(Batches(data, "train", c.batch_size, seed=0))
    controller.sample(epoch_steps), controller.sample(k.num_aggregate), controller.sample(k.num_logged)
    warm = controller.sample(k.num_aggregate)
    controller.update(warm.arcs, np.zeros(k.num_aggregate))
    t_epoch_sample = _median_time(lambda: controller.sample(epoch_steps), repeats)
    group = controller.sample(k.num_aggregate)
    t_group_sample = _median_time(lambda: controller.sample(k.num_aggregate), repeats)
    t_update = _median_time(lambda: controller.update(group.arcs, np.full(k.num_aggregate, 0.5)), repeats)
    t_logged = _median_time(lambda: controller.sample(k.num_logged), repeats)
    x, y = next(iter(Batches(data, "valid", k.reward_batch_size or c.batch_size, seed=0)))
    shared_accuracy(net, group.arcs[0], x, y)
    t_reward = _median_time(lambda: shared_accuracy(net, group.arcs[1], x, y), repeats)

    ctrl_epoch = t_epoch_sample + k.train_steps * (t_group_sample + t_update) + t_logged
    child_epoch = epoch_steps * c.batch_size / ips["new"]
    reward_epoch = (k.train_steps * k.num_aggregate + k.num_logged) * t_reward
    result = {
        "preset": config.preset, "space": config.space, "dataset": config.data.dataset,
        "search": {"num_layers": c.num_layers, "out_filters": c.out_filters, "batch_size": c.batch_size,
                   "num_cells": c.num_cells, "steps_per_epoch": epoch_steps},
        "timed_steps": steps, "repeats": repeats, "num_arcs": num_arcs,
        "machine": platform.processor() or platform.machine(),
        "images_per_s": {k_: round(v, 1) for k_, v in ips.items()},
        "cpu_seconds_per_1000_images": {k_: round(v, 3) for k_, v in cpu_per_1000.items()},
        "cores_used": {k_: round(v, 2) for k_, v in cores.items()},
        "a_new_over_same": round(ips["new"] / ips["same"], 3),
        "b_supernet_over_plain": round(ips["same"] / ips["plain"], 3),
        "ctrl_ms_per_arc_epoch_batch": round(1000 * t_epoch_sample / epoch_steps, 3),
        "ctrl_ms_per_update": round(1000 * (t_group_sample + t_update), 2),
        "ctrl_seconds_per_epoch": round(ctrl_epoch, 3),
        "child_seconds_per_epoch": round(child_epoch, 3),
        "reward_seconds_per_epoch": round(reward_epoch, 3),
        "c_ctrl_share_of_epoch": round(ctrl_epoch / (ctrl_epoch + child_epoch + reward_epoch), 4),
        "c_ctrl_share_without_rewards": round(ctrl_epoch / (ctrl_epoch + child_epoch), 4),
        "d_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "thread_env": {k: os.environ[k] for k in THREAD_VARS if k in os.environ},
    }
    if retrain:  # after (d), so that the peak memory stays the search machinery's
        result["e_retrain"] = _retrain_bench(config, data, steps, repeats)
    table = format_table(result)
    print(table)
    json_path, md_path = output_paths(config, out_dir)
    atomic_write_json(json_path, result)
    atomic_write_text(md_path, table + "\n")
    return result


def output_paths(config: Config, out_dir) -> tuple[Path, Path]:
    """The .json and .md files `run_bench` writes (the CLI checks them before running)."""
    name = f"{config.preset or 'custom'}-{config.space}"
    return Path(out_dir) / f"{name}.json", Path(out_dir) / f"{name}.md"


def _median_time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return float(np.median(out))


def format_table(r: dict) -> str:
    s = r["search"]
    ips, cpu, cores = r["images_per_s"], r["cpu_seconds_per_1000_images"], r["cores_used"]
    lines = [
        f"bench: preset {r['preset']}, {r['space']} space, {r['dataset']}, {s['num_layers']} layers x "
        f"{s['out_filters']} filters, batch {s['batch_size']}, {r['timed_steps']} steps x {r['repeats']} rounds, "
        f"{r['num_arcs']} sampled architectures (fastest round counts)",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| (a) supernet img/s, architecture changes every step | {ips['new']:.1f} | |",
        f"| (a) supernet img/s, one architecture per pass (same ones) | {ips['same']:.1f} | |",
        f"| (a) CPU-seconds per 1,000 images, new / same (cores used) | "
        f"{cpu['new']:.2f} ({cores['new']:.2f}) / {cpu['same']:.2f} ({cores['same']:.2f}) | |",
        f"| (a) new / same | {r['a_new_over_same']:.3f} | >= 0.9 |",
        f"| (b) plain path models img/s (same passes) | {ips['plain']:.1f} | |",
        f"| (b) plain CPU-seconds per 1,000 images (cores used) | {cpu['plain']:.2f} ({cores['plain']:.2f}) | |",
        f"| (b) supernet / plain | {r['b_supernet_over_plain']:.3f} | >= 0.7 |",
        f"| (c) controller ms per sampled arc (epoch batch of {s['steps_per_epoch']}) | "
        f"{r['ctrl_ms_per_arc_epoch_batch']:.3f} | |",
        f"| (c) controller ms per update (sample group + step) | {r['ctrl_ms_per_update']:.2f} | |",
        f"| (c) controller s per epoch / child s / reward s | {r['ctrl_seconds_per_epoch']:.2f} / "
        f"{r['child_seconds_per_epoch']:.2f} / {r['reward_seconds_per_epoch']:.2f} | |",
        f"| (c) controller share of an epoch, reward passes excluded | "
        f"{100 * r['c_ctrl_share_without_rewards']:.2f}% | <= 10% |",
        f"| (c) controller share of a whole epoch | {100 * r['c_ctrl_share_of_epoch']:.2f}% | |",
        f"| (d) peak resident memory (MiB) | {r['d_peak_rss_mib']:.0f} | |",
    ]
    if "e_retrain" in r:
        lines += _retrain_rows(r["e_retrain"])
    if r.get("thread_env"):
        lines += ["", "thread settings: " + ", ".join(f"{k}={v}" for k, v in r["thread_env"].items())]
    return "\n".join(lines)


def _retrain_rows(e: dict) -> list[str]:
    ips, cpu, cores = e["images_per_s"], e["cpu_seconds_per_1000_images"], e["cores_used"]
    return [
        f"| (e) retrain model (final settings, random arc `{e['arc']}`, {e['params']:,} parameters, batch "
        f"{e['batch_size']}): its own train steps img/s, batches made beforehand | {ips['model']:.1f} | |",
        f"| (e) retrain epoch path img/s (batches made and augmented per step, drop-path schedule, train_epoch) | "
        f"{ips['loop']:.1f} | |",
        f"| (e) valid + test passes img/s (eval batch {e['eval_batch_size']}) | {ips['eval']:.1f} | |",
        f"| (e) CPU-seconds per 1,000 images, model / loop / eval (cores used) | {cpu['model']:.2f} "
        f"({cores['model']:.2f}) / {cpu['loop']:.2f} ({cores['loop']:.2f}) / {cpu['eval']:.2f} "
        f"({cores['eval']:.2f}) | |",
        f"| (e) loop / model, cost per image (CPU-seconds: {e['loop_over_model_cpu']:.3f}) | "
        f"{e['loop_over_model']:.3f} | <= 1.15 |",
        f"| (e) whole epoch / model's steps ({e['epoch_train_images']:,} train + {e['epoch_eval_images']:,} eval "
        f"images; CPU-seconds: {e['epoch_over_model_cpu']:.3f}) | {e['epoch_over_model']:.3f} | |",
    ]
