import numpy as np
import pytest

import keras

from enaslite.ops import DropPath, FactorizedReduction, batch_norm, layer_seed


@pytest.mark.parametrize("size", [32, 28, 7])
def test_factorized_reduction_shape(size):
    """Factorized reduction halves H and W (rounding up) and sets the channel count."""
    layer = FactorizedReduction(12, l2=1e-4)
    out = layer(np.random.rand(2, size, size, 5).astype("float32"))
    assert tuple(out.shape) == (2, (size + 1) // 2, (size + 1) // 2, 12)


def test_factorized_reduction_uses_both_grids():
    """The second path sees the one-pixel-shifted grid: changing only odd pixels changes the output."""
    layer = FactorizedReduction(4)
    x = np.zeros((1, 8, 8, 1), "float32")
    base = np.asarray(layer(x, training=False))
    x[0, 1::2, 1::2, 0] = 1.0
    assert not np.allclose(np.asarray(layer(x, training=False)), base)


def test_factorized_reduction_rejects_odd_filters():
    """An odd filter count cannot be split over two paths."""
    with pytest.raises(ValueError, match="argument `filters`: expected an even int >= 2, received 5"):
        FactorizedReduction(5)


def test_drop_path_schedule_and_scaling():
    """DropPath is identity at progress 0 and in inference; at full progress it drops whole examples and rescales."""
    layer = DropPath(0.5, seed=1)
    x = np.ones((400, 2, 2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)
    layer.progress.assign(1.0)
    y = np.asarray(layer(x, training=True))
    per_example = y.reshape(400, -1)
    assert set(np.unique(per_example)) <= {0.0, 2.0}
    assert np.all(per_example.min(1) == per_example.max(1))
    assert 0.35 < (per_example[:, 0] > 0).mean() < 0.65
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_bn_l2_on_gamma_beta():
    """BatchNorm carries L2 on gamma and beta, as the reference regularises every weight."""
    bn = batch_norm("bn", 1e-3)
    bn.build((None, 4))
    assert bn.gamma_regularizer is not None and bn.beta_regularizer is not None
    assert bn.momentum == 0.9 and bn.epsilon == 1e-5


def test_layer_seed_is_stable_and_distinct_per_name():
    """layer_seed is a pure function of (seed, name), differs across names and seeds, and keeps None unseeded."""
    assert layer_seed(0, "cell00_node2_x_droppath") == layer_seed(0, "cell00_node2_x_droppath")
    seeds = {layer_seed(s, n) for s in (0, 1, -1) for n in ("a_droppath", "b_droppath", "head_dropout")}
    assert len(seeds) == 9 and all(0 <= s < 2**32 for s in seeds)
    assert layer_seed(None, "head_dropout") is None


def test_drop_path_layers_with_different_seeds_drop_different_examples():
    """Two DropPath layers seeded from layer_seed draw different masks at the same keep probability."""
    x = np.ones((200, 1), "float32")
    masks = []
    for name in ("a_droppath", "b_droppath"):
        layer = DropPath(0.5, seed=layer_seed(0, name))
        layer.progress.assign(1.0)
        masks.append(np.asarray(layer(x, training=True)))
    assert np.abs(masks[0] - masks[1]).max() > 0
