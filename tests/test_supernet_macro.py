import keras
import numpy as np
import pytest
from supernet_helpers import NUM_CLASSES, NewArcEachBatch, compile_sgd, counting

from enaslite.supernet_macro import OP_NAMES, MacroSupernet, macro_arc_len, pool_layers


def random_arc(rng, num_layers, num_ops=6):
    flat = []
    for l in range(num_layers):
        flat.append(int(rng.integers(num_ops)))
        flat.extend(int(b) for b in rng.integers(0, 2, size=l))
    return np.array(flat, np.int32)


def with_ops(arc, num_layers, new_ops):
    out = arc.copy()
    for l, op in enumerate(new_ops):
        out[l + l * (l - 1) // 2] = op
    return out


CountingMacro = counting(MacroSupernet)


@pytest.fixture(scope="module")
def fitted():
    """A 3-layer supernet fitted for 3 epochs of 30 steps with a new arc every step, and its trace log."""
    keras.utils.set_random_seed(0)
    CountingMacro.traces.clear()
    model = CountingMacro(3, 8, NUM_CLASSES, input_shape=(8, 8, 1), l2=0.0)
    compile_sgd(model)
    data = NewArcEachBatch(lambda rng: random_arc(rng, 3), steps=30)
    history = model.fit(data, epochs=3, verbose=0)
    return model, history, list(CountingMacro.traces), data


@pytest.mark.parametrize("num_layers, shape", [(3, (28, 28, 1)), (6, (28, 28, 1)), (6, (32, 32, 3)),
                                               (4, (9, 9, 3))])
def test_forward_shapes_for_random_arcs(num_layers, shape):
    """Random arcs give (batch, classes) logits for both arc layouts, incl. odd maps (28 -> 14 -> 7)."""
    rng = np.random.default_rng(num_layers)
    model = MacroSupernet(num_layers, 8, NUM_CLASSES)
    x = rng.random((3,) + shape).astype("float32")
    for _ in range(2):
        arc = random_arc(rng, num_layers)
        assert model((x, arc)).shape == (3, NUM_CLASSES)
        assert model((x, arc[None, :]), training=True).shape == (3, NUM_CLASSES)


def test_reductions_leave_seven_by_seven_after_two_pools_of_28():
    """With 6 layers the pool layers are 1 and 3, and the last stored output of a 28x28 input is 7x7 with F channels."""
    assert pool_layers(6) == (1, 3)
    model = MacroSupernet(6, 8, NUM_CLASSES, input_shape=(28, 28, 1))
    shape = (None, 28, 28, 8)
    for fr in (model.reductions[0][0], model.reductions[1][0]):
        shape = fr.compute_output_shape(shape)
    assert shape == (None, 7, 7, 8)
    assert len(model.reductions[0]) == 3 and len(model.reductions[1]) == 5


def test_reference_bug_ignores_ops_and_default_does_not():
    """With reference_macro_bug two arcs that differ only in ops give identical logits; without it they differ."""
    rng = np.random.default_rng(1)
    x = rng.random((4, 16, 16, 1)).astype("float32")
    arc_a = with_ops(random_arc(rng, 3), 3, [0, 1, 2])
    arc_b = with_ops(arc_a, 3, [3, 4, 5])
    keras.utils.set_random_seed(1)
    buggy = MacroSupernet(3, 8, NUM_CLASSES, reference_macro_bug=True)
    np.testing.assert_array_equal(buggy((x, arc_a)), buggy((x, arc_b)))
    keras.utils.set_random_seed(1)
    intended = MacroSupernet(3, 8, NUM_CLASSES)
    assert np.abs(np.asarray(intended((x, arc_a))) - np.asarray(intended((x, arc_b)))).max() > 1e-4


class FixedArcBatch(NewArcEachBatch):
    """One batch of the same problem with a given arc."""

    def __init__(self, arc):
        super().__init__(lambda rng: arc, steps=1, seed=5)


def test_only_selected_branch_bn_statistics_change(fitted):
    """One compiled training step moves the BN moving statistics of the sampled branches only."""
    model = fitted[0]
    ops_chosen = [1, 5, 2]
    arc = with_ops(np.array([0, 0, 1, 0, 1, 1], np.int32), 3, ops_chosen)

    def stats(branch):
        # The variance too: a layer right after a batch-normalised reduction sees inputs with batch mean ~0, so
        # its moving mean barely moves even when the branch runs.
        return np.r_[np.asarray(branch.inp_bn.moving_mean), np.asarray(branch.inp_bn.moving_variance)]

    before = [[stats(b) for b in layer] for layer in model.branches]
    model.fit(FixedArcBatch(arc), verbose=0)
    for l, layer in enumerate(model.branches):
        for op, branch in enumerate(layer):
            moved = not np.allclose(before[l][op], stats(branch))
            assert moved == (op == ops_chosen[l]), (l, op)


def test_new_arcs_do_not_retrace(fitted):
    """A fit with a new arc every step traces the training call exactly once."""
    _, _, traces, data = fitted
    assert traces.count(True) == 1
    assert len({a.tobytes() for a in data.arcs}) > 10


def test_fit_with_new_arcs_lowers_the_loss(fitted):
    """Training with a fresh random arc each step lowers the loss on an easy synthetic problem."""
    _, history, _, _ = fitted
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


def test_predict_on_batch_returns_logits(fitted):
    """predict_on_batch on (images, arc[None]) returns the (batch, classes) logits of the model call."""
    model, _, _, _ = fitted
    rng = np.random.default_rng(3)
    x = rng.random((5, 8, 8, 1)).astype("float32")
    arc = random_arc(rng, 3)
    out = model.predict_on_batch((x, arc[None, :]))
    assert out.shape == (5, NUM_CLASSES)
    np.testing.assert_allclose(out, model((x, arc), training=False), atol=1e-5)


def test_path_model_matches_supernet_and_holds_only_the_path():
    """The shared-weight path model reproduces the supernet's logits; a fresh one holds only the path's layers."""
    rng = np.random.default_rng(4)
    model = MacroSupernet(6, 8, NUM_CLASSES, input_shape=(28, 28, 1))
    arc = random_arc(rng, 6)
    x = rng.random((2, 28, 28, 1)).astype("float32")
    path = model.build_path_model(arc, (28, 28, 1), share_weights=True)
    np.testing.assert_allclose(path(x), model((x, arc)), atol=1e-4)
    fresh = model.build_path_model(arc, (28, 28, 1))
    branches = {layer.name for layer in fresh.layers if layer.name.startswith("layer_")} - {
        f"layer_{l}_skip_bn" for l in range(6)}
    assert branches == {f"layer_{l}_{OP_NAMES[arc[l + l * (l - 1) // 2]]}" for l in range(6)}
    assert fresh.count_params() < model.count_params() / 3


def test_path_model_of_the_bug_uses_the_last_branch():
    """With reference_macro_bug the path model runs the last branch whatever the arc's ops."""
    model = MacroSupernet(3, 8, NUM_CLASSES, reference_macro_bug=True)
    path = model.build_path_model(np.array([0, 1, 0, 2, 1, 1], np.int32), (8, 8, 1))
    names = {layer.name for layer in path.layers}
    assert {"layer_0_max_pool", "layer_1_max_pool", "layer_2_max_pool"} <= names
    assert not any("conv3" in n or "conv5" in n for n in names)


def test_num_ops_keeps_the_first_branches():
    """num_ops=4 builds only the conv branches of each layer."""
    model = MacroSupernet(3, 8, NUM_CLASSES, num_ops=4)
    assert [b.name for b in model.branches[0]] == ["layer_0_conv3", "layer_0_sep3", "layer_0_conv5", "layer_0_sep5"]


@pytest.mark.parametrize("kwargs, match", [
    ({"num_layers": 0}, "argument `num_layers`"),
    ({"out_filters": 7}, "argument `out_filters`"),
    ({"num_ops": 7}, "argument `num_ops`"),
    ({"keep_prob": 0.0}, "argument `keep_prob`"),
    ({"reference_macro_bug": 1}, "argument `reference_macro_bug`"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    """Invalid constructor arguments raise ValueError naming the argument."""
    args = {"num_layers": 3, "out_filters": 8, "num_classes": NUM_CLASSES, **kwargs}
    with pytest.raises(ValueError, match=match):
        MacroSupernet(args.pop("num_layers"), args.pop("out_filters"), args.pop("num_classes"), **args)


def test_bad_arcs_are_rejected():
    """A wrong arc length (call) and an out-of-range op (path model) raise ValueError naming `arc`."""
    model = MacroSupernet(3, 8, NUM_CLASSES)
    x = np.zeros((1, 8, 8, 1), "float32")
    assert macro_arc_len(3) == 6
    with pytest.raises(ValueError, match=r"argument `arc`: expected shape \(6,\)"):
        model((x, np.zeros(5, "int32")))
    with pytest.raises(ValueError, match="at layer 1"):
        model.build_path_model(np.array([0, 6, 0, 0, 0, 0]), (8, 8, 1))
