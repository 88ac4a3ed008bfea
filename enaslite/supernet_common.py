"""Pieces shared by the macro and micro supernets: argument checks, the `(images, arc)` input, batch-stat BN.

A supernet takes the architecture as an int tensor input, so a new architecture every step reuses one traced (and
compiled) train function. The helpers here keep that contract identical in both spaces.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from enaslite import backend
from enaslite import ops as enas_ops


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Returns `value` if it is an int in [minimum, maximum], else raises the house-style ValueError."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"argument `{name}`: expected an int >= {minimum}{upper}, received {value!r}")
    return value


def check_rate(name: str, value, low_open: bool = True) -> float:
    """Returns `value` as a float if it lies in (0, 1] (`low_open`) or [0, 1], else raises."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (0 < value <= 1 if low_open else 0 <= value <= 1)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"argument `{name}`: expected a number in {interval}, received {value!r}")
    return float(value)


def check_nonneg(name: str, value) -> float:
    """Returns `value` as a float if it is a number >= 0, else raises."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0):
        raise ValueError(f"argument `{name}`: expected a number >= 0, received {value!r}")
    return float(value)


def split_inputs(inputs, arc_len: int):
    """Splits a supernet input `(images, arc)` and returns `(images, arc)` with `arc` int32 of shape (arc_len,).

    `arc` may be (arc_len,) or (1, arc_len); of a 2-D arc only row 0 is used, so that Keras data pipelines can
    carry one architecture per batch as a (1, arc_len) tensor next to the images.
    """
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
        raise ValueError(f"argument `inputs`: expected a pair (images, arc), received {type(inputs).__name__}"
                         f"{'' if not isinstance(inputs, (tuple, list)) else f' of length {len(inputs)}'}")
    images, arc = inputs
    arc = ops.convert_to_tensor(arc)
    if len(arc.shape) == 2:
        arc = arc[0]
    if len(arc.shape) != 1 or (arc.shape[0] is not None and arc.shape[0] != arc_len):
        raise ValueError(f"argument `arc`: expected shape ({arc_len},) or (1, {arc_len}), received {arc.shape}")
    if keras.backend.standardize_dtype(arc.dtype) != "int32":
        arc = ops.cast(arc, "int32")
    return images, arc


def image_shape_of(input_shape) -> tuple:
    """The image shape from a supernet build shape: either the `(images, arc)` pair of shapes or the image shape."""
    pair = isinstance(input_shape, (tuple, list)) and len(input_shape) == 2
    if pair and isinstance(input_shape[0], (tuple, list)):
        return tuple(input_shape[0])
    return tuple(input_shape)


def batch_stat_norm(bn, x, training, eval_batch_stats: bool):
    """Applies the BatchNormalization layer `bn`, using batch statistics at inference when `eval_batch_stats`.

    In training this is just `bn(x, training=True)` (batch statistics, moving averages updated). At inference with
    `eval_batch_stats` the batch is normalised by its own mean and variance with `bn`'s gamma and beta, and the
    moving averages are left untouched, so evaluating never changes the model's state.
    """
    if training or not eval_batch_stats:
        return bn(x, training=training)
    mean, variance = ops.moments(x, axes=[0, 1, 2])
    return ops.batch_normalization(x, mean, variance, axis=-1, offset=bn.beta, scale=bn.gamma,
                                   epsilon=bn.epsilon)


def batch_stat_bn(x, gamma, beta, epsilon: float):
    """Normalises NHWC `x` with its own batch statistics, then scales by `gamma` and shifts by `beta`.

    On TensorFlow this is one fused op (forward and gradient; see `enaslite.backend.tensorflow`): inside
    `ops.switch` branches that matters, because tracing the gradient of a switch costs time per op in its branches.
    """
    return backend.batch_stat_bn(x, gamma, beta, epsilon)


def prebuild_for_fit(model, num_classes: int) -> None:
    """Creates, before the train step is traced, the variables Keras would otherwise create inside that trace.

    Keras on TensorFlow builds the optimizer and the compiled metrics lazily inside the first trace of the train
    step, and tf.function then traces the step a second time. For a switch-heavy supernet a trace takes long, so
    this builds the optimizer (when the model is built) and, when the compiled loss is a sparse categorical
    cross-entropy (so labels are integer class ids), the compiled loss and metrics from a dummy batch; the dummy
    metric values are reset.
    """
    if not model.built or getattr(model, "optimizer", None) is None:
        return
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    loss = model.loss
    sparse = isinstance(loss, keras.losses.SparseCategoricalCrossentropy) or loss in (
        "sparse_categorical_crossentropy", keras.losses.sparse_categorical_crossentropy)
    if sparse and not getattr(model, "_enaslite_metrics_prebuilt", False):
        y = ops.zeros((1,), "int32")
        y_pred = ops.zeros((1, num_classes))
        model.compute_loss(y=y, y_pred=y_pred, training=False)
        model.compute_metrics(None, y, y_pred)
        model.reset_metrics()
        model._enaslite_metrics_prebuilt = True


def l2_rate(variable) -> float | None:
    """The rate of `variable`'s regularizer when that is exactly Keras' `L2` (`l2 * sum(w**2)`), else None."""
    regularizer = getattr(variable, "regularizer", None)
    return float(regularizer.l2) if type(regularizer) is keras.regularizers.L2 else None


def l2_gradient(variable):
    """The gradient of `variable`'s L2 term, `l2 * sum(w**2)`, written as TensorFlow's autodiff computes it:
    `l2 * (w * 2)`, the upstream 1.0 times `l2` spread over `w` by the sum's gradient, times the square's gradient.
    Each product rounds once, so this is bit for bit the gradient that backpropagating the term gives."""
    w = ops.convert_to_tensor(variable)
    return ops.cast(l2_rate(variable), w.dtype) * (w * ops.cast(2.0, w.dtype))


@keras.saving.register_keras_serializable(package="enaslite")
class NesterovSGD(keras.optimizers.SGD):
    """Keras' SGD with Nesterov momentum, whose per-variable step is one fused kernel where the backend has one.

    Same arguments, variables and results as `keras.optimizers.SGD(..., nesterov=True)`, bit for bit; only the
    traced train step is smaller (`enaslite.backend.nesterov_momentum_update`), which matters for a supernet's first
    step: it has a few hundred variables, and tracing and instantiating the graph cost time and memory per op.

    Args:
        adds_l2_gradients: add the gradient of each variable's L2 regularizer here (`l2_gradient`, before clipping
            and the step) instead of backpropagating it from the loss. For a `Supernet`, which then gives its
            regularization losses no gradient (their values still count in the logged loss): with a few hundred
            variables, the backward pass through their L2 terms was about 4,000 of the 40,000 ops of the 12-layer
            macro supernet's traced train step, each run on every step (TensorFlow's graph optimizer is off for
            determinism, `enaslite.seeding`). On TensorFlow the weights come out bit for bit the same
            (tests/test_supernet_common.py); under JAX, XLA may sum a weight's gradient terms in another order.
            Do not use it with a model whose L2 losses still have a gradient: that counts the term twice.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, adds_l2_gradients: bool = False, **kwargs):
        kwargs.setdefault("nesterov", True)
        super().__init__(learning_rate, momentum=momentum, **kwargs)
        if not isinstance(adds_l2_gradients, bool):
            raise ValueError(f"argument `adds_l2_gradients`: expected a bool, received {adds_l2_gradients!r}")
        self.adds_l2_gradients = adds_l2_gradients

    def apply(self, grads, trainable_variables=None):
        if self.adds_l2_gradients and len(grads):
            variables = self._trainable_variables if trainable_variables is None else list(trainable_variables)
            # A variable the loss does not reach (None) still gets its L2 gradient, as backpropagation gives it.
            grads = [g if l2_rate(v) is None else l2_gradient(v) if g is None else g + l2_gradient(v)
                     for g, v in zip(grads, variables)]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        if not (self.nesterov and self.momentum) or backend.nesterov_momentum_update is None:
            return super().update_step(gradient, variable, learning_rate)
        accumulator = self.momentums[self._get_variable_index(variable)]
        backend.nesterov_momentum_update(variable, accumulator, gradient, learning_rate, self.momentum)

    def get_config(self):
        return {**super().get_config(), "adds_l2_gradients": self.adds_l2_gradients}


