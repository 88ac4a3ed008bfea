import keras
import numpy as np
import pytest

from enaslite import ops as enas_ops
from enaslite.supernet_common import (NesterovSGD, batch_stat_bn, batch_stat_norm, check_int, check_rate,
                                      image_shape_of, prebuild_for_fit, split_inputs)


def test_split_inputs_takes_row_zero_of_a_2d_arc():
    """A (1, L) arc becomes its int32 row 0; a 1-D arc passes through as int32."""
    images = np.zeros((2, 4, 4, 1), "float32")
    _, arc = split_inputs((images, np.array([[1, 2, 3]], "int64")), 3)
    assert tuple(arc.shape) == (3,) and keras.backend.standardize_dtype(arc.dtype) == "int32"
    np.testing.assert_array_equal(arc, [1, 2, 3])
    _, arc = split_inputs([images, np.array([4, 5, 6])], 3)
    np.testing.assert_array_equal(arc, [4, 5, 6])


@pytest.mark.parametrize("inputs, match", [
    (np.zeros((1, 4, 4, 1)), "expected a pair"),
    ((np.zeros((1, 4, 4, 1)), np.zeros(3), np.zeros(3)), "of length 3"),
    ((np.zeros((1, 4, 4, 1)), np.zeros(4, "int32")), r"argument `arc`: expected shape \(3,\)"),
])
def test_split_inputs_rejects_malformed_inputs(inputs, match):
    """Anything but (images, arc of the right length) raises ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        split_inputs(inputs, 3)


def test_argument_checks_name_the_argument():
    """check_int and check_rate accept valid values and reject bools, out-of-range values and wrong types."""
    assert check_int("n", 3, 1) == 3
    assert check_rate("p", 1) == 1.0
    for bad in (True, 0, 2.0):
        with pytest.raises(ValueError, match="argument `n`: expected an int >= 1"):
            check_int("n", bad, 1)
    with pytest.raises(ValueError, match=r"argument `p`: expected a number in \(0, 1\]"):
        check_rate("p", 0.0)


def test_image_shape_of_accepts_pairs_and_single_shapes():
    """The image shape comes from an (images, arc) shape pair or from a plain image shape."""
    assert image_shape_of(((None, 8, 8, 1), (1, 6))) == (None, 8, 8, 1)
    assert image_shape_of((None, 8, 8, 1)) == (None, 8, 8, 1)


def test_batch_stat_bn_matches_the_formula():
    """batch_stat_bn normalises by the batch mean and (biased) variance, then scales and shifts."""
    x = np.random.default_rng(0).random((3, 4, 4, 2)).astype("float32")
    gamma, beta = np.array([2.0, 0.5], "float32"), np.array([0.1, -1.0], "float32")
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = (x - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(batch_stat_bn(x, gamma, beta, 1e-5), expected, atol=1e-4)


def test_batch_stat_norm_at_inference_leaves_moving_statistics_alone():
    """With eval_batch_stats, inference normalises by batch statistics and does not touch the moving averages."""
    bn = enas_ops.batch_norm("bn", 0.0)
    x = np.random.default_rng(1).random((4, 3, 3, 2)).astype("float32") * 5 + 3
    bn.build(x.shape)
    out = np.asarray(batch_stat_norm(bn, x, training=False, eval_batch_stats=True))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_array_equal(bn.moving_mean, np.zeros(2))
    np.testing.assert_allclose(batch_stat_norm(bn, x, training=False, eval_batch_stats=False), bn(x), atol=1e-6)


def test_prebuild_for_fit_builds_optimizer_and_metrics():
    """A built, compiled model with sparse CE gets its optimizer and compiled metrics built, with reset values."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    prebuild_for_fit(model, 4)
    assert model.optimizer.built
    assert len(model.metrics_variables) >= 2
    assert all(float(np.sum(v)) == 0.0 for v in model.metrics_variables)


