"""One training epoch: a loop of `train_on_batch` calls over indexable batches, with a Keras progress bar.

Why not `fit`: on the TensorFlow backend `fit` feeds a `PyDataset` through tf.data, and tf.data's autotuning can hold
the call open after its last step, in an idle wait that starts at 10 ms and doubles (so 33 s of work returned at
41 s, 42 s at 82 s). `train_on_batch` runs the same compiled train step on the arrays directly and returns when the
step does, on every backend. It resets the compiled metrics on each call, so the epoch's values are the means of the
per-step values; every batch of `enaslite.data.Batches` has the same size, so these equal `fit`'s running means.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import keras


def train_epoch(model: keras.Model, batches: Sequence, *, verbose: int = 0,
                on_batch_begin: Callable[[int], None] | None = None) -> dict:
    """Trains `model` for one pass over `batches` and returns the epoch means of its logs.

    Args:
        model: a compiled Keras model.
        batches: anything with `len()` and `[i]` giving `(x, y)`, e.g. `enaslite.data.Batches`; used in order.
        verbose: 1 shows a Keras progress bar.
        on_batch_begin: called with the step index before each step (e.g. the drop-path schedule).

    Returns:
        `{name: epoch mean}` for every value the train step logs (`loss` includes L2 and auxiliary terms), plus
        `step_seconds`, the summed wall time of the steps alone.
    """
    n = len(batches)
    if n < 1:
        raise ValueError(f"argument `batches`: expected at least one batch, received {n}")
    bar = None
    sums: dict[str, float] = {}
    step_seconds = 0.0
    for i in range(n):
        if on_batch_begin is not None:
            on_batch_begin(i)
        x, y = batches[i]
        t0 = time.perf_counter()
        logs = model.train_on_batch(x, y, return_dict=True)
        step_seconds += time.perf_counter() - t0
        for key, value in logs.items():
            sums[key] = sums.get(key, 0.0) + float(keras.ops.convert_to_numpy(value))
        if verbose:  # the bar shows the running epoch means, computed here (so all are "stateful" to it)
            bar = bar or keras.utils.Progbar(n, stateful_metrics=list(sums))
            bar.update(i + 1, values=[(k, v / (i + 1)) for k, v in sums.items()])
    means = {key: total / n for key, total in sums.items()}
    means["step_seconds"] = step_seconds
    return means