class Supernet(keras.Model):
    """What both supernets share: the classifier head and the one-trace `make_train_function`.

    Subclasses call `_init_head` in `__init__` after their own layers (so variable order follows the network), with
    `num_classes` and `keep_prob` already set, and build `head_dense` at the end of `build`.
    """

    def _check_common(self, num_classes, num_ops, max_ops: int, keep_prob, l2, input_shape):
        """Validates and stores the arguments both supernets take."""
        self.num_classes = check_int("num_classes", num_classes, 1)
        self.num_ops = check_int("num_ops", num_ops, 1, max_ops)
        self.keep_prob = check_rate("keep_prob", keep_prob)
        self.l2 = check_nonneg("l2", l2)
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)

    def _init_head(self, l2: float):
        self.head_dropout = layers.Dropout(1.0 - self.keep_prob, name="head_dropout")
        self.head_dense = enas_ops.dense(self.num_classes, "head_dense", l2)

    def _head(self, x, training):
        """Global average pooling, dropout, dense: the logits."""
        return self.head_dense(self.head_dropout(ops.mean(x, axis=[1, 2]), training=training))

    def _get_regularization_losses(self):
        # When the optimizer adds the L2 gradients itself (`NesterovSGD(adds_l2_gradients=True)`), the L2 terms
        # count in the loss value only: the same values, computed from the same weights, without a gradient.
        if not getattr(getattr(self, "optimizer", None), "adds_l2_gradients", False):
            return super()._get_regularization_losses()
        return [v.regularizer(ops.stop_gradient(v)) if l2_rate(v) is not None else v.regularizer(v)
                for v in self.trainable_weights if v.regularizer is not None]

    def make_train_function(self, force=False):
        # One trace instead of two when the model is already built (`input_shape` or `build`); see
        # `prebuild_for_fit`. Tracing a switch-heavy train step is slow.
        prebuild_for_fit(self, self.num_classes)
        return super().make_train_function(force)
