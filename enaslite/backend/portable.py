"""The `keras.ops` versions of backend pieces that only TensorFlow replaces with its own kernels."""

from __future__ import annotations

import keras
from keras import ops


def batch_stat_bn(x, gamma, beta, epsilon: float):
    """Normalises NHWC `x` with its own batch statistics, then scales by `gamma` and shifts by `beta`."""
    mean, variance = ops.moments(x, axes=[0, 1, 2])
    return (x - mean) * (gamma * ops.rsqrt(variance + epsilon)) + beta


def global_norm(tensors):
    """sqrt(sum of every element squared), over all `tensors`."""
    return ops.sqrt(sum(ops.sum(ops.square(t)) for t in tensors))


def clear_session():
    keras.backend.clear_session()
