"""Fixed child models: the standalone network an architecture becomes when it is retrained from scratch.

`build_child(arc, ...)` returns a functional `keras.Model` whose layers are named after their block
(`layer03_conv1x1`, `cell04_node2_x_sep3_1_bn`, ...), so weights have stable, readable names.

Macro (spec 2.4), layer l:
    op path:  ReLU - 1x1 conv - BN - ReLU - op - BN
    l > 0:    concat(selected stored outputs, op path) - ReLU - 1x1 conv - BN; skip bit j selects the stem (j = 0)
              or layer j-1, as in the reference code
    after layers L//3 - 1 and 2L//3 - 1: F doubles and every stored output is factorized-reduced to the new F.
    head:     global average pool - dropout - dense (no bias)
Micro (spec 3.2, 3.4, 3.5): stem (3x3 conv to 3F + BN); N normal cells, a reduction cell, N normal, a reduction,
N normal; each cell calibrates its inputs, applies `layer_base` to input 1, sums two ops per node, and concatenates
its loose ends; scheduled drop-path on non-identity ops; an optional auxiliary head.

Where the reference code is buggy we implement the evident intent:
- separable convs (macro ops 1 and 3) are real depthwise-separable convs; the reference builds plain convs (#18, #56)
  (`macro_sep_as_conv=True` reproduces that);
- macro pooling ops (4 and 5) exist: ReLU - 1x1 conv - BN - ReLU - 3x3 pool - BN, the same shape as the conv ops;
  the reference crashes on them (#10, #18);
- the micro auxiliary head is trained; the reference filters its variables out of training, leaving it random
  (`aux_trainable=False` reproduces that).
Every departure from the reference, with its switch, is listed in docs/departures.md.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from enaslite import ops as K
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc


def build_child(arc, input_shape: Sequence[int], num_classes: int, *, num_layers: int | None = None,
                out_filters: int = 36, keep_prob: float = 1.0, l2: float = 0.0,
                drop_path_keep_prob: float | None = None, aux_head: bool = False, aux_trainable: bool = True,
                macro_sep_as_conv: bool = False, seed: int | None = None, name: str | None = None) -> keras.Model:
    """Builds the standalone model of `arc`.

    Args:
        arc: a `MacroArc` or `MicroArc`.
        input_shape: (H, W, C) of one image.
        num_classes: classifier width.
        num_layers: micro only: N, giving N + 2 cells (default 15, the reference final model). Macro takes L from
            the arc.
        out_filters: F of the first stage (doubles at each reduction).
        keep_prob: keep probability of the dropout before the classifier.
        l2: L2 rate on every weight, BN gamma/beta included.
        drop_path_keep_prob: micro only; base keep probability of scheduled drop-path (None: off).
        aux_head: micro only; adds an auxiliary classifier, making the model output `[logits, aux_logits]`.
        aux_trainable: False freezes the auxiliary head's weights at their initial values and leaves them out of
            the L2 penalty, as the reference does (spec 3.2); its BNs still normalise with batch statistics.
        macro_sep_as_conv: macro only; build ops 1 and 3 as plain k x k convs, as the reference's fixed macro
            model does (spec 2.4).
        seed: seed for dropout / drop-path noise; each such layer draws from its own seed derived from it.
        name: model name (default `macro_child` / `micro_child`).
    """
    if len(input_shape) != 3 or any((not isinstance(d, int)) or d < 1 for d in input_shape):
        raise ValueError(f"argument `input_shape`: expected (H, W, C) positive ints, received {tuple(input_shape)!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"argument `num_classes`: expected an int >= 2, received {num_classes!r}")
    if not isinstance(out_filters, int) or out_filters < 2 or out_filters % 2:
        raise ValueError(f"argument `out_filters`: expected an even int >= 2, received {out_filters!r}")
    if not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"argument `keep_prob`: expected a number in (0, 1], received {keep_prob!r}")
    for arg, value in (("aux_trainable", aux_trainable), ("macro_sep_as_conv", macro_sep_as_conv)):
        if not isinstance(value, bool):
            raise ValueError(f"argument `{arg}`: expected a bool, received {value!r}")
    if isinstance(arc, MacroArc):
        return _build_macro(arc, tuple(input_shape), num_classes, out_filters, keep_prob, l2, macro_sep_as_conv,
                            seed, name or "macro_child")
    if isinstance(arc, MicroArc):
        n = 15 if num_layers is None else num_layers
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"argument `num_layers`: expected an int >= 1, received {num_layers!r}")
        model = _build_micro(arc, tuple(input_shape), num_classes, n, out_filters, keep_prob, l2,
                             drop_path_keep_prob, aux_head, seed, name or "micro_child")
        if not aux_trainable:
            freeze_aux_head(model)
        return model
    raise ValueError(f"argument `arc`: expected a MacroArc or MicroArc, received {type(arc).__name__}")


def freeze_aux_head(model: keras.Model) -> None:
    """Makes the weights of the layers named `aux_*` non-trainable, as the reference's variable filter does.

    The variables, not the layers, are frozen: a Keras BatchNormalization layer with `trainable=False` would switch
    to its (never updated) moving statistics, while the reference's aux BNs keep normalising by batch statistics.
    Keras puts L2 only on trainable weights, so the frozen head also leaves the penalty, as in the reference.
    """
    for layer in model.layers:
        if layer.name.startswith("aux_"):
            for v in layer.weights:
                v.trainable = False


def pool_layers(num_layers: int) -> tuple[int, int]:
    """Macro layers after which the network reduces: (L//3 - 1, 2L//3 - 1) as the reference computes them."""
    pd = num_layers // 3
    return (pd - 1, 2 * pd - 1)


def reduction_cells(num_layers: int) -> tuple[int, int]:
    """Micro cell indices that are reduction cells: (N//3, 2(N//3) + 1) among N + 2 cells."""
    pd = num_layers // 3
    return (pd, 2 * pd + 1)


# -- macro ------------------------------------------------------------------------------------------------------------

def _macro_op(x, op: int, filters: int, l2: float, sep_as_conv: bool, p: str):
    x = layers.ReLU(name=f"{p}_relu_in")(x)
    x = K.conv(filters, 1, f"{p}_conv1x1", l2)(x)
    x = K.batch_norm(f"{p}_conv1x1_bn", l2)(x)
    x = layers.ReLU(name=f"{p}_relu")(x)
    if op in (0, 2):
        x = K.conv(filters, 3 if op == 0 else 5, f"{p}_conv{3 if op == 0 else 5}", l2)(x)
    elif op in (1, 3):
        k = 3 if op == 1 else 5
        make = K.conv if sep_as_conv else K.sep_conv
        x = make(filters, k, f"{p}_sep{k}{'_as_conv' if sep_as_conv else ''}", l2)(x)
    elif op == 4:
        x = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{p}_avgpool")(x)
    else:
        x = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{p}_maxpool")(x)
    return K.batch_norm(f"{p}_bn", l2)(x)


def _build_macro(arc: MacroArc, input_shape, num_classes, filters, keep_prob, l2, sep_as_conv, seed, name):
    inputs = keras.Input(input_shape, name="images")
    x = K.conv(filters, 3, "stem_conv", l2)(inputs)
    x = K.batch_norm("stem_bn", l2)(x)
    # stored[0] is the stem and stored[j + 1] layer j; as in the reference code, skip bit j of layer l reads
    # stored[j], so the sources are the stem and layers 0..l-2 (layer l-1 is the input).
    stored = [x]
    reductions = pool_layers(arc.num_layers)
    for l in range(arc.num_layers):
        p = f"layer{l:02d}"
        out = _macro_op(stored[-1], arc.ops[l], filters, l2, sep_as_conv, p)
        if l > 0:
            sources = [stored[j] for j, bit in enumerate(arc.skips[l]) if bit]
            if sources:
                out = layers.Concatenate(name=f"{p}_skip_concat")(sources + [out])
            out = layers.ReLU(name=f"{p}_skip_relu")(out)
            out = K.conv(filters, 1, f"{p}_skip_conv1x1", l2)(out)
            out = K.batch_norm(f"{p}_skip_bn", l2)(out)
        stored.append(out)
        if l in reductions:
            filters *= 2
            stored = [K.FactorizedReduction(filters, l2, name=f"{p}_reduce_from{i:02d}")(s)
                      for i, s in enumerate(stored)]
    x = layers.GlobalAveragePooling2D(name="head_pool")(stored[-1])
    x = layers.Dropout(1.0 - keep_prob, seed=K.layer_seed(seed, "head_dropout"), name="head_dropout")(x)
    return keras.Model(inputs, K.dense(num_classes, "head_dense", l2)(x), name=name)


# -- micro ------------------------------------------------------------------------------------------------------------

def _relu_conv_bn(x, filters, l2, p):
    x = layers.ReLU(name=f"{p}_relu")(x)
    x = K.conv(filters, 1, f"{p}_conv", l2)(x)
    return K.batch_norm(f"{p}_bn", l2)(x)


def _calibrate(h0, h1, filters, l2, p):
    """Brings both cell inputs to `filters` channels at the resolution of h1 (spec 3.4)."""
    if h0.shape[1] != h1.shape[1]:
        h0 = layers.ReLU(name=f"{p}_in0_relu")(h0)
        h0 = K.FactorizedReduction(filters, l2, name=f"{p}_in0_reduce")(h0)
    elif h0.shape[-1] != filters:
        h0 = _relu_conv_bn(h0, filters, l2, f"{p}_in0")
    if h1.shape[-1] != filters:
        h1 = _relu_conv_bn(h1, filters, l2, f"{p}_in1")
    return h0, h1


def _micro_op(x, op, stride, filters, l2, p):
    if op in (0, 1):
        k = 3 if op == 0 else 5
        for unit in (1, 2):
            x = layers.ReLU(name=f"{p}_sep{k}_{unit}_relu")(x)
            x = K.sep_conv(filters, k, f"{p}_sep{k}_{unit}", l2, strides=stride if unit == 1 else 1)(x)
            x = K.batch_norm(f"{p}_sep{k}_{unit}_bn", l2)(x)
        return x
    if op == 2:
        return layers.AveragePooling2D(3, strides=stride, padding="same", name=f"{p}_avgpool")(x)
    if op == 3:
        return layers.MaxPooling2D(3, strides=stride, padding="same", name=f"{p}_maxpool")(x)
    if stride == 2:
        return K.FactorizedReduction(filters, l2, name=f"{p}_identity_reduce")(x)
    return x


def _micro_cell(h0, h1, cell, reduction, filters, l2, keep, seed, p):
    h0, h1 = _calibrate(h0, h1, filters, l2, p)
    h1 = _relu_conv_bn(h1, filters, l2, f"{p}_base")
    nodes = [h0, h1]
    used = set()
    for n in range(len(cell) // 4):
        i = n + 2
        terms = []
        for slot, (idx, op) in zip("xy", (cell[4 * n:4 * n + 2], cell[4 * n + 2:4 * n + 4])):
            stride = 2 if reduction and idx in (0, 1) else 1
            q = f"{p}_node{i}_{slot}"
            out = _micro_op(nodes[idx], op, stride, filters, l2, q)
            if keep is not None and op != 4:
                out = K.DropPath(keep, seed=K.layer_seed(seed, f"{q}_droppath"), name=f"{q}_droppath")(out)
            terms.append(out)
            used.add(idx)
        nodes.append(layers.Add(name=f"{p}_node{i}")(terms))
    target = nodes[-1].shape[1]
    loose = []
    for i, h in enumerate(nodes):
        if i in used:
            continue
        if h.shape[1] != target:  # an unused input of a reduction cell is still at the old resolution
            h = K.FactorizedReduction(filters, l2, name=f"{p}_loose{i}_reduce")(h)
        loose.append(h)
    return loose[0] if len(loose) == 1 else layers.Concatenate(name=f"{p}_out")(loose)


def _aux_head(x, num_classes, l2):
    x = layers.ReLU(name="aux_relu")(x)
    size = min(5, x.shape[1])
    x = layers.AveragePooling2D(size, strides=3, padding="valid", name="aux_pool")(x)
    x = _relu_conv_bn_noact(x, 128, l2, "aux_proj")
    x = layers.ReLU(name="aux_proj_relu")(x)
    x = K.conv(768, x.shape[1], "aux_conv", l2)(x)
    x = K.batch_norm("aux_conv_bn", l2)(x)
    x = layers.ReLU(name="aux_conv_relu")(x)
    x = layers.GlobalAveragePooling2D(name="aux_gap")(x)
    return K.dense(num_classes, "aux_logits", l2)(x)


def _relu_conv_bn_noact(x, filters, l2, p):
    x = K.conv(filters, 1, f"{p}_conv", l2)(x)
    return K.batch_norm(f"{p}_bn", l2)(x)


def _build_micro(arc: MicroArc, input_shape, num_classes, num_layers, filters, keep_prob, l2, dp_keep, aux,
                 seed, name):
    inputs = keras.Input(input_shape, name="images")
    x = K.conv(3 * filters, 3, "stem_conv", l2)(inputs)
    x = K.batch_norm("stem_bn", l2)(x)
    h0 = h1 = x
    total = num_layers + 2
    reductions = reduction_cells(num_layers)
    aux_logits = None
    for c in range(total):
        reduction = c in reductions
        if reduction:
            filters *= 2
        keep = None
        if dp_keep is not None:
            keep = 1.0 - (c + 1) / total * (1.0 - dp_keep)  # deeper cells drop more (spec 3.5)
        out = _micro_cell(h0, h1, arc.reduce if reduction else arc.normal, reduction, filters, l2, keep, seed,
                          f"cell{c:02d}")
        h0, h1 = h1, out
        if aux and c == reductions[-1] + 1:
            aux_logits = _aux_head(out, num_classes, l2)
    x = layers.ReLU(name="head_relu")(h1)
    x = layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = layers.Dropout(1.0 - keep_prob, seed=K.layer_seed(seed, "head_dropout"), name="head_dropout")(x)
    logits = K.dense(num_classes, "head_dense", l2)(x)
    outputs = [logits, aux_logits] if aux_logits is not None else logits
    return keras.Model(inputs, outputs, name=name)