def test_nesterov_sgd_matches_keras_sgd_bit_for_bit():
    """`NesterovSGD` (a fused kernel per variable on TensorFlow) gives the weights, momentums and losses of Keras'
    `SGD(nesterov=True)` exactly, over steps with a changing learning rate."""
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(16, 6)).astype("float32"), rng.integers(0, 3, 16)) for _ in range(5)]

    def train(optimizer):
        keras.utils.set_random_seed(0)
        hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3))
        model = keras.Sequential([keras.Input((6,)), hidden, keras.layers.Dense(3)])
        model.compile(optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        losses = []
        for i, (x, y) in enumerate(batches):
            model.optimizer.learning_rate.assign(0.1 / (i + 1))
            losses.append(model.train_on_batch(x, y))
        return losses, [np.asarray(v) for v in model.variables + model.optimizer.variables]

    ours, theirs = train(NesterovSGD(0.1, momentum=0.9)), train(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True))
    assert ours[0] == theirs[0]
    assert len(ours[1]) == len(theirs[1]) and all(np.array_equal(a, b) for a, b in zip(ours[1], theirs[1]))


def test_added_l2_gradients_train_the_supernet_bit_for_bit(space="micro"):
    """`NesterovSGD(adds_l2_gradients=True)` on a supernet (whose L2 losses then carry no gradient) gives the losses,
    weights and momentums of backpropagating the L2 terms, exactly, over steps with new architectures. Micro here;
    the macro supernet is checked by tests/test_reproduce.py, whose committed cpu-macro search predates the option."""
    from enaslite import Dataset, preset
    from enaslite.loop import train_epoch
    from enaslite.search import ArcBatches, build_supernet, num_ops
    from enaslite.data import Batches
    from enaslite.macro_arc import MacroArc
    from enaslite.micro_arc import MicroArc

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8), rng.integers(0, 3, 40)
    data = Dataset.from_arrays(x, y, x[:8], y[:8], valid_size=8, num_classes=3, name="synthetic")
    config = preset("smoke").override(**{"space": space, "search.batch_size": 8, "search.l2": 1e-2})
    c = config.search
    if space == "macro":
        arcs = [MacroArc.random(rng, c.num_layers, num_ops=num_ops(config)) for _ in range(4)]
    else:
        arcs = [MicroArc.random(rng, num_nodes=c.num_cells, num_ops=num_ops(config)) for _ in range(4)]

    def train(adds):
        keras.utils.set_random_seed(0)
        net = build_supernet(config, data)
        assert net.optimizer.adds_l2_gradients  # what search uses
        net.optimizer.adds_l2_gradients = adds
        logs = train_epoch(net, ArcBatches(Batches(data, "train", 8, seed=0, augment=False, steps=4), arcs))
        return logs["loss"], [np.asarray(v) for v in net.variables + net.optimizer.variables]

    (loss_a, weights_a), (loss_b, weights_b) = train(True), train(False)
    assert loss_a == loss_b
    assert len(weights_a) == len(weights_b)
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))


def test_added_l2_gradients_reach_variables_the_loss_does_not():
    """A regularized variable without a gradient from the loss still decays by its L2 gradient, and the option
    round-trips through the optimizer's config."""
    v = keras.Variable(np.full((3,), 2.0, "float32"), name="w")
    v.regularizer = keras.regularizers.L2(0.25)
    opt = NesterovSGD(0.1, momentum=0.0, adds_l2_gradients=True)
    opt.build([v])
    opt.apply([None], [v])
    np.testing.assert_allclose(np.asarray(v), 2.0 - 0.1 * 0.25 * 2 * 2.0, rtol=1e-6)
    assert NesterovSGD.from_config(opt.get_config()).adds_l2_gradients is True
    with pytest.raises(ValueError, match="argument `adds_l2_gradients`: expected a bool, received 1"):
        NesterovSGD(adds_l2_gradients=1)
