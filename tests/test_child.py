import numpy as np
import pytest

from enaslite.child import build_child, pool_layers, reduction_cells
from enaslite.ops import DropPath
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc

RELEASED_MICRO = ("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1\n"
                  "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")


@pytest.mark.parametrize("layers,filters,shape", [(3, 8, (28, 28, 1)), (6, 12, (32, 32, 3)), (7, 8, (20, 24, 2))])
def test_macro_random_arcs_build(layers, filters, shape):
    """Random macro arcs of several sizes build and give (batch, classes) logits."""
    rng = np.random.default_rng(layers)
    arc = MacroArc.random(rng, layers)
    model = build_child(arc, shape, 7, out_filters=filters, keep_prob=0.8, l2=1e-4)
    out = model(np.random.rand(3, *shape).astype("float32"), training=True)
    assert tuple(out.shape) == (3, 7)


def test_macro_filters_double_at_reductions():
    """Channels double after layers L//3-1 and 2L//3-1, and the spatial size halves."""
    arc = MacroArc.random(np.random.default_rng(0), 6)
    model = build_child(arc, (32, 32, 3), 10, out_filters=8)
    assert pool_layers(6) == (1, 3)
    assert tuple(model.get_layer("layer00_bn").output.shape) == (None, 32, 32, 8)
    assert tuple(model.get_layer("layer02_conv1x1_bn").output.shape) == (None, 16, 16, 16)
    assert tuple(model.get_layer("layer05_conv1x1_bn").output.shape) == (None, 8, 8, 32)


def test_macro_pool_and_sep_ops_are_real():
    """Separable ops build depthwise-separable convs and pooling ops build pools (the reference's bugs fixed)."""
    arc = MacroArc((1, 3, 4, 5), ((), (0,), (0, 1), (1, 0, 1)))
    names = {l.name for l in build_child(arc, (16, 16, 3), 10, out_filters=4).layers}
    assert {"layer00_sep3", "layer01_sep5", "layer02_avgpool", "layer03_maxpool"} <= names
    assert "layer03_skip_concat" in names


def test_macro_sep_as_conv_builds_plain_convs():
    """macro_sep_as_conv=True builds ops 1 and 3 as full k x k convs, as the reference's fixed macro model does."""
    arc = MacroArc((1, 3), ((), (0,)))
    model = build_child(arc, (8, 8, 1), 10, out_filters=4, macro_sep_as_conv=True)
    assert type(model.get_layer("layer00_sep3_as_conv")).__name__ == "Conv2D"
    assert tuple(model.get_layer("layer01_sep5_as_conv").kernel.shape) == (5, 5, 4, 4)
    with pytest.raises(ValueError, match="argument `macro_sep_as_conv`: expected a bool, received 1"):
        build_child(arc, (8, 8, 1), 10, out_filters=4, macro_sep_as_conv=1)


