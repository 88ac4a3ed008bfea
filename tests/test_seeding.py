"""seed_everything: a run's random draws are a function of its seed; on another backend TensorFlow stays unloaded."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from enaslite.seeding import seed_everything

ROOT = Path(__file__).resolve().parent.parent


def draws():
    return (np.random.random(), keras.ops.convert_to_numpy(keras.random.uniform((3,))),
            keras.ops.convert_to_numpy(keras.initializers.GlorotUniform()((2, 2))))


def test_same_seed_same_draws_other_seed_other_draws():
    seed_everything(3)
    first = draws()
    seed_everything(3)
    again = draws()
    seed_everything(4)
    other = draws()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


CHILD = """
import sys
import keras
from enaslite.seeding import seed_everything
seed_everything(5)
a = keras.ops.convert_to_numpy(keras.random.uniform((4,)))
seed_everything(5)
b = keras.ops.convert_to_numpy(keras.random.uniform((4,)))
print((a == b).all(), "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_another_backend_is_seeded_without_importing_tensorflow(name):
    """On JAX or torch, seeding reseeds Keras' generators and leaves TensorFlow unimported (it would cost hundreds
    of MB for a seed nothing uses)."""
    pytest.importorskip(name, reason=f"{name} is not installed")
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "KERAS_BACKEND": name})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-2:] == ["True", "False"], out.stdout
