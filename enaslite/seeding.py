"""One place that makes a run a pure function of its seed.

`keras.utils.set_random_seed` seeds Python, NumPy and the backend. On TensorFlow that is not enough: op
determinism pins the kernels that may sum in a varying order, and grappler's graph rewriting is turned off, because
it made the supernet's training steps round differently from one process to the next (`enaslite.backend.tensorflow`
says how). The cost of both was measured and is in the README ("Reproducibility"): none measurable, and tracing got
faster. Each backend's switches live in its module of `enaslite.backend` (`enable_determinism`).
"""

from __future__ import annotations

import keras

_determinism_on = False


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seeds every generator a run draws from and, if `deterministic`, makes backend kernels deterministic."""
    global _determinism_on
    keras.utils.set_random_seed(int(seed))
    if deterministic and not _determinism_on:
        from enaslite import backend
        backend.enable_determinism()
        _determinism_on = True
