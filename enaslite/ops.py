"""Building blocks shared by the child models and the supernets.

Conventions of the reference code (spec 5.2) that every block here follows:
- no conv or dense layer has a bias; kernels are He-normal (fan-in, truncated normal, scale 2);
- BatchNorm uses momentum 0.9 and eps 1e-5 unless told otherwise;
- L2 (`l2 * sum(w**2)`) sits on every weight, BatchNorm gamma and beta included.
"""

from __future__ import annotations

import zlib

import keras
import numpy as np
from keras import layers, ops

from enaslite import backend

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def regularizer(l2: float):
    """L2 on a weight, or None when `l2` is 0 (so no zero-valued losses pile up)."""
    return keras.regularizers.L2(l2) if l2 else None


def layer_seed(seed: int | None, name: str) -> int | None:
    """A seed for the random layer `name`, derived from the run's `seed`; None stays None (unseeded).

    Each dropout / drop-path layer needs its own stream: with one shared seed every layer draws the same uniforms,
    so all ops of a cell drop the same examples (nested across cells), where the reference draws an independent
    mask per op. The name is hashed with CRC-32, not Python's per-process salted `hash()`, so a fixed `seed`
    gives the same masks in every process.
    """
    if seed is None:
        return None
    entropy = [seed % 2**64, zlib.crc32(name.encode("utf-8"))]
    # A uint32; torch's generators take int32 seeds, so there it wraps (other backends keep it as it is).
    return int(np.random.SeedSequence(entropy).generate_state(1)[0]) % backend.SEED_BOUND


def kernel_init():
    # TF1's VarianceScaling(scale=2, fan_in, truncated normal) is exactly Keras' HeNormal.
    return keras.initializers.HeNormal()


def conv(filters: int, kernel_size: int, name: str, l2: float, strides: int = 1) -> layers.Conv2D:
    """A bias-free, He-initialised, L2-regularised SAME conv."""
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                         kernel_initializer=kernel_init(), kernel_regularizer=regularizer(l2), name=name)


def sep_conv(filters: int, kernel_size: int, name: str, l2: float, strides: int = 1) -> layers.SeparableConv2D:
    """Depthwise k x k (multiplier 1) then pointwise 1x1, both bias-free and L2-regularised."""
    return layers.SeparableConv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                                  depthwise_initializer=kernel_init(), pointwise_initializer=kernel_init(),
                                  depthwise_regularizer=regularizer(l2), pointwise_regularizer=regularizer(l2),
                                  name=name)


def batch_norm(name: str, l2: float, epsilon: float = BN_EPSILON) -> layers.BatchNormalization:
    """BatchNorm with the reference decay, and L2 on gamma and beta as the reference applies it to all weights."""
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=epsilon, gamma_regularizer=regularizer(l2),
                                     beta_regularizer=regularizer(l2), name=name)


def dense(units: int, name: str, l2: float) -> layers.Dense:
    """The classifier: bias-free, as in the reference."""
    return layers.Dense(units, use_bias=False, kernel_initializer=kernel_init(), kernel_regularizer=regularizer(l2),
                        name=name)


@keras.saving.register_keras_serializable(package="enaslite")
class FactorizedReduction(layers.Layer):
    """Halves the spatial size without losing half the pixels (spec 2.5).

    Path 1 takes every second pixel, path 2 the same grid shifted by one pixel (zero-padded at the bottom/right);
    each goes through a 1x1 conv to `filters // 2`, and the concatenation is batch-normalised. No ReLU inside.

    Args:
        filters: output channels (even).
        l2: L2 rate on the convs and the BN.

    Call arguments:
        inputs: NHWC tensor.
        training: BN mode.
    """

    def __init__(self, filters: int, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 2 or filters % 2:
            raise ValueError(f"argument `filters`: expected an even int >= 2, received {filters!r}")
        self.filters = filters
        self.l2 = l2
        self.conv_1 = conv(filters // 2, 1, f"{self.name}_conv_1", l2)
        self.conv_2 = conv(filters // 2, 1, f"{self.name}_conv_2", l2)
        self.bn = batch_norm(f"{self.name}_bn", l2)

    def build(self, input_shape):
        half = list(input_shape)
        half[1] = None if half[1] is None else (half[1] + 1) // 2
        half[2] = None if half[2] is None else (half[2] + 1) // 2
        self.conv_1.build(tuple(half))
        self.conv_2.build(tuple(half))
        self.bn.build(tuple(half[:3]) + (self.filters,))

    def paths(self, inputs):
        """The two convolved half-resolution paths, concatenated (everything but the BN)."""
        path_1 = inputs[:, ::2, ::2, :]
        # Shift by one pixel: pad bottom/right, then the stride-2 grid starts at (1, 1).
        shifted = ops.pad(inputs, [[0, 0], [0, 1], [0, 1], [0, 0]])
        path_2 = shifted[:, 1::2, 1::2, :]
        return ops.concatenate([self.conv_1(path_1), self.conv_2(path_2)], axis=-1)

    def call(self, inputs, training=None):
        return self.bn(self.paths(inputs), training=training)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else (h + 1) // 2, None if w is None else (w + 1) // 2, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "l2": self.l2}


@keras.saving.register_keras_serializable(package="enaslite")
class DropPath(layers.Layer):
    """Scheduled drop-path (spec 3.5): drops a whole op output per example during training.

    The keep probability decays linearly from 1 to `keep_prob` over training: keep_t = 1 - progress * (1 -
    keep_prob), where `progress` = min(1, (step + 1) / total_steps) is set from outside (see
    `DropPathSchedule`), so the layer needs no knowledge of the step count. Kept outputs are scaled by 1 / keep_t.

    Args:
        keep_prob: the cell's final keep probability p_c.
        seed: seed of the layer's SeedGenerator.

    Call arguments:
        inputs: any tensor with a batch axis.
        training: drop only when True.
    """

    def __init__(self, keep_prob: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < keep_prob <= 1.0:
            raise ValueError(f"argument `keep_prob`: expected a number in (0, 1], received {keep_prob!r}")
        self.keep_prob = float(keep_prob)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.progress = self.add_weight(shape=(), initializer="zeros", trainable=False, name="progress")

    def call(self, inputs, training=None):
        if not training or self.keep_prob >= 1.0:
            return inputs
        keep = 1.0 - ops.cast(self.progress, inputs.dtype) * (1.0 - self.keep_prob)
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        noise = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        return inputs * ops.floor(keep + noise) / keep

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "keep_prob": self.keep_prob, "seed": self.seed}


class DropPathSchedule(keras.callbacks.Callback):
    """Sets every DropPath layer's progress to min(1, (global_step + 1) / total_steps) before each batch."""

    def __init__(self, total_steps: int, initial_step: int = 0):
        super().__init__()
        self.total_steps = max(1, int(total_steps))
        self.step = int(initial_step)
        self._layers = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._layers is None:
            self._layers = [l for l in self.model._flatten_layers() if isinstance(l, DropPath)]
        progress = min(1.0, (self.step + 1) / self.total_steps)
        for layer in self._layers:
            layer.progress.assign(progress)
        self.step += 1
