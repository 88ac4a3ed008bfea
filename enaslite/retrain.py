"""Retraining one architecture from scratch: the step every thesis experiment ends with.

The recipe follows the reference final scripts (spec 5.3 / 6): SGD with Nesterov momentum 0.9, cosine learning rate
with warm restarts stepped per epoch, L2 on every weight (BN included), dropout before the classifier, and for micro
models scheduled drop-path and an optional auxiliary head. One difference: the reference final runs train on all
50k CIFAR images with no validation split; we keep the configured validation tail (`data.valid_size`, set it to 0 to
train on everything) so that every epoch also reports a validation accuracy.

The run directory gets `config.json`, `arc.json`, `metrics.csv` (one row per epoch: epoch, lr, train_loss (cross-
entropy), train_objective (cross-entropy + L2 + aux), train_acc, valid_acc, test_acc, seconds_train (the
training steps), seconds (the whole epoch)), `run.json` (kind and identity: architecture, dataset fingerprint),
`checkpoint.npz` (every epoch; resumed from when the same directory is used again), TensorBoard event files under
`tensorboard/retrain/` (one per epoch, `enaslite.tensorboard`) and finally `finished.json`.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from enaslite import backend
from enaslite.child import build_child
from enaslite.config import Config
from enaslite.data import Batches, Dataset, eval_batches, load_dataset_from_config
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc
from enaslite.ops import DropPathSchedule
from enaslite.random_arc import random_final_arc  # noqa: F401  (re-exported: bench, cli)
from enaslite.loop import train_epoch
from enaslite.runs import (RunDir, atomic_write_json, model_arrays, read_csv, restore_model,
                           write_csv)
from enaslite.seeding import seed_everything
from enaslite.schedule import sgdr_lr
from enaslite.supernet_common import prebuild_for_fit
from enaslite.tensorboard import log_epoch, write_from_metrics

METRICS = "metrics.csv"


def build_final_model(arc, config: Config, dataset: Dataset) -> keras.Model:
    """The standalone model of `arc` at the config's `final` settings, compiled for training."""
    c = config.final
    model = build_child(arc, dataset.input_shape, dataset.num_classes, num_layers=c.num_layers,
                        out_filters=c.out_filters, keep_prob=c.keep_prob, l2=c.l2,
                        drop_path_keep_prob=c.drop_path_keep_prob, aux_head=c.aux_weight > 0,
                        aux_trainable=c.aux_trainable, macro_sep_as_conv=c.macro_sep_as_conv, seed=config.seed)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metrics = ["accuracy", keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="ce")]
    # grad_bound None: no clipping, which is what the reference's (no-op) clipping does (docs/departures.md).
    optimizer = keras.optimizers.SGD(c.lr_max, momentum=0.9, nesterov=True, clipnorm=c.grad_bound)
    # Plain graphs on TensorFlow (XLA was slower there on the CPU), XLA on JAX (its only compiler).
    if isinstance(model.output, list):
        model.compile(optimizer, loss=[ce, ce], loss_weights=[1.0, c.aux_weight], metrics=[metrics, []],
                      jit_compile=backend.JIT_COMPILE)
    else:
        model.compile(optimizer, loss=ce, metrics=metrics, jit_compile=backend.JIT_COMPILE)
    # Keras on TensorFlow would create the optimizer's (and metrics') variables inside the first trace of the train
    # step, and tf.function then traces the step a second time: about 2 CPU-seconds more for the first cpu-macro
    # step (5.6 instead of 3.6, on 2 cores shared with other work). The values are the same zeros, so training is
    # unchanged, bit for bit; a checkpoint restores into them.
    prebuild_for_fit(model, dataset.num_classes)
    return model


