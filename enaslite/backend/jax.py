"""JAX: traced functions must not change Keras variables as a side effect, so every update becomes a value.

A Keras variable updated inside a traced function (a `lax.switch` branch, a `jit`, a `grad`) would keep a tracer
of that function (`UnexpectedTracerError`, or moving statistics holding a dead tracer after an eager call). Here
each such function runs in a `_Scope`, a `keras.StatelessScope` that records its updates and reads every other
variable through the enclosing scope; the updates are returned as outputs and assigned outside.
"""

from __future__ import annotations

import os
import warnings

import jax
import keras
from keras.src.backend.common.stateless_scope import get_stateless_scope  # no public accessor in Keras 3

from enaslite.backend.portable import batch_stat_bn, clear_session, global_norm  # noqa: F401  (re-exported)

# JAX compiles only through XLA: without jit a train step runs op by op (4 steps of a smoke child model took 2-3 s
# that way and 0.06 s jitted).
JIT_COMPILE = True
# keras.random.SeedGenerator seeds stay below this (uint32 keys).
SEED_BOUND = 2**32


class _Scope(keras.StatelessScope):
    """A stateless scope nested in the current one: `mapping` values first, then the enclosing scope's, then the
    variables' own; updates stay here (`updated` keeps them in order, by variable)."""

    def __init__(self, mapping=()):
        super().__init__(state_mapping=list(mapping))
        self.parent = get_stateless_scope()
        self.updated = {}

    def get_current_value(self, variable):
        value = self.state_mapping.get(id(variable))
        if value is None and self.parent is not None:
            value = self.parent.get_current_value(variable)
        return value

    def add_update(self, update):
        super().add_update(update)
        self.updated[id(update[0])] = update[0]


def _check_updates(scope, allowed, name: str, where: str):
    # A variable updated but not returned would keep a tracer: name it rather than fail later, far from here.
    ids = {id(v) for v in allowed}
    stray = [v.path for k, v in scope.updated.items() if k not in ids]
    if stray:
        raise ValueError(f"argument `{name}`: expected every variable that {where} updates, received a list "
                         f"without {stray}")


def switch(index, branches, operands, state=()):
    if not isinstance(index, jax.core.Tracer):
        # Eager (a concrete index): run the selected branch as it is, as PyTorch does. Its updates are concrete
        # values, and nothing is compiled (a `lax.switch` would compile every branch, on every eager call).
        return branches[min(max(int(index), 0), len(branches) - 1)](*operands)
    state = list(state)
    current = [v.value for v in state]  # the enclosing values: what an unselected branch returns unchanged

    def capture(branch):
        def run(*args):
            with _Scope() as scope:
                out = branch(*args)
            _check_updates(scope, state, "state", "a switch branch")
            return out, [scope.state_mapping.get(id(v), c) for v, c in zip(state, current)]
        return run

    out, new = jax.lax.switch(index, [capture(b) for b in branches], *operands)
    for v, value in zip(state, new):
        v.assign(value)
    return out


def function(fn, variables):
    variables = list(variables)

    def pure(values, *args):
        with _Scope(zip(variables, values)) as scope:
            out = fn(*args)
        _check_updates(scope, variables, "variables", "the compiled function")
        return out, [scope.state_mapping[id(v)] for v in variables]

    compiled = jax.jit(pure)

    def call(*args):
        out, new = compiled([v.value for v in variables], *args)
        for v, value in zip(variables, new):
            v.assign(value)
        return out

    return call


def value_and_grad(loss_fn, variables):
    variables = list(variables)

    def pure(values):
        with _Scope(zip(variables, values)) as scope:
            loss, aux = loss_fn()
        # An update made here would be a tracer of the gradient transform, so none is allowed.
        _check_updates(scope, (), "loss_fn", "the loss")
        return loss, aux

    (loss, aux), grads = jax.value_and_grad(pure, has_aux=True)([v.value for v in variables])
    return loss, aux, grads


# Keras' own SGD step (no fused kernel used here).
nesterov_momentum_update = None

_warned = False


def enable_determinism():
    # XLA's CPU kernels are deterministic. On a GPU, reductions and convolutions may not be unless XLA is told so
    # before JAX starts, which only the process environment can do.
    global _warned
    flag = "--xla_gpu_deterministic_ops=true"
    if not _warned and flag not in os.environ.get("XLA_FLAGS", "") and jax.default_backend() == "gpu":
        warnings.warn(f"JAX on a GPU: set XLA_FLAGS={flag} before starting Python for run-to-run identical results",
                      stacklevel=3)
        _warned = True
