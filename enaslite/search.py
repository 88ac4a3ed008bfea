"""The ENAS search loop: shared weights and controller, alternating per epoch as the reference code does (spec 5.1).

Each epoch:
1. **child phase**: one pass of `steps_per_epoch` minibatches over the train split; every minibatch trains the
   supernet with a freshly sampled architecture (M = 1). The epoch's architectures are sampled in one batched
   controller call, so sampling costs one compiled rollout, not one per step.
2. **controller phase** (mode `reinforce` only): `train_steps` updates; each samples `num_aggregate` architectures,
   rewards each with its accuracy on its own validation minibatch using the shared weights, and takes one Adam step
   on the averaged REINFORCE gradient.
3. **logging**: `num_logged` sampled architectures, each with its shared-weight accuracy on one validation
   minibatch (the reference's "Here are 10 architectures"), appended to `samples.jsonl`.
4. **summary**: one row in `epochs.csv` (losses, lr, controller entropy, skip rate, baseline, op histogram, seconds
   per phase), the epoch's TensorBoard event file (`enaslite.tensorboard`), controller weights for the epochs
   listed in `controller.save_epochs`, then the checkpoint.

Controller modes: `reinforce` (ENAS), `frozen` (the untrained controller's initial policy, never updated) and
`uniform` (architectures uniformly at random: random search with weight sharing). `init_controller` loads
controller weights saved by another run (the thesis' transfer experiment) before the search starts.

Differences from the reference code, on purpose:
- The reference evaluates valid/test at the end of each search epoch with a fresh random architecture per eval batch;
  that average of random policy samples says little, and costs a full test pass, so it is not repeated here. The
  logged architectures and the controller rewards carry the shared-weight accuracies instead.
- `reference_macro_bug` (off by default) reproduces the reference's macro search, where the sampled op is inert.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from enaslite.config import Config
from enaslite.data import Batches, Dataset, load_dataset_from_config
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc
from enaslite.loop import train_epoch
from enaslite.runs import (RunDir, file_identity, model_arrays, read_csv, read_jsonl, restore_model,
                           write_csv, write_jsonl)
from enaslite.seeding import seed_everything
from enaslite.schedule import sgdr_lr
from enaslite import backend
from enaslite.supernet_common import NesterovSGD
from enaslite.tensorboard import log_epoch, write_from_metrics

EPOCHS = "epochs.csv"
SAMPLES = "samples.jsonl"


def controller_path(run_dir, epoch: int) -> Path:
    """Where the controller weights of (1-based) `epoch` are kept."""
    return Path(run_dir) / f"controller_epoch{epoch:04d}.weights.h5"


def supernet_path(run_dir, epoch: int) -> Path:
    """Where the shared weights of (1-based) `epoch` are kept (large: not committed to git)."""
    return Path(run_dir) / f"supernet_epoch{epoch:04d}.npz"


def save_epochs(config: Config) -> tuple:
    """Epochs whose controller weights are kept: the config's list, or first, middle and last."""
    n = config.search.epochs
    return tuple(config.controller.save_epochs) or tuple(sorted({1, (n + 1) // 2, n}))


def num_ops(config: Config) -> int:
    return config.search.num_branches or (6 if config.space == "macro" else 5)


def build_supernet(config: Config, dataset: Dataset) -> keras.Model:
    """The weight-sharing supernet of `config.search`, compiled with the reference child optimizer."""
    c = config.search
    if config.space == "macro":
        from enaslite.supernet_macro import MacroSupernet
        net = MacroSupernet(c.num_layers, c.out_filters, dataset.num_classes, num_ops=num_ops(config),
                            keep_prob=c.keep_prob, l2=c.l2, reference_macro_bug=config.reference_macro_bug)
        arc_len = c.num_layers * (c.num_layers + 1) // 2
    else:
        from enaslite.supernet_micro import MicroSupernet
        net = MicroSupernet(c.num_layers, c.out_filters, dataset.num_classes, num_nodes=c.num_cells,
                            num_ops=num_ops(config), keep_prob=c.keep_prob, l2=c.l2, aux_weight=c.aux_weight,
                            aux_trainable=c.aux_trainable, eval_dropout=c.eval_dropout,
                            reference_fan_in=c.reference_fan_in)
        arc_len = 8 * c.num_cells
    # `ce` logs the cross-entropy on its own; the loss adds L2 (and the aux head's term).
    # On TensorFlow the optimizer adds the L2 gradients (bit for bit the same weights, a smaller traced step; see
    # `NesterovSGD`). XLA fuses those ops on JAX, where adding them in another order could change the last bit.
    net.compile(NesterovSGD(c.lr_max, momentum=0.9, clipnorm=c.grad_bound,
                            adds_l2_gradients=backend.NAME == "tensorflow"),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="ce")])
    # Build every variable now (also the optimizer's), so a checkpoint can be restored into it.
    x = np.zeros((2,) + dataset.input_shape, "float32")
    net((x, np.zeros((1, arc_len), "int32")), training=False)
    net.optimizer.build(net.trainable_variables)
    return net


def build_controller(config: Config, seed: int):
    c = config.search
    if config.space == "macro":
        from enaslite.controller_macro import MacroController
        return MacroController.from_config(config.controller, c, seed=seed)
    from enaslite.controller_micro import MicroController
    return MicroController.from_config(config.controller, c, seed=seed)


class Policy:
    """Where architectures come from: the controller, or uniform sampling (`uniform` mode)."""

    def __init__(self, config: Config, controller):
        self.config, self.controller = config, controller
        self.uniform = config.controller.mode == "uniform"

    def sample(self, n: int, rng: np.random.Generator):
        """(arcs, log_probs, entropies); uniform arcs get the controller's log-prob for reference."""
        if not self.uniform:
            s = self.controller.sample(n)
            return s.arcs, s.log_probs, s.entropies
        c = self.config.search
        if self.config.space == "macro":
            arcs = [MacroArc.random(rng, c.num_layers, num_ops=num_ops(self.config)) for _ in range(n)]
        else:
            arcs = [MicroArc.random(rng, num_nodes=c.num_cells, num_ops=num_ops(self.config)) for _ in range(n)]
        log_probs, entropies = self.controller.log_prob(arcs)
        return arcs, log_probs, entropies


class ArcBatches(keras.utils.PyDataset):
    """Training minibatches paired with one architecture each: ((images, arc[None]), labels)."""

    def __init__(self, batches: Batches, arcs):
        super().__init__()
        self.batches = batches
        self.flats = np.stack([a.to_flat() for a in arcs]).astype("int32")

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        x, y = self.batches[i]
        return (x, self.flats[i][None, :]), y


class RewardStream:
    """Validation minibatches for rewards, each used once, cycling through seeded reshuffles of the split."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, epoch: int):
        self.dataset, self.batch_size, self.seed, self.epoch = dataset, batch_size, seed, epoch
        self.round, self.i, self.batches = 0, 0, None

    def next(self):
        if self.batches is None or self.i == len(self.batches):
            # Distinct seeds per (epoch, round) so every epoch sees its own order, reproducible on resume.
            self.batches = Batches(self.dataset, "valid", self.batch_size, seed=self.seed,
                                   epoch=10_000 * (self.epoch + 1) + self.round)
            self.round, self.i = self.round + 1, 0
        self.i += 1
        return self.batches[self.i - 1]


def shared_accuracy(net, arc, x, y) -> float:
    """Accuracy of `arc` with the shared weights on one minibatch (BN in inference mode)."""
    logits = net.predict_on_batch((x, arc.to_flat()[None, :].astype("int32")))
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _op_hist(arcs, n_ops: int) -> np.ndarray:
    if isinstance(arcs[0], MacroArc):
        ops = np.concatenate([a.ops for a in arcs])
    else:
        ops = np.concatenate([np.r_[a.normal[1::2], a.reduce[1::2]] for a in arcs])
    return np.bincount(ops, minlength=n_ops) / len(ops)


def _skip_rate(arcs) -> float:
    return float(np.mean([a.skip_rate for a in arcs])) if isinstance(arcs[0], MacroArc) else 0.0


def _checkpoint_arrays(net, controller) -> dict:
    arrays = model_arrays(net, net.optimizer, prefix="net_")
    # The controller's variables include its sampling SeedGenerator state, so sampling resumes where it stopped.
    arrays.update(model_arrays(controller, controller.controller_optimizer, prefix="ctrl_"))
    return arrays


def _restore(arrays, net, controller, written_by) -> None:
    restore_model(arrays, net, net.optimizer, prefix="net_", written_by=written_by)
    restore_model(arrays, controller, controller.controller_optimizer, prefix="ctrl_", written_by=written_by)


def search(config: Config, run_dir, dataset: Dataset | None = None, *, init_controller=None,
           verbose: int = 1, overwrite: bool = False) -> dict:
    """Runs the search and returns the last epoch's summary row.

    Everything that can be checked (the run dir's stored config, kind, dataset fingerprint and initial controller)
    is checked before anything is written. A finished run is never rerun or rewritten: its last row is returned,
    unless `overwrite` is set, which deletes the run's files and starts afresh.

    Args:
        config: the experiment; `config.search` sizes the supernet, `config.controller` the controller.
        run_dir: gets config.json, run.json, epochs.csv, samples.jsonl, controller and supernet weights of the
            `controller.save_epochs`, and a checkpoint; a killed run resumes from its last complete epoch when
            called again with the same arguments. `search.epochs` may be raised to extend a run whose checkpoint is
            present.
        dataset: a `Dataset` used instead of the one `config.data` names.
        init_controller: path of `.weights.h5` controller weights to start from (transfer). Only the policy is
            taken: this run's seed drives sampling, and the baseline and Adam moments start afresh.
        verbose: 0 silent, 1 progress bars and one line per epoch.
        overwrite: delete an existing run in `run_dir` (finished or not) and search from scratch.
    """
    run = RunDir(run_dir)
    run.check_location()
    if init_controller is not None and not Path(init_controller).is_file():
        raise ValueError(f"argument `init_controller`: expected a controller .weights.h5 file, received "
                         f"{init_controller}")
    data = dataset if dataset is not None else load_dataset_from_config(config.data)
    identity = {"dataset": data.fingerprint(),
                "init_controller": None if init_controller is None else file_identity(init_controller)}
    c, k = config.search, config.controller
    run.check("search", config, identity, resumable_fields=("search.epochs",), overwrite=overwrite)
    done = None if overwrite else run.finished_for(c.epochs, "search.epochs")
    if done is not None:
        return dict(done.get("last", {}))
    seed_everything(config.seed)
    net = build_supernet(config, data)
    controller = build_controller(config, config.seed)
    if init_controller is not None:
        controller.load_policy(init_controller)  # fails on weights of another space or size, before any write
    # Restored before any write too: a checkpoint of another backend that this one can't take refuses the command.
    ckpt = None if overwrite else run.load_checkpoint()
    if ckpt is not None:
        _restore(ckpt[1], net, controller, run.checkpoint_backend())
    if overwrite:
        run.clear()
    run.create("search", config, identity)
    policy = Policy(config, controller)
    reward_bs = k.reward_batch_size or c.batch_size

    start, rows, samples = 0, [], []
    if ckpt is not None:
        start = ckpt[0]
        rows = [r for r in read_csv(run / EPOCHS) if r["epoch"] <= start]
        samples = [s for s in read_jsonl(run / SAMPLES) if s["epoch"] <= start]
        write_from_metrics(run.path, only_missing=True)  # epochs logged before TensorBoard files existed
    run.unfinish()

    for epoch in range(start, c.epochs):
        rng = np.random.default_rng([config.seed, epoch, 7])
        row = {"epoch": epoch + 1}
        lr = sgdr_lr(epoch, c.lr_max, c.lr_min, c.lr_t0, c.lr_tmul)
        net.optimizer.learning_rate.assign(lr)
        batches = Batches(data, "train", c.batch_size, seed=config.seed, epoch=epoch, augment=c.augment,
                          cutout=c.cutout, steps=c.steps_per_epoch)

        # -- 1. child phase --------------------------------------------------------------------------------------
        t0 = time.perf_counter()
        arcs, _, entropies = policy.sample(len(batches), rng)
        t_sample = time.perf_counter() - t0
        logs = train_epoch(net, ArcBatches(batches, arcs), verbose=verbose)
        t_child = time.perf_counter() - t0 - t_sample
        hist_ops = _op_hist(arcs, num_ops(config))
        row.update(lr=lr, train_loss=float(logs["ce"]), train_objective=float(logs["loss"]),
                   train_acc=float(logs["accuracy"]),
                   ctrl_entropy=float(np.mean(entropies)), skip_rate=_skip_rate(arcs))

        # -- 2. controller phase ---------------------------------------------------------------------------------
        rewards_stream = RewardStream(data, reward_bs, config.seed, epoch)
        t_ctrl = t_reward = 0.0
        updates = []
        if k.mode == "reinforce":
            for _ in _progress(range(k.train_steps), verbose, f"controller {epoch + 1}"):
                t1 = time.perf_counter()
                group = controller.sample(k.num_aggregate)
                t2 = time.perf_counter()
                rewards = [shared_accuracy(net, a, *rewards_stream.next()) for a in group.arcs]
                t3 = time.perf_counter()
                updates.append(controller.update(group.arcs, rewards))
                t_ctrl += (t2 - t1) + (time.perf_counter() - t3)
                t_reward += t3 - t2
        row.update(ctrl_loss=_mean(updates, "loss"), ctrl_reward=_mean(updates, "reward"),
                   baseline=float(controller.baseline.numpy()), ctrl_grad_norm=_mean(updates, "grad_norm"))

        # -- 3. logged architectures -----------------------------------------------------------------------------
        t4 = time.perf_counter()
        logged, log_probs, log_ent = policy.sample(k.num_logged, rng)
        for i, arc in enumerate(logged):
            acc = shared_accuracy(net, arc, *rewards_stream.next())
            samples.append({"epoch": epoch + 1, "index": i, "arc": arc.to_string(), "valid_acc": acc,
                            "log_prob": float(log_probs[i]), "entropy": float(log_ent[i])})
        t_logged = time.perf_counter() - t4
        accs = [s["valid_acc"] for s in samples[-k.num_logged:]]

        # -- 4. summary, controller weights, checkpoint -----------------------------------------------------------
        row.update(logged_acc_mean=float(np.mean(accs)), logged_acc_max=float(np.max(accs)))
        row.update({f"op{i}": float(f) for i, f in enumerate(hist_ops)})
        row.update(seconds_child=round(t_child, 3), seconds_ctrl_sample=round(t_sample, 3),
                   seconds_ctrl=round(t_ctrl, 3), seconds_reward=round(t_reward, 3),
                   seconds_logged=round(t_logged, 3), seconds=round(time.perf_counter() - t0, 3))
        rows.append(row)
        if verbose:
            print(f"epoch {epoch + 1}/{c.epochs}: loss={row['train_loss']:.4f} acc={row['train_acc']:.4f} "
                  f"entropy={row['ctrl_entropy']:.3f} skip={row['skip_rate']:.3f} baseline={row['baseline']:.4f} "
                  f"logged_acc={row['logged_acc_mean']:.4f} ({row['seconds']:.1f}s)", flush=True)
        # Logs first, checkpoint last: on resume, rows beyond the checkpoint's epoch are dropped, never lost.
        write_csv(run / EPOCHS, rows)
        write_jsonl(run / SAMPLES, samples)
        # Before the checkpoint too, so a kill before it replays the epoch, which rewrites this epoch's file.
        log_epoch(run.path, "search", row, [s for s in samples if s["epoch"] == epoch + 1])
        if epoch + 1 in save_epochs(config):
            controller.save_weights(str(controller_path(run.path, epoch + 1)))
            # The shared weights of this epoch, so its architectures can be re-scored later (`sample`).
            run.save_checkpoint(epoch + 1, config, model_arrays(net), name=supernet_path(run.path, epoch + 1).name)
        run.save_checkpoint(epoch + 1, config, _checkpoint_arrays(net, controller))
    summary = dict(rows[-1]) if rows else {}
    run.finish({"epochs": c.epochs, "last": summary, "seconds": round(sum(r["seconds"] for r in rows), 3)})
    return summary


def _mean(updates, key) -> float:
    return float(np.mean([u[key] for u in updates])) if updates else float("nan")


def _progress(iterable, verbose, desc):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, leave=False)