class _AuxLabels(keras.utils.PyDataset):
    """Feeds the labels to both outputs of a model with an auxiliary head."""

    def __init__(self, batches: Batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        x, y = self.batches[i]
        return x, (y, y)


def epoch_batches(model: keras.Model, dataset: Dataset, config: Config, epoch: int):
    """The training batches of data epoch `epoch` as `retrain` feeds them to `model` (`config.final`'s batch size,
    steps, augmentation and cutout; both outputs labelled for a model with an auxiliary head)."""
    c = config.final
    batches = Batches(dataset, "train", c.batch_size, seed=config.seed, epoch=epoch, augment=c.augment,
                      cutout=c.cutout, steps=c.steps_per_epoch)
    return _AuxLabels(batches) if isinstance(model.output, list) else batches


def train_final_epoch(model: keras.Model, dataset: Dataset, config: Config, epoch: int,
                      schedule: DropPathSchedule, verbose: int = 0) -> dict:
    """One training epoch of `retrain` at the learning rate already set: `epoch_batches` through `train_epoch`,
    the drop-path schedule stepped before each batch. `enaslite.bench` (e) times this same function."""
    return train_epoch(model, epoch_batches(model, dataset, config, epoch), verbose=verbose,
                       on_batch_begin=schedule.on_train_batch_begin)


def evaluate_final(model: keras.Model, dataset: Dataset, config: Config) -> tuple[float, float]:
    """(valid accuracy, test accuracy): the evaluation passes `retrain` runs after every epoch."""
    size = config.final.eval_batch_size
    return evaluate_accuracy(model, dataset, "valid", size), evaluate_accuracy(model, dataset, "test", size)


def evaluate_accuracy(model: keras.Model, dataset: Dataset, split: str, batch_size: int) -> float:
    """Top-1 accuracy of the main output on a whole split (NaN for an empty split)."""
    correct = total = 0
    for x, y in eval_batches(dataset, split, batch_size):
        logits = model.predict_on_batch(x)
        if isinstance(logits, (list, tuple)):
            logits = logits[0]
        correct += int(np.sum(np.argmax(logits, axis=-1) == y))
        total += len(y)
    return correct / total if total else float("nan")


def check_arc(arc, config: Config, phase: str = "final") -> None:
    """Fails unless `arc` belongs to `config.space` and fits the `phase` child (layer count, op ids)."""
    expected = MacroArc if config.space == "macro" else MicroArc
    if not isinstance(arc, expected):
        raise ValueError(f"argument `arc`: expected a {expected.__name__} for space {config.space!r}, received "
                         f"{type(arc).__name__}")
    c = config.child(phase)
    if isinstance(arc, MacroArc):
        if arc.num_layers != c.num_layers:
            raise ValueError(f"argument `arc`: expected {c.num_layers} layers ({phase}.num_layers of preset "
                             f"{config.preset or 'custom'}), received an architecture of {arc.num_layers} layers; "
                             f"pass --set {phase}.num_layers={arc.num_layers} to train it at that depth")
        limit = c.num_branches or 6
        bad = [l for l, op in enumerate(arc.ops) if op >= limit]
        if bad:
            raise ValueError(f"argument `arc`: expected op ids < {phase}.num_branches={limit}, received op "
                             f"{arc.ops[bad[0]]} at layer {bad[0]}")
    elif arc.num_nodes != c.num_cells:
        raise ValueError(f"argument `arc`: expected {c.num_cells} nodes per cell ({phase}.num_cells), received an "
                         f"architecture of {arc.num_nodes} nodes")


def _history_value(logs: dict, suffix: str) -> float:
    keys = [k for k in logs if k == suffix or k.endswith("_" + suffix)]
    return float(logs[keys[0]]) if keys else float("nan")


def retrain(arc, config: Config, run_dir, dataset: Dataset | None = None, *, verbose: int = 1,
            overwrite: bool = False) -> float:
    """Trains `arc` from scratch with `config.final` and returns the final test accuracy.

    Everything that can be checked (the arc against the config, the dataset, the run dir's stored config, kind,
    architecture and dataset fingerprint) is checked before anything is written, so a refused call leaves the run
    dir as it was. A finished run is never retrained or rewritten: its stored test accuracy is returned, unless
    `overwrite` is set, which deletes the run's files and starts afresh.

    Args:
        arc: a `MacroArc` or `MicroArc` matching `config.space` and `config.final`'s size.
        config: the experiment config; `config.final` holds the model size and training recipe.
        run_dir: directory for config, metrics and checkpoints. If it holds a checkpoint of the same run, training
            resumes after the last complete epoch. `final.epochs` may be raised to extend a run whose checkpoint
            is present.
        dataset: a `Dataset` to use instead of the one `config.data` names.
        verbose: 0 silent, 1 progress bar per epoch.
        overwrite: delete an existing run in `run_dir` (finished or not) and train from scratch.
    """
    check_arc(arc, config)
    run = RunDir(run_dir)
    run.check_location()
    data = dataset if dataset is not None else load_dataset_from_config(config.data)
    identity = {"arc": arc.to_dict(), "dataset": data.fingerprint()}
    c = config.final
    run.check("retrain", config, identity, resumable_fields=("final.epochs",), overwrite=overwrite)
    done = None if overwrite else run.finished_for(c.epochs, "final.epochs")
    if done is not None:
        return float(done["test_acc"])
    seed_everything(config.seed)
    model = build_final_model(arc, config, data)
    # Restored before any write: a checkpoint of another backend that this one can't take refuses the command.
    ckpt = None if overwrite else run.load_checkpoint()
    if ckpt is not None:  # build_final_model built the optimizer
        restore_model(ckpt[1], model, model.optimizer, written_by=run.checkpoint_backend())
    if overwrite:
        run.clear()
    run.create("retrain", config, identity)
    atomic_write_json(run / "arc.json", arc.to_dict())
    atomic_write_json(run / "dataset.json", {"summary": data.summary(), "name": data.name})
    atomic_write_json(run / "model.json", {"params": int(model.count_params()), "name": model.name})

    rows, start = [], 0
    if ckpt is not None:
        start = ckpt[0]
        rows = [r for r in read_csv(run / METRICS) if r["epoch"] <= start]
        write_from_metrics(run.path, only_missing=True)  # epochs logged before TensorBoard files existed
    run.unfinish()

    steps = c.steps_per_epoch or len(Batches(data, "train", c.batch_size, seed=config.seed))
    schedule = DropPathSchedule(total_steps=c.epochs * steps, initial_step=start * steps)
    schedule.set_model(model)
    test_acc = rows[-1]["test_acc"] if rows else float("nan")
    for epoch in range(start, c.epochs):
        lr = sgdr_lr(epoch, c.lr_max, c.lr_min, c.lr_t0, c.lr_tmul)
        model.optimizer.learning_rate.assign(lr)
        t0 = time.perf_counter()
        logs = train_final_epoch(model, data, config, epoch, schedule, verbose=verbose)
        t_train = time.perf_counter() - t0
        valid_acc, test_acc = evaluate_final(model, data, config)
        rows.append({
            "epoch": epoch + 1, "lr": lr,
            "train_loss": _history_value(logs, "ce"),
            "train_objective": float(logs["loss"]),
            "train_acc": _history_value(logs, "accuracy"),
            "valid_acc": valid_acc, "test_acc": test_acc,
            "seconds_train": round(t_train, 3),
            "seconds": round(time.perf_counter() - t0, 3),
        })
        if verbose:
            print(f"epoch {epoch + 1}/{c.epochs}: lr={lr:.5f} train_acc={rows[-1]['train_acc']:.4f} "
                  f"valid_acc={valid_acc:.4f} test_acc={test_acc:.4f} ({rows[-1]['seconds']:.1f}s)", flush=True)
        # Metrics first, checkpoint second: a kill in between leaves a row that resume drops, never a lost one.
        write_csv(run / METRICS, rows)
        log_epoch(run.path, "retrain", rows[-1])  # before the checkpoint: a replayed epoch rewrites its file
        run.save_checkpoint(epoch + 1, config, model_arrays(model, model.optimizer))
    run.finish({"test_acc": test_acc, "valid_acc": rows[-1]["valid_acc"] if rows else None,
                "epochs": c.epochs, "seconds": round(sum(r["seconds"] for r in rows), 3),
                "params": int(model.count_params()), "arc": arc.to_string()})
    return float(test_acc)
