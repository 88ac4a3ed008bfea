"""One place that makes a run a pure function of its seed.

`keras.utils.set_random_seed` seeds Python, NumPy and the backend. On TensorFlow, several CPU kernels (oneDNN and
Eigen reductions split across threads) may still sum in a different order from one process to the next, so the same
seed gave different metrics at the cpu presets; TensorFlow's op determinism pins those kernels. Its cost on this
machine is measured by `python -m enaslite bench` (see the README).
"""

from __future__ import annotations

import keras

_determinism_on = False


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seeds every generator a run draws from and, if `deterministic`, makes backend kernels deterministic."""
    global _determinism_on
    keras.utils.set_random_seed(int(seed))
    if deterministic and not _determinism_on and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
        _determinism_on = True
