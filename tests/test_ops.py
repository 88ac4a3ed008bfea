import numpy as np
import pytest

import keras

from enaslite.ops import DropPath, FactorizedReduction, batch_norm


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
