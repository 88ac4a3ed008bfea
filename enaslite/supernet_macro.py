"""The macro-space weight-sharing supernet (spec 2.2, 2.3): one parameter set per (layer, op), arc as a tensor input.

The arc arrives as an int32 tensor, and each layer runs only the sampled branch through `enaslite.backend.switch`
(`tf.switch_case` on TensorFlow, `lax.switch` on JAX). So a new architecture every step reuses one traced train
function, and only the selected branch's BatchNorm moving statistics update, as with the reference's `tf.case`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from enaslite import backend
from enaslite import ops as enas_ops
from enaslite.supernet_common import Supernet, check_int, check_nonneg, image_shape_of, split_inputs

OP_NAMES = ("conv3", "sep3", "conv5", "sep5", "avg_pool", "max_pool")
# The k x k op's BN is the reference's "masked" BN, whose epsilon is 1e-3 (spec 2.3).
OP_BN_EPSILON = 1e-3


def macro_arc_len(num_layers: int) -> int:
    """Length of a flat macro arc: one op id per layer plus l skip bits for layer l."""
    return num_layers + num_layers * (num_layers - 1) // 2


def _layer_start(l: int) -> int:
    # Layers before l take 1 + k ints each: l + l(l-1)/2. (Spec 2.1's "l(l+1)/2 + l" overcounts by l.)
    return l + l * (l - 1) // 2


def pool_layers(num_layers: int) -> tuple:
    """Layers after which every stored output is spatially halved (spec 2.2); none when num_layers < 3."""
    distance = num_layers // 3
    return tuple(l for l in (distance - 1, 2 * distance - 1) if l >= 0)


@keras.saving.register_keras_serializable(package="enaslite")
class MacroBranch(layers.Layer):
    """One op of one macro search layer (spec 2.3), F channels in and out.

    Conv ops (0-3): 1x1 conv, BN, ReLU, then the k x k conv (0: 3x3, 2: 5x5) or separable conv (1: 3x3, 3: 5x5),
    BN with epsilon 1e-3, ReLU. Pool ops (4 avg, 5 max): 1x1 conv, BN, ReLU, 3x3 pool stride 1 SAME (the average
    excludes the padding, as TF's does); nothing follows the pool.

    Args:
        op: op id in [0, 5].
        filters: F.
        l2: L2 rate on every weight.

    Call arguments:
        inputs: NHWC tensor with F channels.
        training: BN mode.
    """

    def __init__(self, op: int, filters: int, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.op = check_int("op", op, 0, len(OP_NAMES) - 1)
        self.filters = check_int("filters", filters, 1)
        self.l2 = check_nonneg("l2", l2)
        self.inp_conv = enas_ops.conv(filters, 1, f"{self.name}_inp_conv", l2)
        self.inp_bn = enas_ops.batch_norm(f"{self.name}_inp_bn", l2)
        if op < 4:
            make = enas_ops.sep_conv if op in (1, 3) else enas_ops.conv
            self.op_conv = make(filters, 3 if op < 2 else 5, f"{self.name}_conv", l2)
            self.op_bn = enas_ops.batch_norm(f"{self.name}_bn", l2, epsilon=OP_BN_EPSILON)
        else:
            pool = layers.AveragePooling2D if op == 4 else layers.MaxPooling2D
            self.pool = pool(3, strides=1, padding="same", name=f"{self.name}_pool")

    def build(self, input_shape):
        out_shape = tuple(input_shape[:3]) + (self.filters,)
        self.inp_conv.build(input_shape)
        self.inp_bn.build(out_shape)
        if self.op < 4:
            self.op_conv.build(out_shape)
            self.op_bn.build(out_shape)

    def call(self, inputs, training=None):
        x = ops.relu(self.inp_bn(self.inp_conv(inputs), training=training))
        if self.op >= 4:
            return self.pool(x)
        return ops.relu(self.op_bn(self.op_conv(x), training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:3]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters, "l2": self.l2}


@keras.saving.register_keras_serializable(package="enaslite")
class MacroSupernet(Supernet):
    """ENAS macro search network with shared weights; the architecture is an input (spec 2.2, 2.3).

    Structure: stem 3x3 conv (C_in -> F) + BN; `num_layers` layers, each owning one `MacroBranch` per op; for
    layer l > 0 the output is BN(branch + sum of the stored outputs whose skip bit is 1). After each pool layer
    (`pool_layers`) every stored output, the stem included, is replaced by its own `FactorizedReduction`; in
    search the channel count stays F. Head: global average pool, dropout, bias-free dense.

    Branch selection: the evident intent of the reference is to run the sampled op, and that is the default. The
    reference code as written (spec 2.3) registers its `tf.case` branches as late-binding lambdas, so every layer
    outputs the *last* branch (max pool with 6 ops, sep 5x5 with 4) whatever op was sampled; the conv branches then
    get only L2 gradient and the op choices do not matter. `reference_macro_bug=True` reproduces that.

    Only the selected branch runs (`enaslite.backend.switch`), so only its BN moving statistics update; unselected
    branches still receive the L2 gradient every step, as in the reference, where the penalty covers every weight.

    Args:
        num_layers: L.
        out_filters: F.
        num_classes: classifier width.
        num_ops: branches per layer; the first `num_ops` ops of `OP_NAMES` (4 = convs only).
        keep_prob: keep probability of the dropout before the classifier.
        l2: L2 rate on every weight, BN gamma and beta included.
        reference_macro_bug: every layer uses the last branch, as the reference code does (see above).
        input_shape: image shape without the batch axis; if given, the model is built at construction, and
            `fit` then traces the train step once instead of twice (see `supernet_common.prebuild_for_fit`).

    Call arguments:
        inputs: `(images, arc)`: NHWC images and the int flat arc (`macro_arc_len(L)` ints, per layer
            `[op, skip_0, ..., skip_{l-1}]`), shape (arc_len,) or (1, arc_len) (row 0 is used).
        training: BN and dropout mode.

    Returns:
        logits, (batch, num_classes).
    """

    def __init__(self, num_layers: int, out_filters: int, num_classes: int, *, num_ops: int = 6,
                 keep_prob: float = 0.9, l2: float = 2.5e-4, reference_macro_bug: bool = False,
                 input_shape=None, name: str = "macro_supernet", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.out_filters = check_int("out_filters", out_filters, 2)
        if out_filters % 2:
            raise ValueError(f"argument `out_filters`: expected an even int (factorized reductions halve it), "
                             f"received {out_filters!r}")
        self._check_common(num_classes, num_ops, len(OP_NAMES), keep_prob, l2, input_shape)
        if not isinstance(reference_macro_bug, bool):
            raise ValueError(f"argument `reference_macro_bug`: expected a bool, received {reference_macro_bug!r}")
        self.reference_macro_bug = reference_macro_bug
        self.arc_len = macro_arc_len(num_layers)
        self.pool_layers = pool_layers(num_layers)

        F = out_filters
        self.stem_conv = enas_ops.conv(F, 3, "stem_conv", l2)
        self.stem_bn = enas_ops.batch_norm("stem_bn", l2)
        self.branches = [[MacroBranch(op, F, l2, name=f"layer_{l}_{OP_NAMES[op]}") for op in range(num_ops)]
                         for l in range(num_layers)]
        # Layer 0 has nothing to skip from, so it has no combine BN (spec 2.3).
        self.combine_bns = [enas_ops.batch_norm(f"layer_{l}_skip_bn", l2) for l in range(1, num_layers)]
        # After pool layer l, the l + 2 stored outputs (stem + layers 0..l) each get their own reduction.
        self.reductions = [[enas_ops.FactorizedReduction(F, l2, name=f"pool_at_{l}_reduce_{j}")
                            for j in range(l + 2)] for l in self.pool_layers]
        self._init_head(l2)
        if input_shape is not None:
            self.build((None,) + tuple(input_shape))

    # -- building ---------------------------------------------------------------------------------------------------
    def build(self, input_shape):
        # Every sublayer is built here, outside any switch branch: variables cannot be created inside a
        # `tf.switch_case` branch function, and unselected branches would otherwise stay unbuilt.
        image_shape = image_shape_of(input_shape)
        F = self.out_filters
        self.stem_conv.build(image_shape)
        shape = image_shape[:3] + (F,)
        self.stem_bn.build(shape)
        pool_index = 0
        for l in range(self.num_layers):
            for branch in self.branches[l]:
                branch.build(shape)
            if l > 0:
                self.combine_bns[l - 1].build(shape)
            if l in self.pool_layers:
                for fr in self.reductions[pool_index]:
                    fr.build(shape)
                shape = self.reductions[pool_index][0].compute_output_shape(shape)
                pool_index += 1
        self.head_dense.build((image_shape[0], F))
        self.built = True

    # -- forward ----------------------------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        images, arc = split_inputs(inputs, self.arc_len)
        x = self.stem_bn(self.stem_conv(images), training=training)
        stored = [x]
        for l in range(self.num_layers):
            start = _layer_start(l)
            x = self._branch_output(l, stored[-1], arc[start], training)
            if l > 0:
                # Sum of the selected stored outputs: unselected sources count as zeros (spec 2.3).
                for j in range(l):
                    x = x + ops.cast(arc[start + 1 + j], x.dtype) * stored[j]
                x = self.combine_bns[l - 1](x, training=training)
            stored.append(x)
            if l in self.pool_layers:
                reductions = self.reductions[self.pool_layers.index(l)]
                stored = [fr(s, training=training) for fr, s in zip(reductions, stored)]
        return self._head(stored[-1], training)

    def _branch_output(self, l, x, op, training):
        branches = self.branches[l]
        if self.reference_macro_bug:
            return branches[-1](x, training=training)
        if len(branches) == 1:
            return branches[0](x, training=training)
        # In training the branches update their BN moving statistics; the switch returns them on backends that
        # trace functionally (JAX), so only the selected branch's change.
        state = [v for b in branches for v in b.non_trainable_variables] if training else ()
        return backend.switch(op, [lambda t, b=b: b(t, training=training) for b in branches], (x,), state)

    # -- the fixed-path baseline ------------------------------------------------------------------------------------
    def build_path_model(self, arc, input_shape, share_weights: bool = False) -> keras.Model:
        """A plain functional model of exactly the search-mode path of `arc`: no switch, only the selected ops
        and the chosen skips, with the same layer types and sizes (the speed limit of weight sharing).

        Args:
            arc: flat macro arc (`macro_arc_len(L)` ints) or anything with `to_flat()`.
            input_shape: image shape without the batch axis, e.g. (28, 28, 1).
            share_weights: reuse this supernet's layers (so outputs match the supernet's for `arc`); otherwise a
                fresh copy of the layers is used.
        """
        flat = self._flat_arc(arc)
        if share_weights:
            if not self.built:
                self.build(((None,) + tuple(input_shape), (self.arc_len,)))
            source = self
        else:
            source = MacroSupernet.from_config({**self.get_config(), "input_shape": None})
        images = keras.Input(tuple(input_shape), name="images")
        x = source.stem_bn(source.stem_conv(images))
        stored = [x]
        for l in range(self.num_layers):
            start = _layer_start(l)
            op = self.num_ops - 1 if self.reference_macro_bug else int(flat[start])
            x = source.branches[l][op](stored[-1])
            if l > 0:
                for j in range(l):
                    if flat[start + 1 + j]:
                        x = x + stored[j]
                x = source.combine_bns[l - 1](x)
            stored.append(x)
            if l in self.pool_layers:
                # Only reductions whose output is used survive in the graph; the rest are pruned with it.
                reductions = source.reductions[self.pool_layers.index(l)]
                stored = [fr(s) for fr, s in zip(reductions, stored)]
        x = layers.GlobalAveragePooling2D(name="head_pool")(stored[-1])
        logits = source.head_dense(source.head_dropout(x))
        return keras.Model(images, logits, name=f"{self.name}_path")

    def _flat_arc(self, arc) -> np.ndarray:
        flat = np.asarray(arc.to_flat() if hasattr(arc, "to_flat") else arc).reshape(-1)
        if flat.shape != (self.arc_len,):
            raise ValueError(f"argument `arc`: expected {self.arc_len} ints, received shape {flat.shape}")
        for l in range(self.num_layers):
            start = _layer_start(l)
            if not 0 <= flat[start] < self.num_ops:
                raise ValueError(f"argument `arc`: expected op ids in [0, {self.num_ops - 1}], received "
                                 f"{flat[start]} at layer {l} (position {start})")
            bad = [b for b in flat[start + 1:start + 1 + l] if b not in (0, 1)]
            if bad:
                raise ValueError(f"argument `arc`: expected skip bits 0/1, received {bad[0]} at layer {l}")
        return flat

    def get_config(self):
        return {"num_layers": self.num_layers, "out_filters": self.out_filters, "num_classes": self.num_classes,
                "num_ops": self.num_ops, "keep_prob": self.keep_prob, "l2": self.l2,
                "reference_macro_bug": self.reference_macro_bug, "input_shape": self.input_shape_arg,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

