"""Reloading a search run's saved controller and sampling architectures from it.

`sample_from_run(run_dir, epoch, n)` rebuilds the controller of `run_dir`'s config, loads the weights saved at
`epoch` and samples `n` architectures. When the run's supernet checkpoint is present, each architecture also gets
its shared-weight accuracy on the whole validation split. That checkpoint holds the shared weights of the run's
*last complete* epoch, whichever controller epoch is sampled.
"""

from __future__ import annotations

import numpy as np

from enaslite.data import eval_batches, load_dataset_from_config
from enaslite.runs import RunDir
from enaslite.search import _restore, build_controller, build_supernet, controller_path


def saved_epochs(run_dir) -> list[int]:
    """Epochs whose controller weights `run_dir` holds."""
    return sorted(int(p.name[len("controller_epoch"):-len(".weights.h5")])
                  for p in RunDir(run_dir).path.glob("controller_epoch*.weights.h5"))


def load_controller(run_dir, epoch: int, seed: int = 0):
    """The controller of `run_dir` as it was at the end of (1-based) `epoch`."""
    run = RunDir(run_dir)
    config = run.load_config()
    if config is None:
        raise ValueError(f"argument `run_dir`: expected a search run directory with config.json, received {run_dir}")
    path = controller_path(run.path, epoch)
    if not path.exists():
        raise ValueError(f"argument `epoch`: expected one of the saved epochs {saved_epochs(run_dir)}, "
                         f"received {epoch}")
    controller = build_controller(config, seed)
    controller.load_weights(str(path))
    return config, controller


def sample_from_run(run_dir, epoch: int, n: int = 10, seed: int = 0) -> list[dict]:
    """`n` architectures from the controller saved at `epoch`, with their shared-weight valid accuracy if possible."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"argument `n`: expected an int >= 1, received {n!r}")
    config, controller = load_controller(run_dir, epoch, seed)
    s = controller.sample(n)
    accs = [None] * n
    ckpt = RunDir(run_dir).load_checkpoint()
    if ckpt is not None:
        data = load_dataset_from_config(config.data)
        net = build_supernet(config, data)
        _restore(ckpt[1], net, build_controller(config, seed))
        accs = [_valid_accuracy(net, arc, data, config.search.eval_batch_size) for arc in s.arcs]
    return [{"arc": a.to_string(), "log_prob": float(lp), "valid_acc": acc}
            for a, lp, acc in zip(s.arcs, s.log_probs, accs)]


def _valid_accuracy(net, arc, data, batch_size: int) -> float:
    flat = arc.to_flat()[None, :].astype("int32")
    correct = total = 0
    for x, y in eval_batches(data, "valid", batch_size):
        correct += int(np.sum(np.argmax(net.predict_on_batch((x, flat)), -1) == y))
        total += len(y)
    return correct / total
