"""The supernets on this backend: one trace for a new architecture every step, and BatchNorm moving statistics
that move for the selected branches only, in compiled training steps and in eager calls
(enaslite/supernet_*.py, enaslite/backend)."""

import keras
import numpy as np
import pytest
from supernet_helpers import NUM_CLASSES, NewArcEachBatch, compile_sgd, counting
from test_supernet_macro import FixedArcBatch, random_arc, with_ops
from test_supernet_micro import random_arc as random_micro_arc

from enaslite.supernet_macro import MacroSupernet
from enaslite.supernet_micro import MicroSupernet

CountingMacro, CountingMicro = counting(MacroSupernet), counting(MicroSupernet)


def training_calls(steps):
    """Python-level training calls of a fit of `steps` steps: one trace where steps are compiled; one per step on
    PyTorch, which runs eagerly."""
    return steps if keras.backend.backend() == "torch" else 1


def _stats(branch):
    # The variance too: right after a batch-normalised reduction the batch mean is ~0, so a moving mean barely moves.
    return np.r_[np.asarray(branch.inp_bn.moving_mean), np.asarray(branch.inp_bn.moving_variance)]


def _moved(model, before):
    return [[not np.allclose(b, _stats(branch)) for b, branch in zip(layer_before, layer)]
            for layer_before, layer in zip(before, model.branches)]


@pytest.fixture(scope="module")
def macro():
    """A 2-layer macro supernet fitted for 12 steps with a new arc every step, and its trace log."""
    keras.utils.set_random_seed(0)
    CountingMacro.traces.clear()
    model = CountingMacro(2, 8, NUM_CLASSES, input_shape=(8, 8, 1), l2=0.0)
    compile_sgd(model)
    data = NewArcEachBatch(lambda rng: random_arc(rng, 2), steps=12)
    history = model.fit(data, epochs=1, verbose=0)
    return model, history, data


def test_macro_new_arcs_do_not_retrace(macro):
    """A fit with a new arc every step traces the training call once, and its loss is finite."""
    model, history, data = macro
    assert CountingMacro.traces.count(True) == training_calls(12)
    assert len({a.tobytes() for a in data.arcs}) > 4
    assert np.isfinite(history.history["loss"][0])


def test_macro_training_step_moves_only_the_selected_branches_statistics(macro):
    """One compiled training step moves the BN moving statistics of the sampled branches only; the others keep
    their exact values."""
    model = macro[0]
    ops_chosen = [1, 5]
    before = [[_stats(b) for b in layer] for layer in model.branches]
    model.fit(FixedArcBatch(with_ops(np.array([0, 0, 1], np.int32), 2, ops_chosen)), verbose=0)
    assert _moved(model, before) == [[op == chosen for op in range(6)] for chosen in ops_chosen]
    for layer_before, layer, chosen in zip(before, model.branches, ops_chosen):
        for op, (b, branch) in enumerate(zip(layer_before, layer)):
            if op != chosen:
                np.testing.assert_array_equal(b, _stats(branch))


def test_macro_eager_training_call_updates_statistics_with_values(macro):
    """A training-mode call outside any compiled function leaves concrete moving statistics (no leaked tracer) and
    moves the selected branches' only; the model then still trains and predicts."""
    model = macro[0]
    ops_chosen = [4, 0]
    before = [[_stats(b) for b in layer] for layer in model.branches]
    x = np.random.default_rng(1).random((6, 8, 8, 1)).astype("float32")
    arc = with_ops(np.array([0, 0, 1], np.int32), 2, ops_chosen)
    model((x, arc), training=True)
    for v in model.non_trainable_variables:
        assert np.all(np.isfinite(np.asarray(v)))
    assert _moved(model, before) == [[op == chosen for op in range(6)] for chosen in ops_chosen]
    model.fit(FixedArcBatch(arc), verbose=0)
    np.testing.assert_allclose(model.predict_on_batch((x, arc[None, :])),
                               keras.ops.convert_to_numpy(model((x, arc))), atol=1e-5)


def test_micro_new_arcs_do_not_retrace():
    """A micro supernet (input and op switches in every node slot) trains with a new arc every step on one trace."""
    keras.utils.set_random_seed(0)
    CountingMicro.traces.clear()
    model = CountingMicro(1, 4, NUM_CLASSES, num_nodes=1, input_shape=(8, 8, 1), l2=0.0)
    compile_sgd(model)
    data = NewArcEachBatch(lambda rng: random_micro_arc(rng, 1), steps=8)
    history = model.fit(data, epochs=1, verbose=0)
    assert CountingMicro.traces.count(True) == training_calls(8) and len({a.tobytes() for a in data.arcs}) > 4
    assert np.isfinite(history.history["loss"][0])
