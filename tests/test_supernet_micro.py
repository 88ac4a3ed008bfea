import keras
import numpy as np
import pytest
from supernet_helpers import NUM_CLASSES, NewArcEachBatch, compile_sgd, counting

from enaslite.supernet_micro import MicroSupernet, SepConvBank, micro_arc_len, reduction_cells


def random_cell(rng, num_nodes, num_ops=5):
    cell = []
    for b in range(num_nodes):
        cell += [rng.integers(b + 2), rng.integers(num_ops), rng.integers(b + 2), rng.integers(num_ops)]
    return cell


def random_arc(rng, num_nodes):
    return np.array(random_cell(rng, num_nodes) + random_cell(rng, num_nodes), np.int32)


CountingMicro = counting(MicroSupernet)


@pytest.fixture(scope="module")
def fitted():
    """A 3-cell, 2-node supernet fitted for 3 epochs of 30 steps with a new arc every step, and its trace log."""
    keras.utils.set_random_seed(0)
    CountingMicro.traces.clear()
    model = CountingMicro(1, 8, NUM_CLASSES, num_nodes=2, input_shape=(8, 8, 1), l2=0.0)
    compile_sgd(model)
    data = NewArcEachBatch(lambda rng: random_arc(rng, 2), steps=30)
    history = model.fit(data, epochs=3, verbose=0)
    return model, history, list(CountingMicro.traces), data


@pytest.mark.parametrize("num_layers, num_nodes, shape", [(3, 2, (28, 28, 1)), (3, 3, (32, 32, 3)),
                                                          (1, 2, (9, 9, 3))])
def test_forward_shapes_for_random_arcs(num_layers, num_nodes, shape):
    """Random arcs give (batch, classes) logits in both modes, incl. odd maps (28 -> 14 -> 7, 9 -> 5 -> 3)."""
    rng = np.random.default_rng(num_layers + num_nodes)
    model = MicroSupernet(num_layers, 4, NUM_CLASSES, num_nodes=num_nodes)
    x = rng.random((3,) + shape).astype("float32")
    for _ in range(2):
        arc = random_arc(rng, num_nodes)
        assert model((x, arc)).shape == (3, NUM_CLASSES)
        assert model((x, arc[None, :]), training=True).shape == (3, NUM_CLASSES)


def test_cells_calibrate_and_double_filters_at_reductions():
    """Cells get the spec 3.4 calibrations, F doubles at the reduction cells, and maps halve to 7x7 from 28."""
    model = MicroSupernet(3, 4, NUM_CLASSES, num_nodes=2, input_shape=(28, 28, 1))
    assert reduction_cells(3) == (1, 3)
    got = [(c.calibrate_0, c.calibrate_1, c.filters) for c in model.cells]
    assert got == [("conv", "conv", 4), ("reduce", "none", 8), ("none", "none", 8), ("reduce", "none", 16),
                   ("none", "none", 16)]
    assert model.pre_reductions[1].compute_output_shape((None, 14, 14, 8)) == (None, 7, 7, 16)


def test_new_arcs_do_not_retrace(fitted):
    """A fit with a new arc every step traces the training call exactly once."""
    _, _, traces, data = fitted
    assert traces.count(True) == 1
    assert len({a.tobytes() for a in data.arcs}) > 20


def test_fit_with_new_arcs_lowers_the_loss(fitted):
    """Training with a fresh random arc each step lowers the loss on an easy synthetic problem."""
    _, history, _, _ = fitted
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


def test_predict_on_batch_returns_main_logits(fitted):
    """predict_on_batch on (images, arc[None]) returns the (batch, classes) logits of the inference call."""
    model, _, _, _ = fitted
    rng = np.random.default_rng(3)
    x = rng.random((5, 8, 8, 1)).astype("float32")
    arc = random_arc(rng, 2)
    out = model.predict_on_batch((x, arc[None, :]))
    assert out.shape == (5, NUM_CLASSES)
    np.testing.assert_allclose(out, model((x, arc), training=False), atol=1e-5)


