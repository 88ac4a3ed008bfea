"""One place that makes a run a pure function of its seed.

`keras.utils.set_random_seed` seeds Python, NumPy and the backend. On TensorFlow that is not enough: op
determinism pins the kernels that may sum in a varying order, and grappler's graph rewriting is turned off, because
it made the supernet's training steps round differently from one process to the next (`enaslite.backend.tensorflow`
says how). The cost of both was measured and is in the README ("Reproducibility"): none measurable, and tracing got
faster. Each backend's switches live in its module of `enaslite.backend` (`enable_determinism`).
"""

from __future__ import annotations

import contextlib
import sys

import keras

_determinism_on = False


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seeds every generator a run draws from and, if `deterministic`, makes backend kernels deterministic."""
    global _determinism_on
    with _tensorflow_left_alone():
        keras.utils.set_random_seed(int(seed))
    if deterministic and not _determinism_on:
        from enaslite import backend
        backend.enable_determinism()
        _determinism_on = True


@contextlib.contextmanager
def _tensorflow_left_alone():
    """On JAX and torch, keeps `keras.utils.set_random_seed` from importing TensorFlow just to seed it.

    Keras seeds TensorFlow whenever it is installed, for tf.data pipelines; enaslite feeds none on the other
    backends, and the import alone cost a torch search about 470 MB of peak memory and 2 s of its start (README,
    "Keras backends"). There is no public switch, so for the call this hides Keras' lazy TensorFlow handle in
    `keras.src.utils.rng_utils` (its only use there is that seeding); everything else the function seeds is seeded.
    A process that has TensorFlow loaded already, or runs on it, seeds it as before."""
    from enaslite import backend

    if backend.NAME == "tensorflow" or "tensorflow" in sys.modules:
        yield
        return
    from keras.src.utils import rng_utils

    class _Absent:
        available = False

    handle, rng_utils.tf = rng_utils.tf, _Absent()
    try:
        yield
    finally:
        rng_utils.tf = handle