@pytest.mark.parametrize("n,filters,shape", [(1, 8, (28, 28, 1)), (3, 8, (32, 32, 3)), (4, 6, (15, 15, 3))])
def test_micro_random_arcs_build(n, filters, shape):
    """Random micro arcs of several sizes build, with drop-path and an aux head."""
    arc = MicroArc.random(np.random.default_rng(n), num_nodes=4)
    model = build_child(arc, shape, 5, num_layers=n, out_filters=filters, drop_path_keep_prob=0.7, aux_head=True)
    main, aux = model(np.random.rand(2, *shape).astype("float32"), training=True)
    assert tuple(main.shape) == (2, 5) and tuple(aux.shape) == (2, 5)
    assert reduction_cells(n) == (n // 3, 2 * (n // 3) + 1)


def test_released_micro_loose_ends_width():
    """The released arc's normal cell outputs 5F channels and its reduction cell 4F (spec 3.6)."""
    arc = MicroArc.from_string(RELEASED_MICRO)
    model = build_child(arc, (32, 32, 3), 10, num_layers=3, out_filters=6)
    assert tuple(model.get_layer("cell00_out").output.shape) == (None, 32, 32, 30)
    assert tuple(model.get_layer("cell01_out").output.shape) == (None, 16, 16, 4 * 12)


def test_full_size_models_build():
    """The thesis' 24-layer/96-filter macro model and the released micro arc at 15 layers/36 filters build."""
    ops = (0, 3, 0, 2, 2, 3, 2, 2, 1, 0, 2, 0, 2, 1, 0, 2, 2, 2, 3, 3, 0, 3, 0, 0)
    arc = MacroArc.random(np.random.default_rng(1), 24)
    arc = MacroArc(ops, arc.skips)
    macro = build_child(arc, (32, 32, 3), 10, out_filters=96)
    assert 20e6 < macro.count_params() < 45e6
    micro = build_child(MicroArc.from_string(RELEASED_MICRO), (32, 32, 3), 10, num_layers=15, out_filters=36)
    assert 3.5e6 < micro.count_params() < 4.5e6


def test_bad_arguments():
    """Wrong argument types fail with the argument named."""
    arc = MacroArc.random(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match=r"argument `input_shape`: expected \(H, W, C\) positive ints"):
        build_child(arc, (32, 32), 10)
    with pytest.raises(ValueError, match="argument `arc`: expected a MacroArc or MicroArc, received str"):
        build_child("0 1 0", (32, 32, 3), 10)
    with pytest.raises(ValueError, match="argument `out_filters`: expected an even int >= 2, received 7"):
        build_child(arc, (32, 32, 3), 10, out_filters=7)


def test_macro_skip_bit_zero_reads_the_stem():
    """Skip bit 0 concatenates the stem's output and bit j layer j-1, as the reference code (and supernet) wire it."""
    skips = ((), (1,), (0, 1), (0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0, 0))
    model = build_child(MacroArc((0,) * 6, skips), (8, 8, 1), 2, out_filters=4)
    sources = lambda name: [t._keras_history[0].name for t in model.get_layer(name).input]
    assert sources("layer01_skip_concat")[0] == "stem_bn"
    # After the reduction that follows layer 1, layer 0's output (stored output 1) is its reduced copy.
    assert sources("layer02_skip_concat")[0] == "layer01_reduce_from01"


def _drop_path_layers(model):
    return {l.name: l for l in model.layers if isinstance(l, DropPath)}


def _masks(model, x):
    """Per-layer drop-path outputs at full progress, keyed by layer name."""
    out = {}
    for name, layer in _drop_path_layers(model).items():
        layer.progress.assign(1.0)
        out[name] = np.asarray(layer(x, training=True))
    return out


def test_drop_path_masks_are_independent_across_layers_and_reproducible():
    """Each drop-path layer draws its own mask (not one shared seed), and a fixed seed repeats the masks."""
    arc = MicroArc.from_string(RELEASED_MICRO)
    kwargs = dict(num_layers=1, out_filters=4, drop_path_keep_prob=0.5, seed=3)
    first, second = (build_child(arc, (8, 8, 1), 10, **kwargs) for _ in range(2))
    x = np.ones((64, 2, 2, 1), "float32")
    masks, again = _masks(first, x), _masks(second, x)
    # Two ops of the same cell share a keep probability: with a shared seed their masks would be equal.
    a, b = masks["cell00_node2_x_droppath"], masks["cell00_node2_y_droppath"]
    assert np.abs(a - b).max() > 0
    assert masks.keys() == again.keys()
    for name in masks:
        np.testing.assert_array_equal(masks[name], again[name])
    seeds = [l.seed for l in _drop_path_layers(first).values()] + [first.get_layer("head_dropout").seed]
    assert len(set(seeds)) == len(seeds)


def test_unseeded_child_stays_unseeded():
    """seed=None leaves dropout and drop-path layers unseeded (drawn from Keras' global seed)."""
    model = build_child(MicroArc.from_string(RELEASED_MICRO), (8, 8, 1), 10, num_layers=1, out_filters=4,
                        drop_path_keep_prob=0.5)
    assert all(l.seed is None for l in _drop_path_layers(model).values())
    assert model.get_layer("head_dropout").seed is None


def test_frozen_aux_head_is_not_trained_nor_regularised():
    """aux_trainable=False takes the aux head's weights out of training and L2; its BN still uses batch stats."""
    arc = MicroArc.from_string(RELEASED_MICRO)
    kwargs = dict(num_layers=3, out_filters=4, l2=1e-4, aux_head=True)
    trained = build_child(arc, (16, 16, 1), 10, **kwargs)
    frozen = build_child(arc, (16, 16, 1), 10, aux_trainable=False, **kwargs)
    aux_vars = [v for l in frozen.layers if l.name.startswith("aux_") for v in l.weights if "moving" not in v.path]
    assert aux_vars and not any(v.trainable for v in aux_vars)
    assert len(frozen.trainable_weights) == len(trained.trainable_weights) - len(aux_vars)
    assert len(frozen.losses) == len(trained.losses) - len(aux_vars)
    x = np.random.default_rng(0).random((4, 16, 16, 1)).astype("float32")
    bn = frozen.get_layer("aux_proj_bn")
    before = np.asarray(bn.moving_mean).copy()
    frozen(x, training=True)
    assert np.abs(np.asarray(bn.moving_mean) - before).max() > 0  # batch statistics in training, as the reference
    with pytest.raises(ValueError, match="argument `aux_trainable`: expected a bool, received 'no'"):
        build_child(arc, (16, 16, 1), 10, aux_trainable="no", **kwargs)