def test_aux_head_is_trained_and_adds_its_loss():
    """With aux_weight the training call returns (logits, aux), compute_loss adds w * CE_aux, and fit trains it."""
    keras.utils.set_random_seed(4)
    model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=1, aux_weight=0.4, l2=0.0, input_shape=(28, 28, 1))
    compile_sgd(model)
    rng = np.random.default_rng(4)
    x, arc = rng.random((6, 28, 28, 1)).astype("float32"), random_arc(rng, 1)
    y = np.arange(6) % NUM_CLASSES
    logits, aux = model((x, arc), training=True)
    assert model((x, arc), training=False).shape == (6, NUM_CLASSES)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(model.compute_loss(y=y, y_pred=(logits, aux)), ce(y, logits) + 0.4 * ce(y, aux),
                               rtol=1e-5)
    before = np.asarray(model.aux_dense.kernel).copy()
    model.fit(NewArcEachBatch(lambda rng: random_arc(rng, 1), steps=2, shape=(28, 28, 1), batch=6), verbose=0)
    assert not np.allclose(before, np.asarray(model.aux_dense.kernel))


def test_eval_batch_stats_uses_batch_statistics_without_state_change():
    """With eval_batch_stats inference depends on the batch and leaves moving stats alone; without, it does not."""
    rng = np.random.default_rng(5)
    # Pools and identity only: the sep convs' BNs use batch statistics in every mode (reference).
    x, arc = rng.random((4, 16, 16, 1)).astype("float32"), np.array([0, 2, 1, 3, 2, 4, 0, 2] * 2, np.int32)
    other = x.copy()
    other[1:] *= 3.0
    for flag in (True, False):
        keras.utils.set_random_seed(5)
        model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=2, eval_batch_stats=flag)
        first = np.asarray(model((x, arc)))
        moving = [np.asarray(w).copy() for w in model.non_trainable_weights]
        np.testing.assert_array_equal(first, model((x, arc)))  # no dropout, no state change at inference
        changed = np.abs(first[0] - np.asarray(model((other, arc)))[0]).max() > 1e-4
        assert changed == flag
        for before, w in zip(moving, model.non_trainable_weights):
            np.testing.assert_array_equal(before, w)


def test_loose_end_conv_ignores_used_nodes():
    """The output 1x1 conv reads only loose ends: kernel rows of used nodes do not affect the cell output."""
    keras.utils.set_random_seed(6)
    model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=2, eval_batch_stats=False)
    # Node 2 = id(h0) + id(h1); node 3 = id(node 2) + id(node 2): nodes 0, 1, 2 are used, node 3 is loose.
    cell = [0, 4, 1, 4, 2, 4, 2, 4]
    arc = np.array(cell + cell, np.int32)
    x = np.random.default_rng(6).random((2, 8, 8, 1)).astype("float32")
    base = np.asarray(model((x, arc)))
    kernel = model.cells[2].out_kernel
    F = model.cells[2].filters
    original = np.asarray(kernel).copy()
    for node, affects in ((0, False), (2, False), (3, True)):
        bumped = original.copy()
        bumped[node * F:(node + 1) * F] += 1.0
        kernel.assign(bumped)
        assert (np.abs(np.asarray(model((x, arc))) - base).max() > 1e-5) == affects, node
        kernel.assign(original)


