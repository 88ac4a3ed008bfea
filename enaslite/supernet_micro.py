"""The micro-space (cell) weight-sharing supernet (spec 3.2-3.4); the arc is an int tensor input.

Each node slot picks its input and its op with `enaslite.backend.switch` (`tf.switch_case` on TensorFlow), so a new
architecture every step reuses one traced train function and only the chosen op runs. Sep-conv weights are banks
with one row per possible input, gathered by the chosen index, as in the reference.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from enaslite import backend
from enaslite import ops as enas_ops
from enaslite.supernet_common import (batch_stat_bn, batch_stat_norm, check_int, check_nonneg,
                                      image_shape_of, split_inputs, Supernet)

OP_NAMES = ("sep3", "sep5", "avg_pool", "max_pool", "identity")
CALIBRATIONS = ("none", "conv", "reduce")
AUX_FILTERS = (128, 768)


def micro_arc_len(num_nodes: int) -> int:
    """Length of a flat micro arc: 4 ints per node, normal cell then reduction cell."""
    return 8 * num_nodes


def reduction_cells(num_layers: int) -> tuple:
    """Indices of the reduction cells among the num_layers + 2 cells (spec 3.2)."""
    distance = num_layers // 3
    return (distance, 2 * distance + 1)


# He normal is a truncated normal with this std correction (as in keras.initializers.HeNormal).
_TRUNC_STD = 0.87962566103423978


@keras.saving.register_keras_serializable(package="enaslite")
class BankInitializer(keras.initializers.Initializer):
    """Initial value of a packed weight bank (rows x sum of segment sizes), segment by segment.

    Args:
        segments: list of `[size, fan_in]`; fan_in > 0 gives He normal with that fan-in, 0 gives ones (a BN
            gamma) and -1 zeros (a BN beta).
    """

    def __init__(self, segments):
        self.segments = [[int(size), int(fan_in)] for size, fan_in in segments]

    def __call__(self, shape, dtype=None):
        rows = shape[0]
        parts = []
        for size, fan_in in self.segments:
            if fan_in > 0:
                std = math.sqrt(2.0 / fan_in) / _TRUNC_STD
                parts.append(keras.random.truncated_normal((rows, size), stddev=std, dtype=dtype))
            else:
                parts.append(ops.full((rows, size), 1.0 if fan_in == 0 else 0.0, dtype=dtype))
        return ops.concatenate(parts, axis=1)

    def get_config(self):
        return {"segments": self.segments}


@keras.saving.register_keras_serializable(package="enaslite")
class SepConvBank(layers.Layer):
    """A separable-conv op of one node slot, with one weight row per possible input index (spec 3.3).

    Two stacked units of ReLU, depthwise k x k (multiplier 1), pointwise 1x1 F -> F, BN. Every weight (depthwise,
    pointwise, BN gamma and beta) has one row per possible input index, and the row of the chosen index is
    gathered, as in the reference. The BN always normalises with batch statistics and keeps no moving statistics
    (reference).

    All eight weights live in ONE packed variable of shape (num_inputs, P), split after the gather. This is the
    same parameterisation with a single gather: tracing the gradient of the switch around this op costs time per
    graph op, and the optimiser costs time per variable, so 8x fewer variables and gathers matter (about 900
    variables otherwise at the cpu-micro size). L2 on the packed variable equals L2 on each weight.

    Initialisation: He normal per row with the real fan-in of the row (k*k depthwise, F pointwise). Deviation: the
    reference computes fan-in over its 2-D bank matrix (the number of rows), so its initial std is 0.5-1.0
    (spec 5.2); `reference_fan_in=True` reproduces that.

    Args:
        num_inputs: rows of the bank (the node's possible inputs).
        kernel_size: k.
        filters: F.
        l2: L2 rate on the bank.
        reference_fan_in: He normal with fan-in `num_inputs`, as the reference computes it.

    Call arguments:
        inputs: NHWC tensor with F channels.
        index: int scalar tensor, the chosen input index (selects the bank row).
    """

    def __init__(self, num_inputs: int, kernel_size: int, filters: int, l2: float = 0.0,
                 reference_fan_in: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_inputs = check_int("num_inputs", num_inputs, 1)
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.filters = check_int("filters", filters, 1)
        self.l2 = check_nonneg("l2", l2)
        self.reference_fan_in = bool(reference_fan_in)
        k, F = kernel_size, filters
        # Per unit: depthwise (k, k, F, 1), pointwise (1, 1, F, F), gamma (F,), beta (F,).
        self._shapes = [(k, k, F, 1), (1, 1, F, F), (F,), (F,)] * 2
        fan_dw, fan_pw = (num_inputs, num_inputs) if reference_fan_in else (k * k, F)
        self._segments = [[k * k * F, fan_dw], [F * F, fan_pw], [F, 0], [F, -1]] * 2

    def build(self, input_shape):
        width = sum(size for size, _ in self._segments)
        self.bank = self.add_weight((self.num_inputs, width), BankInitializer(self._segments),
                                    regularizer=enas_ops.regularizer(self.l2), name="bank")

    def call(self, inputs, index):
        return self.apply_weights(inputs, self.weights_of(index))

    def weights_of(self, index):
        """The eight weights of input `index`: per unit (depthwise, pointwise, gamma, beta)."""
        row = ops.take(self.bank, index, axis=0)
        weights, offset = [], 0
        for shape, (size, _) in zip(self._shapes, self._segments):
            weights.append(ops.reshape(row[offset:offset + size], shape))
            offset += size
        return weights

    def apply_weights(self, inputs, weights):
        """The op with the weights from `weights_of(index)`."""
        x = inputs
        for u in range(2):
            depthwise, pointwise, gamma, beta = weights[4 * u:4 * u + 4]
            x = ops.separable_conv(ops.relu(x), depthwise, pointwise, padding="same")
            x = batch_stat_bn(x, gamma, beta, enas_ops.BN_EPSILON)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_inputs": self.num_inputs, "kernel_size": self.kernel_size,
                "filters": self.filters, "l2": self.l2, "reference_fan_in": self.reference_fan_in}


@keras.saving.register_keras_serializable(package="enaslite")
class CellReduction(enas_ops.FactorizedReduction):
    """`FactorizedReduction` whose BN can normalise with batch statistics at inference (`eval_batch_stats`).

    Args:
        filters, l2: as `FactorizedReduction`.
        eval_batch_stats: use batch statistics when `training` is falsy (see `MicroSupernet`).

    Call arguments:
        inputs: NHWC tensor.
        training: BN mode.
    """

    def __init__(self, filters: int, l2: float = 0.0, eval_batch_stats: bool = False, **kwargs):
        super().__init__(filters, l2, **kwargs)
        self.eval_batch_stats = bool(eval_batch_stats)

    def call(self, inputs, training=None):
        # Only the final normalisation differs from FactorizedReduction.call.
        return batch_stat_norm(self.bn, self.paths(inputs), training, self.eval_batch_stats)

    def get_config(self):
        return {**super().get_config(), "eval_batch_stats": self.eval_batch_stats}


@keras.saving.register_keras_serializable(package="enaslite")
class MicroCell(layers.Layer):
    """One search cell (spec 3.3, 3.4): calibrated inputs, B nodes of two slots each, a 1x1 conv over loose ends.

    Each slot (x and y, separate parameters) selects its input from the previous node outputs by index and its
    op by id, both with `backend.switch`. Ops: sep 3x3 and sep 5x5 (`SepConvBank`, weights per input index), 3x3 avg
    and max pool (stride 1 SAME, no conv, no BN), identity. Node = x + y.

    Output: BN(sum over loose ends i of Conv1x1_i(ReLU(h_i))), computed as one 1x1 conv over the concatenation of
    all B + 2 ReLU'd node outputs with the kernel rows of used nodes zeroed. That is the reference's gather of
    per-source blocks, but with a fixed shape. Always F channels. Its kernel is He normal over the packed
    ((B + 2) F, F) matrix, so fan-in (B + 2) F; the reference's (B + 2, F * F) matrix gives fan-in B + 2 (spec 5.2),
    which `reference_fan_in=True` reproduces.

    Args:
        num_nodes: B.
        num_ops: the first `num_ops` ops of `OP_NAMES`.
        filters: F.
        calibrate_0: what input 0 needs (spec 3.4): "none", "conv" (ReLU, 1x1 conv, BN) or "reduce" (ReLU,
            factorized reduction).
        calibrate_1: "none" or "conv".
        l2: L2 rate on every weight.
        eval_batch_stats: the cell's BNs use batch statistics at inference too.
        reference_fan_in: initialise the sep-conv banks and the loose-end kernel with the reference's fan-in.

    Call arguments:
        inputs: `(h0, h1)`, the outputs of the cell two back and of the previous cell.
        arc: int tensor of shape (4 * num_nodes,), `[index_1, op_1, index_2, op_2]` per node.
        training: BN mode.
    """

    def __init__(self, num_nodes: int, num_ops: int, filters: int, calibrate_0: str = "none",
                 calibrate_1: str = "none", l2: float = 0.0, eval_batch_stats: bool = True,
                 reference_fan_in: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_nodes = check_int("num_nodes", num_nodes, 1)
        self.num_ops = check_int("num_ops", num_ops, 1, len(OP_NAMES))
        self.filters = check_int("filters", filters, 2)
        for name, value, allowed in (("calibrate_0", calibrate_0, CALIBRATIONS),
                                     ("calibrate_1", calibrate_1, CALIBRATIONS[:2])):
            if value not in allowed:
                raise ValueError(f"argument `{name}`: expected one of {list(allowed)}, received {value!r}")
        self.calibrate_0, self.calibrate_1 = calibrate_0, calibrate_1
        self.l2 = check_nonneg("l2", l2)
        self.eval_batch_stats = bool(eval_batch_stats)
        self.reference_fan_in = bool(reference_fan_in)
        F = filters
        self.calibrations = [self._calibration(i, mode) for i, mode in enumerate((calibrate_0, calibrate_1))]
        # sep_banks[b] = [x slot, y slot], each the slot's sep-conv banks (sep3, sep5); pools/identity have none.
        self.sep_banks = [[[SepConvBank(b + 2, k, F, l2, reference_fan_in,
                                        name=f"{self.name}_node_{b}_{slot}_sep{k}")
                            for k in (3, 5)[:num_ops]] for slot in ("x", "y")] for b in range(num_nodes)]
        self.avg_pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{self.name}_avg_pool")
        self.max_pool = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{self.name}_max_pool")
        self.out_bn = enas_ops.batch_norm(f"{self.name}_out_bn", l2)

    def _calibration(self, i, mode):
        if mode == "reduce":
            return CellReduction(self.filters, self.l2, self.eval_batch_stats, name=f"{self.name}_calib_{i}_fr")
        if mode == "conv":
            return [enas_ops.conv(self.filters, 1, f"{self.name}_calib_{i}_conv", self.l2),
                    enas_ops.batch_norm(f"{self.name}_calib_{i}_bn", self.l2)]
        return None

    def build(self, input_shape):
        F, B = self.filters, self.num_nodes
        for shape, calibration in zip(input_shape, self.calibrations):
            if isinstance(calibration, CellReduction):
                calibration.build(shape)
            elif calibration is not None:
                calibration[0].build(shape)
                calibration[1].build(tuple(shape[:3]) + (F,))
        out_shape = tuple(input_shape[1][:3]) + (F,)
        for node in self.sep_banks:
            for slot in node:
                for bank in slot:
                    bank.build(out_shape)
        init = enas_ops.kernel_init()
        if self.reference_fan_in:
            init = keras.initializers.TruncatedNormal(stddev=math.sqrt(2.0 / (B + 2)) / _TRUNC_STD)
        self.out_kernel = self.add_weight(((B + 2) * F, F), init,
                                          regularizer=enas_ops.regularizer(self.l2), name="out_kernel")
        self.out_bn.build(out_shape)

    def call(self, inputs, arc, training=None):
        F, B = self.filters, self.num_nodes
        nodes = [self._calibrate(h, c, training) for h, c in zip(inputs, self.calibrations)]
        for b in range(B):
            x = self._slot(nodes, arc[4 * b], arc[4 * b + 1], self.sep_banks[b][0])
            y = self._slot(nodes, arc[4 * b + 2], arc[4 * b + 3], self.sep_banks[b][1])
            nodes.append(x + y)
        # Loose ends: nodes no slot takes as input. Zeroing the kernel rows of used nodes equals convolving only
        # the loose ends, at the cost of one fixed-shape matmul.
        indices = ops.stack([arc[4 * b + s] for b in range(B) for s in (0, 2)])
        used = ops.max(ops.one_hot(indices, B + 2, dtype=self.out_kernel.dtype), axis=0)
        row_mask = ops.repeat(1.0 - used, F)[:, None]
        x = ops.matmul(ops.relu(ops.concatenate(nodes, axis=-1)), self.out_kernel * row_mask)
        return batch_stat_norm(self.out_bn, x, training, self.eval_batch_stats)

    def _calibrate(self, h, calibration, training):
        if calibration is None:
            return h
        if isinstance(calibration, CellReduction):
            return calibration(ops.relu(h), training=training)
        conv, bn = calibration
        return batch_stat_norm(bn, conv(ops.relu(h)), training, self.eval_batch_stats)

    def _slot(self, nodes, index, op, banks):
        # Input selection by switch passes the chosen tensor through: no stacking copy of all candidates.
        x = nodes[0] if len(nodes) == 1 else backend.switch(
            index, [lambda *hs, i=i: hs[i] for i in range(len(nodes))], nodes)
        # Gather the bank rows outside the switch: tracing the gradient of a switch costs time per op inside it.
        weights = [bank.weights_of(index) for bank in banks]
        branches = [lambda t, bank=bank, w=w: bank.apply_weights(t, w) for bank, w in zip(banks, weights)]
        branches += [self.avg_pool, self.max_pool, lambda t: t][:self.num_ops - len(banks)]
        # No branch keeps moving statistics (sep-conv BNs use batch statistics), so there is no `state` to return.
        return branches[0](x) if len(branches) == 1 else backend.switch(op, branches, (x,))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1][:3]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "num_nodes": self.num_nodes, "num_ops": self.num_ops,
                "filters": self.filters, "calibrate_0": self.calibrate_0, "calibrate_1": self.calibrate_1,
                "l2": self.l2, "eval_batch_stats": self.eval_batch_stats, "reference_fan_in": self.reference_fan_in}


@keras.saving.register_keras_serializable(package="enaslite")
class MicroSupernet(Supernet):
    """ENAS micro (cell) search network with shared weights; the architecture is an input (spec 3.2-3.4).

    Structure: stem 3x3 conv (C_in -> 3F) + BN; `num_layers + 2` `MicroCell`s with reduction cells at
    `reduction_cells(num_layers)`. At a reduction cell F doubles and the previous output x is first reduced
    (`CellReduction`, to the new F); the reduction cell then runs the reduction arc with stride-1 ops on
    (x, FR(x)), and the next cell gets (FR(x), its output) (spec 3.3). Head: ReLU, global average pool, dropout,
    bias-free dense.

    Auxiliary head (`aux_weight > 0`), after the first cell after the second reduction: ReLU, 5x5 avg pool stride
    3 VALID, 1x1 conv to 128, BN, ReLU, conv to 768 with the kernel spanning the pooled map, BN, ReLU, global
    average pool, bias-free dense. The training loss is CE + aux_weight * CE_aux (`compute_loss`; the aux CE is
    always sparse CE from logits). Deviation: the reference leaves the aux head at its random initial weights
    (its variables are filtered out of training, spec 3.2); here it is trained, which is the evident intent.
    `aux_trainable=False` freezes its weights (and so leaves them out of L2) as the reference does; its BNs still
    use batch statistics in training.

    BatchNorm and dropout at inference. The reference forces training mode in every micro search graph, so BNs
    use batch statistics and dropout stays on even when computing rewards and accuracies (spec 3.3). Here:
    - the sep-conv BNs (`SepConvBank`) always use batch statistics and have no moving statistics (reference);
    - with `eval_batch_stats=True` (default) the other cell BNs (calibrations, reductions, the loose-end BN)
      also use batch statistics at inference, because moving statistics averaged over many architectures fit
      none of them; the moving averages are then neither read nor updated at inference. With False they follow
      `training` like any Keras BN. The stem BN (architecture-independent) always follows `training`;
    - dropout is OFF at inference (evident intent; the reference's eval-time dropout is a side effect);
      `eval_dropout=True` keeps it on, as the reference computes rewards and accuracies.

    Args:
        num_layers: N; the network has N + 2 cells.
        out_filters: F of the first stage (even).
        num_classes: classifier width.
        num_nodes: B, computed nodes per cell.
        num_ops: the first `num_ops` ops of `OP_NAMES`.
        keep_prob: keep probability of the dropout before the classifier.
        l2: L2 rate on every weight, BN gamma/beta and the aux head included.
        aux_weight: weight of the aux head's loss; 0 builds no aux head.
        eval_batch_stats: see above.
        aux_trainable: False freezes the aux head's weights at their initial values (reference, see above).
        eval_dropout: apply the head dropout at inference too (reference, see above).
        reference_fan_in: initialise the sep-conv banks and loose-end kernels with the reference's fan-in (the
            bank's row count, spec 5.2) instead of the real one.
        input_shape: image shape without the batch axis; if given, the model is built at construction, and
            `fit` then traces the train step once instead of twice (see `supernet_common.prebuild_for_fit`).

    Call arguments:
        inputs: `(images, arc)`: NHWC images and the int flat arc (`micro_arc_len(B)` ints: normal cell then
            reduction cell, `[index_1, op_1, index_2, op_2]` per node), shape (arc_len,) or (1, arc_len).
        training: BN and dropout mode.

    Returns:
        logits (batch, num_classes); in training with an aux head, the pair (logits, aux_logits).
    """

    def __init__(self, num_layers: int, out_filters: int, num_classes: int, *, num_nodes: int = 5,
                 num_ops: int = 5, keep_prob: float = 0.9, l2: float = 1e-4, aux_weight: float = 0.0,
                 eval_batch_stats: bool = True, aux_trainable: bool = True, eval_dropout: bool = False,
                 reference_fan_in: bool = False, input_shape=None, name: str = "micro_supernet", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.out_filters = check_int("out_filters", out_filters, 2)
        if out_filters % 2:
            raise ValueError(f"argument `out_filters`: expected an even int (factorized reductions halve it), "
                             f"received {out_filters!r}")
        self._check_common(num_classes, num_ops, len(OP_NAMES), keep_prob, l2, input_shape)
        self.num_nodes = check_int("num_nodes", num_nodes, 1)
        self.aux_weight = check_nonneg("aux_weight", aux_weight)
        for arg, value in (("eval_batch_stats", eval_batch_stats), ("aux_trainable", aux_trainable),
                           ("eval_dropout", eval_dropout), ("reference_fan_in", reference_fan_in)):
            if not isinstance(value, bool):
                raise ValueError(f"argument `{arg}`: expected a bool, received {value!r}")
        self.eval_batch_stats = eval_batch_stats
        self.aux_trainable, self.eval_dropout, self.reference_fan_in = aux_trainable, eval_dropout, reference_fan_in
        self.arc_len = micro_arc_len(num_nodes)
        self.reduction_cells = reduction_cells(num_layers)
        self.aux_cell = self.reduction_cells[-1] + 1 if aux_weight > 0 else None

        F = out_filters
        self.stem_conv = enas_ops.conv(3 * F, 3, "stem_conv", l2)
        self.stem_bn = enas_ops.batch_norm("stem_bn", l2)
        # Static bookkeeping of (channels, resolution level) of the two cell inputs decides each calibration.
        self.cells, self.pre_reductions = [], []
        prev = [(3 * F, 0), (3 * F, 0)]
        for c in range(num_layers + 2):
            if c in self.reduction_cells:
                F *= 2
                self.pre_reductions.append(CellReduction(F, l2, eval_batch_stats, name=f"cell_{c}_pre_reduce"))
                prev = [prev[1], (F, prev[1][1] + 1)]
            (ch_0, level_0), (ch_1, level_1) = prev
            calibrate_0 = "reduce" if level_0 != level_1 else ("conv" if ch_0 != F else "none")
            calibrate_1 = "conv" if ch_1 != F else "none"
            self.cells.append(MicroCell(num_nodes, num_ops, F, calibrate_0, calibrate_1, l2, eval_batch_stats,
                                        reference_fan_in, name=f"cell_{c}"))
            prev = [prev[1], (F, level_1)]
        self.final_filters = F
        if self.aux_cell is not None:
            self.aux_conv_1 = enas_ops.conv(AUX_FILTERS[0], 1, "aux_conv_1", l2)
            self.aux_bn_1 = enas_ops.batch_norm("aux_bn_1", l2)
            self.aux_bn_2 = enas_ops.batch_norm("aux_bn_2", l2)
            self.aux_dense = enas_ops.dense(num_classes, "aux_dense", l2)
            self.aux_loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self._init_head(l2)
        if input_shape is not None:
            self.build((None,) + tuple(input_shape))

    # -- building ---------------------------------------------------------------------------------------------------
    def build(self, input_shape):
        # Everything is built here, outside any switch branch (no variable may be created inside one).
        image_shape = image_shape_of(input_shape)
        self.stem_conv.build(image_shape)
        stem_shape = image_shape[:3] + (3 * self.out_filters,)
        self.stem_bn.build(stem_shape)
        prev = [stem_shape, stem_shape]
        reductions = iter(self.pre_reductions)
        for c, cell in enumerate(self.cells):
            if c in self.reduction_cells:
                fr = next(reductions)
                fr.build(prev[1])
                prev = [prev[1], fr.compute_output_shape(prev[1])]
            cell.build(tuple(prev))
            prev = [prev[1], cell.compute_output_shape(tuple(prev))]
            if c == self.aux_cell:
                self._build_aux(prev[1])
        self.head_dense.build((image_shape[0], self.final_filters))
        self.built = True

    def _build_aux(self, shape):
        n, h, w, channels = shape
        if h is None or w is None or h < 5 or w < 5:
            raise ValueError(f"argument `input_shape`: the auxiliary head needs a feature map of at least 5x5 "
                             f"after two reductions, received {h}x{w}")
        pooled = ((h - 5) // 3 + 1, (w - 5) // 3 + 1)
        # The second aux conv spans the whole pooled map (spec 3.2: 2x2 on CIFAR's 8x8 maps).
        self.aux_conv_2 = enas_ops.conv(AUX_FILTERS[1], pooled, "aux_conv_2", self.l2)
        self.aux_conv_1.build((n,) + pooled + (channels,))
        self.aux_bn_1.build((n,) + pooled + (AUX_FILTERS[0],))
        self.aux_conv_2.build((n,) + pooled + (AUX_FILTERS[0],))
        self.aux_bn_2.build((n,) + pooled + (AUX_FILTERS[1],))
        self.aux_dense.build((n, AUX_FILTERS[1]))
        if not self.aux_trainable:
            # Freeze the variables, not the layers: a non-trainable Keras BN would use its moving statistics.
            for layer in (self.aux_conv_1, self.aux_bn_1, self.aux_conv_2, self.aux_bn_2, self.aux_dense):
                for v in layer.weights:
                    v.trainable = False

    # -- forward ----------------------------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        images, arc = split_inputs(inputs, self.arc_len)
        arc_len = 4 * self.num_nodes
        normal_arc, reduce_arc = arc[:arc_len], arc[arc_len:]
        x = self.stem_bn(self.stem_conv(images), training=training)
        prev = [x, x]
        reductions = iter(self.pre_reductions)
        aux_logits = None
        for c, cell in enumerate(self.cells):
            if c in self.reduction_cells:
                prev = [prev[1], next(reductions)(prev[1], training=training)]
                out = cell(prev, reduce_arc, training=training)
            else:
                out = cell(prev, normal_arc, training=training)
            prev = [prev[1], out]
            if c == self.aux_cell and training:
                aux_logits = self._aux_head(out, training)
        logits = self._head(ops.relu(prev[1]), training or self.eval_dropout)
        return logits if aux_logits is None else (logits, aux_logits)

    def _aux_head(self, x, training):
        x = ops.average_pool(ops.relu(x), 5, strides=3, padding="valid")
        x = ops.relu(self.aux_bn_1(self.aux_conv_1(x), training=training))
        x = ops.relu(self.aux_bn_2(self.aux_conv_2(x), training=training))
        return self.aux_dense(ops.mean(x, axis=[1, 2]))

    # -- loss and metrics inside compile()/fit() ---------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss on the main logits (+ regularisers), plus aux_weight * CE of the aux logits."""
        if not isinstance(y_pred, (tuple, list)):
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        logits, aux_logits = y_pred
        loss = super().compute_loss(x, y, logits, sample_weight, training=training)
        return loss + self.aux_weight * self.aux_loss_fn(y, aux_logits, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Metrics of the main logits only."""
        if isinstance(y_pred, (tuple, list)):
            y_pred = y_pred[0]
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def get_config(self):
        return {"num_layers": self.num_layers, "out_filters": self.out_filters, "num_classes": self.num_classes,
                "num_nodes": self.num_nodes, "num_ops": self.num_ops, "keep_prob": self.keep_prob, "l2": self.l2,
                "aux_weight": self.aux_weight, "eval_batch_stats": self.eval_batch_stats,
                "aux_trainable": self.aux_trainable, "eval_dropout": self.eval_dropout,
                "reference_fan_in": self.reference_fan_in,
                "input_shape": self.input_shape_arg, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

