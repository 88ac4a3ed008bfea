"""Reloading a search run's saved controller, sampling architectures from it, and re-scoring them.

`sample_from_run(run_dir, epoch, n)` rebuilds the controller of `run_dir`'s config, loads the policy saved at
`epoch` and samples `n` architectures with the given seed. Each architecture is then scored with the shared weights
*of that same epoch* (`supernet_epochNNNN.npz`, kept at the controller save epochs; or the run's checkpoint when it
holds exactly that epoch) on the first `num_valid` validation images (all of them by default). Every record says
which weights scored it; without weights of that epoch no accuracy is given rather than one from another epoch.
"""

from __future__ import annotations

import numpy as np

from enaslite.data import eval_batches, load_dataset_from_config
from enaslite.runs import RunDir, describe_identity, restore_model
from enaslite.search import build_controller, build_supernet, controller_path, supernet_path


def saved_epochs(run_dir) -> list[int]:
    """Epochs whose controller weights `run_dir` holds."""
    return sorted(int(p.name[len("controller_epoch"):-len(".weights.h5")])
                  for p in RunDir(run_dir).path.glob("controller_epoch*.weights.h5"))


def _search_run(run_dir) -> RunDir:
    run = RunDir(run_dir)
    if not run.exists() or run.kind() != "search":
        raise ValueError(f"argument `run_dir`: expected a search run directory (with config.json and saved "
                         f"controllers), received {run_dir}")
    return run


def load_controller(run_dir, epoch: int, seed: int = 0):
    """The policy of `run_dir` as it was at the end of (1-based) `epoch`; `seed` drives its sampling."""
    run = _search_run(run_dir)
    config = run.load_config()
    path = controller_path(run.path, epoch)
    if not path.exists():
        raise ValueError(f"argument `epoch`: expected one of the saved epochs {saved_epochs(run_dir)}, "
                         f"received {epoch}")
    controller = build_controller(config, seed)
    controller.load_policy(path)
    return config, controller


def load_supernet(run_dir, epoch: int, data=None):
    """(supernet with the shared weights of `epoch`, a description of those weights), or (None, why not)."""
    run = _search_run(run_dir)
    config = run.load_config()
    source = supernet_path(run.path, epoch)
    ckpt = run.load_checkpoint(source.name) if source.exists() else None
    if ckpt is None:
        last = run.load_checkpoint()
        if last is None or last[0] != epoch:
            return None, (f"none: {run.path} keeps no shared weights of epoch {epoch} (supernet weights are kept at "
                          f"the controller save epochs, and are not in git)")
        ckpt, source = last, run / run.CHECKPOINT
    net = build_supernet(config, data if data is not None else run_dataset(run_dir))
    restore_model(ckpt[1], net, prefix="net_" if source.name == run.CHECKPOINT else "",
                  written_by=run.checkpoint_backend(source.name))
    return net, f"shared weights of epoch {epoch} ({source.name})"


def run_dataset(run_dir, dataset=None):
    """The dataset the search in `run_dir` saw: `dataset` if given, else the one its config names; either must
    match the fingerprint the run stored."""
    run = _search_run(run_dir)
    data = dataset if dataset is not None else load_dataset_from_config(run.load_config().data)
    stored = run.load_run().get("identity", {}).get("dataset")
    if stored is not None and stored != data.fingerprint():
        raise ValueError(f"argument `dataset`: this run dir ({run.path}) was made with "
                         f"{describe_identity('dataset', stored)}; received "
                         f"{describe_identity('dataset', data.fingerprint())}; pass the run's own dataset")
    return data


def sample_from_run(run_dir, epoch: int, n: int = 10, seed: int = 0, num_valid: int | None = None,
                    dataset=None) -> list[dict]:
    """`n` architectures from the policy saved at `epoch`, each with its shared-weight accuracy on the first
    `num_valid` validation images (None = all) under that epoch's shared weights, when they were kept. `dataset`:
    the run's `Dataset` when it was not one that its config names (see `run_dataset`).

    Returns one dict per architecture: `arc`, `log_prob`, `valid_acc` (None when unscored), `num_valid`, `weights`.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"argument `n`: expected an int >= 1, received {n!r}")
    if num_valid is not None and (not isinstance(num_valid, int) or isinstance(num_valid, bool) or num_valid < 1):
        raise ValueError(f"argument `num_valid`: expected None or an int >= 1, received {num_valid!r}")
    config, controller = load_controller(run_dir, epoch, seed)
    s = controller.sample(n)
    data = run_dataset(run_dir, dataset)
    net, weights = load_supernet(run_dir, epoch, data)
    accs, used = [None] * n, None
    if net is not None:
        scored = [score_arc(net, arc, data, config.search.eval_batch_size, num_valid) for arc in s.arcs]
        accs, used = [a for a, _ in scored], scored[0][1]
    return [{"arc": a.to_string(), "log_prob": float(lp), "valid_acc": acc, "num_valid": used, "weights": weights}
            for a, lp, acc in zip(s.arcs, s.log_probs, accs)]


def score_arc(net, arc, data, batch_size: int, num_valid: int | None = None) -> tuple[float, int]:
    """(accuracy, images used) of `arc` with the supernet's shared weights on the first `num_valid` valid images."""
    flat = arc.to_flat()[None, :].astype("int32")
    correct = total = 0
    for x, y in eval_batches(data, "valid", batch_size):
        if num_valid is not None:
            x, y = x[:num_valid - total], y[:num_valid - total]
        # A short last batch is padded to full size, so the compiled predict step is never retraced.
        logits = net.predict_on_batch((np.resize(x, (batch_size,) + x.shape[1:]), flat))[:len(y)]
        correct += int(np.sum(np.argmax(logits, -1) == y))
        total += len(y)
        if num_valid is not None and total >= num_valid:
            break
    return correct / total, total