def test_sep_conv_bank_gathers_the_row_of_the_input_index():
    """A bank's output for index 1 equals that for index 0 once row 1 holds row 0's weights; BN starts at 1/0."""
    keras.utils.set_random_seed(7)
    bank = SepConvBank(3, 3, 4)
    x = np.random.default_rng(7).random((2, 6, 6, 4)).astype("float32")
    bank.build(x.shape)
    out_0, out_1 = np.asarray(bank(x, index=0)), np.asarray(bank(x, index=1))
    assert np.abs(out_0 - out_1).max() > 1e-4
    values = np.asarray(bank.bank).copy()
    gamma = bank.weights_of(2)[2]
    np.testing.assert_array_equal(gamma, np.ones(4))
    values[1] = values[0]
    bank.bank.assign(values)
    np.testing.assert_allclose(bank(x, index=1), out_0, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_nodes": 0}, "argument `num_nodes`"),
    ({"out_filters": 5}, "argument `out_filters`"),
    ({"num_ops": 6}, "argument `num_ops`"),
    ({"aux_weight": -1.0}, "argument `aux_weight`"),
    ({"eval_batch_stats": "yes"}, "argument `eval_batch_stats`"),
    ({"aux_trainable": 1}, "argument `aux_trainable`"),
    ({"eval_dropout": None}, "argument `eval_dropout`"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    """Invalid constructor arguments raise ValueError naming the argument."""
    args = {"out_filters": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        MicroSupernet(1, args.pop("out_filters"), NUM_CLASSES, **args)


def test_bad_inputs_are_rejected():
    """A wrong arc length and a too-small image for the aux head raise ValueError naming the argument."""
    model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=2)
    assert micro_arc_len(2) == 16
    with pytest.raises(ValueError, match=r"argument `arc`: expected shape \(16,\)"):
        model((np.zeros((1, 8, 8, 1), "float32"), np.zeros(15, "int32")))
    with pytest.raises(ValueError, match="argument `input_shape`"):
        MicroSupernet(1, 4, NUM_CLASSES, num_nodes=1, aux_weight=0.4, input_shape=(8, 8, 1))


def test_frozen_aux_head_keeps_its_initial_weights():
    """aux_trainable=False leaves the aux head out of training: fit does not change its weights (reference)."""
    keras.utils.set_random_seed(8)
    model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=1, aux_weight=0.4, aux_trainable=False, l2=1e-4,
                          input_shape=(28, 28, 1))
    compile_sgd(model)
    aux = [v for l in (model.aux_conv_1, model.aux_bn_1, model.aux_conv_2, model.aux_bn_2, model.aux_dense)
           for v in l.trainable_weights]
    assert not aux
    before = np.asarray(model.aux_dense.kernel).copy()
    model.fit(NewArcEachBatch(lambda rng: random_arc(rng, 1), steps=2, shape=(28, 28, 1), batch=6), verbose=0)
    np.testing.assert_array_equal(before, np.asarray(model.aux_dense.kernel))


def test_eval_dropout_keeps_dropout_at_inference():
    """eval_dropout=True applies the head dropout at inference (reference rewards); the default does not."""
    x = np.random.default_rng(9).random((8, 8, 8, 1)).astype("float32")
    arc = np.array([0, 2, 1, 3, 2, 4, 0, 2] * 2, np.int32)
    for flag in (False, True):
        keras.utils.set_random_seed(9)
        model = MicroSupernet(1, 4, NUM_CLASSES, num_nodes=2, keep_prob=0.5, eval_dropout=flag)
        assert (np.abs(np.asarray(model((x, arc))) - np.asarray(model((x, arc)))).max() > 0) == flag


def test_reference_fan_in_uses_the_bank_row_count():
    """reference_fan_in=True initialises banks and the loose-end kernel with std ~ sqrt(2 / rows) (spec 5.2)."""
    keras.utils.set_random_seed(10)
    bank = SepConvBank(4, 3, 16, reference_fan_in=True)
    bank.build((None, 8, 8, 16))
    pointwise = np.asarray(bank.weights_of(0)[1])
    assert 0.6 < pointwise.std() / np.sqrt(2 / 4) < 1.1
    model = MicroSupernet(1, 16, NUM_CLASSES, num_nodes=2, reference_fan_in=True, input_shape=(8, 8, 1))
    assert 0.6 < np.asarray(model.cells[0].out_kernel).std() / np.sqrt(2 / 4) < 1.1
