"""TensorFlow: `tf.switch_case` updates variables inside its branches as it is, the controller's functions are
`tf.function` graphs, gradients come from a `GradientTape`, and three kernels are TF's own fused ones."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

# XLA measured about 4x slower than plain TF graphs for these convnets on the CPU.
JIT_COMPILE = False
# keras.random.SeedGenerator seeds stay below this (int64 state: every uint32 seed).
SEED_BOUND = 2**32


def switch(index, branches, operands, state=()):
    # Variables assigned inside a `tf.switch_case` branch update only when that branch runs: nothing to plumb.
    return ops.switch(index, branches, *operands)


def batch_stat_bn(x, gamma, beta, epsilon: float):
    # One fused op (forward and gradient). Inside `ops.switch` branches that matters: tracing the gradient of a
    # switch costs time per op in its branches, and the micro supernet has about a hundred switches (the unfused
    # form made the first train step trace for minutes at the cpu-micro size).
    return tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=epsilon, is_training=True)[0]


def function(fn, variables):
    # tf.function reads and updates the variables themselves; the list is for backends that must pass them.
    # The rollouts are Python loops over a fixed number of decisions, so AutoGraph has nothing to convert.
    return tf.function(fn, autograph=False)


def value_and_grad(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    grads = tape.gradient(loss, variables)
    # A variable can be unused (attention when macro L = 1); give it a zero gradient rather than None.
    return loss, aux, [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def global_norm(tensors):
    return tf.linalg.global_norm(tensors)


def nesterov_momentum_update(variable, accumulator, gradient, learning_rate, momentum):
    # Keras' SGD builds about 14 graph ops per variable for this step (casts, 4 multiplies, 2 subtracts, an assign
    # and an assign-add); the supernets have hundreds of variables (466 at 12 macro layers), so that was 14% of the
    # traced train step, and tracing and instantiating a graph costs time and memory per op. TF's fused kernel
    # computes the same float32 expressions, accum = accum * momentum - grad * lr and
    # var += accum * momentum - grad * lr, with the same roundings: the weights come out bit for bit the same
    # (tests/test_supernet_common.py).
    dtype = variable.dtype
    tf.raw_ops.ResourceApplyKerasMomentum(var=variable.handle, accum=accumulator.handle,
                                          lr=tf.cast(learning_rate, dtype), grad=tf.cast(gradient, dtype),
                                          momentum=tf.cast(momentum, dtype), use_nesterov=True)


def enable_determinism():
    tf.config.experimental.enable_op_determinism()
    # Grappler (TF's graph optimizer) rewrites the supernet's per-layer op switch (`tf.switch_case` branch
    # functions) differently in the first calls and in later ones, at a point that varies from process to process,
    # and the versions round differently: two processes with the same seed drifted apart in the 5th significant
    # digit within one search epoch. Without grappler, steps were as fast or faster on this CPU, and tracing
    # faster (README, "Reproducibility").
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def clear_session():
    keras.backend.clear_session()
    # Keras' TF optimizer all-reduces the gradients even under the default one-replica strategy, and in a traced step
    # that all-reduce is a `tf.custom_gradient`, which registers its gradient function in TF's global gradient
    # registry under a fresh name ("CustomGradient-<uid>") and never removes it. That function's closure holds the
    # step's tensors, so every traced train step (its graph and, for a supernet, the hundreds of switch-branch
    # functions in it) stayed alive for the life of the process: about 350 MB per smoke-size micro search, and the
    # study process grew by gigabytes over a few jobs. An entry is needed only while its step is traced, and
    # `clear_session` drops the models that own those steps, so the entries go too (the remedy of tf-keras PR 898;
    # upstream issues tensorflow/tensorflow#80895 and #97697).
    from tensorflow.python.framework import ops as tf_ops
    registry = tf_ops.gradient_registry._registry
    for name in [name for name in registry if name.startswith("CustomGradient-")]:
        del registry[name]
