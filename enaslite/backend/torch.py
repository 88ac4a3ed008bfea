"""PyTorch: eager, so a switch runs only the selected branch and variables update in place; gradients come from
autograd. Written against the same interface as the other backends; tested only where torch is installed."""

from __future__ import annotations

import torch
from keras import ops

from enaslite.backend.portable import batch_stat_bn, clear_session, global_norm  # noqa: F401  (re-exported)

# Eager, torch's own mode; Keras' jit_compile=True would go through torch.compile, slow to compile and not needed.
JIT_COMPILE = False
# keras.random.SeedGenerator seeds stay below this (int32 state).
SEED_BOUND = 2**31


def switch(index, branches, operands, state=()):
    return ops.switch(index, branches, *operands)


def function(fn, variables):
    return fn


def value_and_grad(loss_fn, variables):
    loss, aux = loss_fn()
    values = [v.value for v in variables]
    grads = torch.autograd.grad(loss, values, allow_unused=True)
    return loss, aux, [torch.zeros_like(x) if g is None else g for g, x in zip(grads, values)]

# Keras' own SGD step (no fused kernel used here).
nesterov_momentum_update = None


def enable_determinism():
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
