"""One place that makes a run a pure function of its seed.

`keras.utils.set_random_seed` seeds Python, NumPy and the backend. On TensorFlow that is not enough: op
determinism pins the kernels that may sum in a varying order, and grappler's graph rewriting is turned off (see
below), because it made the supernet's training steps round differently from one process to the next. The cost of
both was measured and is in the README ("Reproducibility"): none measurable, and tracing got faster.
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
        # Grappler (TF's graph optimizer) rewrites the supernet's per-layer op switch (`tf.switch_case` branch
        # functions) differently in the first calls and in later ones, at a point that varies from process to
        # process, and the versions round differently: two processes with the same seed drifted apart in the 5th
        # significant digit within one search epoch. Without grappler, steps were as fast or faster on this CPU, and
        # tracing faster (README, "Reproducibility").
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
        _determinism_on = True
