"""The backend-specific pieces of enaslite, behind one interface; the module is chosen by `keras.backend.backend()`.

Everything else in the package is written in `keras.ops`. What cannot be, lives in one small module per backend
(`tensorflow.py`, `jax.py`, `torch.py`), each defining the same functions:

- `switch(index, branches, operands, state=())`: `keras.ops.switch` whose branches may update the Keras variables
  in `state` (the BatchNorm moving statistics of a supernet's per-layer op switch). Only the selected branch's
  updates take effect; every other variable keeps its exact value. The index stays a tensor: every branch is traced
  once, and a new architecture every step reuses one compiled train step.
- `batch_stat_bn(x, gamma, beta, epsilon)`: NHWC batch normalisation by the batch's own statistics (fused on TF).
- `function(fn, variables)`: `fn` compiled; `fn` may read and update the Keras `variables` (the controller's and
  its optimizer's), and the updates land in them when the compiled call returns.
- `value_and_grad(loss_fn, variables)`: `(loss, aux, grads)` of `loss_fn() -> (loss, aux)` with respect to
  `variables`; a variable the loss does not use gets a zero gradient. Called inside `function`.
- `global_norm(tensors)`: the l2 norm of all of them together.
- `enable_determinism()`: the backend's switches for run-to-run identical kernels (see `enaslite.seeding`).
- `nesterov_momentum_update(variable, accumulator, gradient, learning_rate, momentum)`: one step of Keras' SGD with
  Nesterov momentum, bit for bit, in fewer graph ops (a fused kernel); None where Keras' own step is used.
- `clear_session()`: `keras.backend.clear_session()`, and on TensorFlow the traced train steps it leaves alive
  (see `tensorflow.clear_session`); runners call it between jobs.
- `JIT_COMPILE`: the `jit_compile` that `Model.compile` gets for the fixed child models (retrain, bench).
- `SEED_BOUND`: seeds of a `keras.random.SeedGenerator` must be below it (torch keeps the state in int32).

`NAME` is the backend's name, as `keras.backend.backend()` gives it.
"""

from __future__ import annotations

import importlib

import keras

NAME = keras.backend.backend()
_MODULES = ("tensorflow", "jax", "torch")
if NAME not in _MODULES:
    raise ImportError(f"argument `KERAS_BACKEND`: expected one of {list(_MODULES)}, received {NAME!r}")
_impl = importlib.import_module(f"{__name__}.{NAME}")

switch = _impl.switch
batch_stat_bn = _impl.batch_stat_bn
function = _impl.function
value_and_grad = _impl.value_and_grad
global_norm = _impl.global_norm
enable_determinism = _impl.enable_determinism
nesterov_momentum_update = _impl.nesterov_momentum_update
clear_session = _impl.clear_session
JIT_COMPILE = _impl.JIT_COMPILE
SEED_BOUND = _impl.SEED_BOUND

__all__ = ["NAME", "switch", "batch_stat_bn", "function", "value_and_grad", "global_norm", "enable_determinism",
           "nesterov_momentum_update", "clear_session", "JIT_COMPILE", "SEED_BOUND"]
