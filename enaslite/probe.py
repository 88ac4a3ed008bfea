"""Does the shared-weight reward depend on the sampled ops? A probe of a macro search's supernet.

The reference code's macro search had a bug (docs/departures.md; spec 2.3): every layer ran the max-pool branch
whatever op was sampled, so the op decisions could not change the reward. The thesis' macro experiments ran that
code. `probe_ops` measures the effect directly on a finished search: it samples `n` architectures from the policy
saved at `epoch`, and for each one (a *pattern*: its skip connections) scores seven variants with that epoch's shared
weights on the whole validation split, all with the same skips:

- `sampled`: the ops the controller sampled;
- `all-conv3x3`, ..., `all-maxpool3x3`: every layer running one op (the six of `MacroArc.OPS`, or the first
  `num_branches` of them).

Under the bug the seven variants of a pattern compute the same function, so their accuracies are equal and their
logits are identical (`max_logit_diff` is 0); with the intended selection they differ. `analysis.op_effect`
summarises the rows (how much of the accuracy's variance the ops explain).
"""

from __future__ import annotations

import keras
import numpy as np

from enaslite.data import eval_batches
from enaslite.macro_arc import OPS, MacroArc
from enaslite.sample import load_controller, load_supernet, run_dataset


def op_variants(arc: MacroArc, num_ops: int = len(OPS)) -> list[tuple[str, MacroArc]]:
    """(name, arc) of the probe's variants of `arc`: itself (`sampled`), then every layer set to each op in turn,
    skips unchanged."""
    if not isinstance(arc, MacroArc):
        raise ValueError(f"argument `arc`: expected a MacroArc, received {type(arc).__name__}")
    if not (isinstance(num_ops, int) and 1 <= num_ops <= len(OPS)):
        raise ValueError(f"argument `num_ops`: expected an int in [1, {len(OPS)}], received {num_ops!r}")
    out = [("sampled", arc)]
    for op in range(num_ops):
        out.append((f"all-{OPS[op]}", MacroArc(tuple([op] * arc.num_layers), arc.skips)))
    return out


def _logits(net, arc, data, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(logits of the whole validation split, labels) under `arc` with the supernet's shared weights."""
    flat = arc.to_flat()[None, :].astype("int32")
    outs, labels = [], []
    for x, y in eval_batches(data, "valid", batch_size):
        # A short last batch is padded to full size, so the compiled predict step is never retraced.
        logits = net.predict_on_batch((np.resize(x, (batch_size,) + x.shape[1:]), flat))[:len(y)]
        outs.append(keras.ops.convert_to_numpy(logits))
        labels.append(y)
    return np.concatenate(outs), np.concatenate(labels)


def probe_ops(run_dir, epoch: int, n: int = 4, seed: int = 0, dataset=None) -> list[dict]:
    """Rows of the probe (see the module docstring): one per pattern and variant, with `pattern`, `variant`,
    `arc`, `valid_acc`, `num_valid`, `max_logit_diff` (largest absolute difference of any logit from the pattern's
    `sampled` variant), `weights` (which shared weights scored it) and `reference_macro_bug` (the search's mode).

    Raises ValueError when the search is not a macro search or kept no shared weights of `epoch`."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"argument `n`: expected an int >= 1, received {n!r}")
    config, controller = load_controller(run_dir, epoch, seed)
    if config.space != "macro":
        raise ValueError(f"argument `run_dir`: expected a macro search (the probe varies macro ops), received a "
                         f"{config.space} search in {run_dir}")
    data = run_dataset(run_dir, dataset)
    net, weights = load_supernet(run_dir, epoch, data)
    if net is None:
        raise ValueError(f"argument `epoch`: expected a search epoch whose shared weights were kept "
                         f"(controller.save_epochs), received {epoch}: {weights}")
    num_ops = config.search.num_branches or len(OPS)
    rows = []
    for pattern, arc in enumerate(controller.sample(n).arcs):
        base = None
        for name, variant in op_variants(arc, num_ops):
            logits, labels = _logits(net, variant, data, config.search.eval_batch_size)
            base = logits if base is None else base
            rows.append({"pattern": pattern, "variant": name, "arc": variant.to_string(),
                         "valid_acc": float(np.mean(np.argmax(logits, -1) == labels)), "num_valid": int(len(labels)),
                         "max_logit_diff": float(np.max(np.abs(logits - base))), "weights": weights,
                         "reference_macro_bug": bool(config.reference_macro_bug)})
    return rows
