"""Tests of enaslite/backend: its interface on the suite's TensorFlow backend, and the backend subset
(tests/on_backend) run in a process of its own under each other installed Keras backend."""

import gc
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from enaslite import backend

ROOT = Path(__file__).resolve().parent.parent


def test_the_module_is_the_keras_backends():
    """`enaslite.backend` serves the module of the backend Keras runs on, with the whole interface."""
    assert backend.NAME == keras.backend.backend() == "tensorflow"
    assert backend.JIT_COMPILE is False  # child models run as plain TF graphs, as the committed runs did
    for name in backend.__all__:
        assert getattr(backend, name) is not None



def _live_func_graphs() -> int:
    gc.collect()
    return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())


@pytest.mark.parametrize("clear", [backend.clear_session, keras.backend.clear_session], ids=["ours", "keras"])
def test_clear_session_frees_the_train_step_of_a_dropped_model(clear):
    """After `clear_session` a trained and dropped model leaves no traced graph behind; Keras' own leaves its train
    step alive (held by the gradient function that Keras' TF optimizer registers in TF's global registry)."""
    backend.clear_session()
    before = _live_func_graphs()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"))
    del model
    clear()
    assert _live_func_graphs() - before == (0 if clear is backend.clear_session else 1)
    backend.clear_session()

@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_switch_keeps_the_updates_of_the_selected_branch_only(compiled):
    """Branches that assign variables listed in `state`: only the selected branch's assignment lands."""
    a, b = keras.Variable(np.zeros(2, "float32")), keras.Variable(np.zeros(2, "float32"))

    def branch(var, value):
        def run(x):
            var.assign(var + value)
            return x * value
        return run

    def call(index):
        return backend.switch(index, [branch(a, 1.0), branch(b, 2.0)], (keras.ops.ones(2),), state=[a, b])

    fn = tf.function(call) if compiled else call
    np.testing.assert_array_equal(fn(keras.ops.convert_to_tensor(1)), [2, 2])
    np.testing.assert_array_equal(np.asarray(a), [0, 0])
    np.testing.assert_array_equal(np.asarray(b), [2, 2])


def test_function_gradient_and_norm():
    """`function` lands its variable updates; `value_and_grad` gives the gradient, zeros for an unused variable;
    `global_norm` is the l2 norm over all tensors."""
    w, unused = keras.Variable(np.array([1.0, -2.0], "float32")), keras.Variable(np.ones(3, "float32"))

    def step(x):
        loss, aux, grads = backend.value_and_grad(lambda: (keras.ops.sum(w * w * x), 7.0), [w, unused])
        w.assign(w - 0.25 * grads[0])
        return loss, aux, grads

    loss, aux, grads = backend.function(step, [w, unused])(keras.ops.convert_to_tensor(np.float32(2.0)))
    assert float(loss) == 10.0 and float(aux) == 7.0
    np.testing.assert_allclose(np.asarray(grads[0]), [4.0, -8.0])
    np.testing.assert_array_equal(np.asarray(grads[1]), np.zeros(3))
    np.testing.assert_allclose(np.asarray(w), [0.0, 0.0])
    assert float(backend.global_norm([np.array([3.0], "float32"), np.array([[4.0]], "float32")])) == \
        pytest.approx(5.0)


def _tensorflow_run(path, crash_before_checkpoint):
    """A smoke retrain that TensorFlow killed after epoch 1, for the subset to resume on its backend."""
    sys.path.insert(0, str(ROOT / "tests" / "on_backend"))
    try:
        from test_runs_on_backend import ARC, retrain_config, tiny_data
    finally:
        sys.path.pop(0)
    from enaslite.retrain import retrain
    from enaslite.runs import RunDir
    with crash_before_checkpoint(2):
        retrain(ARC, retrain_config(), path, dataset=tiny_data(), verbose=0)
    assert RunDir(path).checkpoint_backend() == "tensorflow"
    return path


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_backend_subset_passes(name, tmp_path, crash_before_checkpoint):
    """tests/on_backend passes under KERAS_BACKEND=`name` (controllers against the numpy references, supernets
    with one trace and untouched BN statistics of unselected branches, search and retrain killed and resumed,
    and a retrain that TensorFlow killed, resumed there)."""
    if importlib.util.find_spec(name) is None:
        requirement = "requirements.txt" if name == "jax" else "requirements-torch.txt"
        pytest.skip(f"{name} is not installed (pip install -r {requirement})")
    env = {**os.environ, "KERAS_BACKEND": name, "ENASLITE_BACKEND_SUBSET": "1",
           "ENASLITE_TF_RUN": str(_tensorflow_run(tmp_path / "tf-run", crash_before_checkpoint))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           f"--basetemp={tmp_path / 'subset'}", "tests/on_backend"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-3000:]
