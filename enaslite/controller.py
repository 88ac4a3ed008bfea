"""The ENAS LSTM controller: pieces shared by the macro and micro policies (spec 4.1).

A controller is a `keras.Model` that owns its variables, its sampling `SeedGenerator`, its Adam optimizer and an
EMA reward baseline. Subclasses write one method, `_rollout(n, forced=None)`, in `keras.ops`: a vectorised pass of
the LSTM over a batch of `n` architectures that either samples every decision or, with `forced` (an int tensor
`(n, T)` of flat arcs), replays given decisions (teacher forcing). Sampling, log-prob recomputation, the `call` and
the REINFORCE update all go through it, so a sampled arc's log-prob is by construction its recomputed one.

The controllers are backend-agnostic: the compiled functions and the gradient come from `enaslite.backend`.

Deviations from the reference code:
- The reference samples one architecture per `sess.run`; here `n` architectures are rolled out at once with a
  batch dimension. Every sample is still independent and follows the same distribution.
- Gradient aggregation: `SyncReplicasOptimizer` (1 replica, `num_aggregate` to aggregate) is replaced by `update`
  on a group, which averages the per-sample losses and takes one Adam step (the same average of gradients).
- The optimizer moments and the sampling generator state are saved with the weights, so a restored controller
  continues exactly (the reference checkpoint also held the Adam slots).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import keras
import numpy as np
from keras import ops

from enaslite import backend

_SEED_KEY = "seed_generator_state"


@dataclasses.dataclass(frozen=True)
class ControllerSample:
    """A batch of sampled architectures.

    Attributes:
        arcs: `n` `MacroArc`s or `MicroArc`s.
        log_probs: `(n,)` float, Σ log p over every decision of each arc, so <= 0. (The reference code stores the
            opposite sign, the cross-entropy −log p.)
        entropies: `(n,)` float, the summed entropy terms that the reward receives (see the subclass docstring).
        skip_rates: `(n,)` float, macro only: skips / (L(L−1)/2) per arc (0 when L = 1); None for micro.
    """

    arcs: list
    log_probs: np.ndarray
    entropies: np.ndarray
    skip_rates: Optional[np.ndarray] = None


def _check(cond: bool, name: str, expected: str, value) -> None:
    if not cond:
        raise ValueError(f"argument `{name}`: expected {expected}, received {value!r}")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class Controller(keras.Model):
    """Base of `MacroController` and `MicroController`: LSTM, logit shaping, attention and REINFORCE.

    Subclasses create their own variables, then call `_finish_init()`, and implement `_rollout`,
    `_to_flat` (arcs → int array, validated) and `_from_flat` (a row → arc).

    Args:
        lstm_size: LSTM units (64 in the reference code, 100 in the paper).
        tanh_constant: C in C·tanh(logits); None disables the tanh.
        temperature: logits /= temperature before the tanh; None disables it.
        entropy_weight: the reward receives `entropy_weight` · (stop-gradient entropy of the arc).
        baseline_decay: EMA decay of the baseline, b ← b − (1 − decay)(b − R), once per sample.
        lr: Adam learning rate (beta_1 = 0, epsilon = 1e-3 as in the reference).
        seed: seeds the initial weights (U(−0.1, 0.1)) and the sampling generator.
        name: model name, prefix of the variable paths in the weights file.

    Call arguments:
        inputs: int tensor `(n, T)` of flat arcs.
        training: unused.

    Returns from `call`: `(log_probs, entropies)`, each `(n,)`, teacher-forced, with gradients.
    """

    skip_weight = 0.0  # only the macro policy has a skip penalty

    def __init__(self, *, lstm_size, tanh_constant, temperature, entropy_weight, baseline_decay, lr, seed, name):
        _check(_is_int(lstm_size) and lstm_size > 0, "lstm_size", "an int > 0", lstm_size)
        _check(tanh_constant is None or (_is_num(tanh_constant) and tanh_constant > 0), "tanh_constant",
               "None or a number > 0", tanh_constant)
        _check(temperature is None or (_is_num(temperature) and temperature > 0), "temperature",
               "None or a number > 0", temperature)
        _check(_is_num(entropy_weight) and entropy_weight >= 0, "entropy_weight", "a number >= 0", entropy_weight)
        _check(_is_num(baseline_decay) and 0 <= baseline_decay < 1, "baseline_decay", "a number in [0, 1)",
               baseline_decay)
        _check(_is_num(lr) and lr > 0, "lr", "a number > 0", lr)
        _check(_is_int(seed), "seed", "an int", seed)
        _check(isinstance(name, str) and name != "", "name", "a non-empty str", name)
        super().__init__(name=name)
        self.lstm_size, self.tanh_constant, self.temperature = int(lstm_size), tanh_constant, temperature
        self.entropy_weight, self.baseline_decay, self.lr, self.seed = entropy_weight, baseline_decay, lr, seed
        self._init_rng = np.random.default_rng(seed)  # weights only; sampling has its own generator
        h = self.lstm_size
        self.w_lstm = self._uniform("w_lstm", (2 * h, 4 * h))
        self.g_emb = self._uniform("g_emb", (1, h))
        self.w_attn_1 = self._uniform("w_attn_1", (h, h))
        self.w_attn_2 = self._uniform("w_attn_2", (h, h))
        self.v_attn = self._uniform("v_attn", (h, 1))
        self.baseline = self.add_weight(shape=(), initializer="zeros", trainable=False, name="baseline")
        self.seed_generator = keras.random.SeedGenerator(seed, name="sampling_seed")
        self.traces = 0  # counts Python traces of `_rollout`, to check that compiled calls are reused

    # -- construction ------------------------------------------------------------------------------------------
    def _uniform(self, name, shape, values=None):
        if values is None:
            values = self._init_rng.uniform(-0.1, 0.1, size=shape)
        values = np.asarray(values, np.float32)
        return self.add_weight(shape=shape, initializer=lambda shape, dtype=None: values, name=name)

    def _finish_init(self):
        """Builds Adam (so its slots exist before any `load_weights`) and the compiled functions."""
        self.controller_optimizer = keras.optimizers.Adam(self.lr, beta_1=0.0, epsilon=1e-3)
        self.controller_optimizer.build(self.trainable_variables)
        # Shapes are static (a batch size is baked into each trace): the graphs trace and run about twice as fast
        # as with a dynamic batch. One trace per distinct n; a search uses one group size, so it traces once.
        # The functions read and update every variable of the controller and its optimizer (sampling advances the
        # seed generator; an update moves the weights, the baseline and Adam's slots).
        self._state = list(self.variables) + list(self.controller_optimizer.variables)
        self._sample_fns = {}  # one compiled function per n
        self._forced_fn = backend.function(lambda forced: self._traced(forced.shape[0], forced), self._state)
        self._update_fn = backend.function(self._update_graph, self._state)
        self.built = True

    # -- shared pieces of the rollout --------------------------------------------------------------------------
    def _zeros(self, n):
        return ops.zeros((n, self.lstm_size))

    def _tile(self, row, n):
        return self._zeros(n) + row  # (1, H) → (n, H)

    def _lstm(self, x, c, h):
        """The reference's bias-free cell: [x, h] @ W split into the i, f, o, g gates."""
        gates = ops.matmul(ops.concatenate([x, h], axis=-1), self.w_lstm)
        i, f, o, g = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(i) * ops.tanh(g) + ops.sigmoid(f) * c
        return c, ops.sigmoid(o) * ops.tanh(c)

    def _embed(self, table, ids):
        """Rows of `table` for int `ids` `(n,)`, as a one-hot product (dense gradient, fast to trace)."""
        return ops.matmul(ops.one_hot(ids, table.shape[0]), table)

    def _shape_logits(self, logits, tanh_constant):
        if self.temperature is not None:
            logits = logits / self.temperature
        if tanh_constant is not None:
            logits = tanh_constant * ops.tanh(logits)
        return logits

    def _attend(self, keys, h):
        """Scores v·tanh(W1·h_j + W2·h) of the anchors; keys `(n, k, H)` hold the cached W1·h_j. → `(n, k)`."""
        query = ops.tanh(keys + ops.expand_dims(ops.matmul(h, self.w_attn_2), 1))
        return ops.squeeze(ops.matmul(query, self.v_attn), -1)

    def _choose(self, logits, forced=None):
        """Samples (or takes `forced`) one choice per row of `logits` `(..., K)`; → (choice, log p, log-softmax)."""
        log_softmax = ops.log_softmax(logits, axis=-1)
        if forced is None:
            k = logits.shape[-1]
            flat = keras.random.categorical(ops.reshape(logits, (-1, k)), 1, seed=self.seed_generator, dtype="int32")
            forced = ops.reshape(flat, ops.shape(logits)[:-1])
        # A one-hot product rather than a gather: it traces (and differentiates) several times faster.
        log_p = ops.sum(ops.one_hot(forced, logits.shape[-1]) * log_softmax, axis=-1)
        return forced, log_p, log_softmax

    def _traced(self, n, forced=None):
        self.traces += 1  # Python side effect: runs only while tracing
        return self._rollout(n, forced)

    def _rollout(self, n, forced=None):
        """→ dict of `arcs` (n, T) int32, `log_prob`, `entropy`, `skip_penalty`, `skip_count` (each (n,))."""
        raise NotImplementedError

    # -- public API --------------------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        out = self._rollout(inputs.shape[0], ops.cast(inputs, "int32"))
        return out["log_prob"], out["entropy"]

    def sample(self, n: int) -> ControllerSample:
        """Samples `n` architectures in one compiled, vectorised rollout."""
        _check(_is_int(n) and n > 0, "n", "an int > 0", n)
        n = int(n)
        if n not in self._sample_fns:
            self._sample_fns[n] = backend.function(lambda: self._traced(n), self._state)
        out = {k: ops.convert_to_numpy(v) for k, v in self._sample_fns[n]().items()}
        return self._package([self._from_flat(row) for row in out["arcs"].tolist()], out)

    def log_prob(self, arcs):
        """Teacher-forced `(log_probs, entropies)` of `arcs`, each an `(n,)` float array (log_probs <= 0)."""
        out = self._forced_fn(ops.convert_to_tensor(self._to_flat(arcs)))
        return ops.convert_to_numpy(out["log_prob"]), ops.convert_to_numpy(out["entropy"])

    def update(self, arcs, rewards) -> dict:
        """One REINFORCE step on a group of (arc, reward) samples, e.g. `num_aggregate` of them.

        The baseline is updated sample by sample in order; the loss averages, over the group,
        Σ(−log p)·(R_i − b_i) + skip_weight·skip_penalty_i with R_i = reward_i + entropy_weight·entropy_i and b_i
        the baseline just after sample i. One Adam step follows.
        """
        flat = self._to_flat(arcs)
        rewards = np.asarray(rewards, np.float32).reshape(-1)
        _check(rewards.shape[0] == flat.shape[0], "rewards", f"{flat.shape[0]} rewards (one per arc)",
               rewards.shape[0])
        _check(bool(np.all(np.isfinite(rewards))), "rewards", "finite numbers", rewards.tolist())
        out = self._update_fn(ops.convert_to_tensor(flat), ops.convert_to_tensor(rewards))
        return {k: float(v) for k, v in out.items()}

    def policy_summary(self, n: int = 200) -> dict:
        """Cheap statistics of `n` fresh samples: op histogram (fractions), mean entropy, log-prob, skip rate."""
        s = self.sample(n)
        ops_ = np.concatenate([self._ops_of(a) for a in s.arcs])
        hist = np.bincount(ops_, minlength=self.num_ops) / len(ops_)
        summary = {"op_hist": hist.tolist(), "entropy": float(s.entropies.mean()),
                   "log_prob": float(s.log_probs.mean())}
        if s.skip_rates is not None:
            summary["skip_rate"] = float(s.skip_rates.mean())
        return summary

    def _package(self, arcs, out) -> ControllerSample:
        return ControllerSample(arcs, out["log_prob"], out["entropy"])

    # -- arcs <-> int rows (subclasses set `arc_class` and define `_size_mismatch`, `_ops_of`, `_from_flat`) ----
    arc_class = None

    def _to_flat(self, arcs) -> np.ndarray:
        """Validated arcs as one int32 row each, for teacher-forced rollouts."""
        name = self.arc_class.__name__
        _check(isinstance(arcs, (list, tuple)) and len(arcs) > 0, "arcs", f"a non-empty list of {name}", arcs)
        for i, arc in enumerate(arcs):
            _check(isinstance(arc, self.arc_class), f"arcs[{i}]", f"a {name}", arc)
            mismatch = self._size_mismatch(arc)  # (expected, received) or None
            if mismatch is not None:
                _check(False, f"arcs[{i}]", *mismatch)
            _check(int(self._ops_of(arc).max()) < self.num_ops, f"arcs[{i}]", f"op ids < num_ops={self.num_ops}",
                   arc)
        return np.stack([arc.to_flat() for arc in arcs]).astype(np.int32)

    # -- REINFORCE ---------------------------------------------------------------------------------------------
    def _update_graph(self, forced, rewards):
        variables = self.trainable_variables
        decay = self.baseline_decay

        def loss_fn():
            out = self._rollout(forced.shape[0], forced)
            total = rewards + self.entropy_weight * out["entropy"]  # the entropy is already stop-gradient
            # The EMA, sample by sample in order (n is static, so a Python loop unrolls it).
            b, baselines = self.baseline.value, []
            for i in range(total.shape[0]):
                b = b - (1.0 - decay) * (b - total[i])
                baselines.append(b)
            baselines = ops.stack(baselines)
            advantage = ops.stop_gradient(total - baselines)
            per_sample = -out["log_prob"] * advantage + self.skip_weight * out["skip_penalty"]
            return ops.mean(per_sample), (out, baselines, advantage)

        loss, (out, baselines, advantage), grads = backend.value_and_grad(loss_fn, variables)
        self.baseline.assign(baselines[-1])
        self.controller_optimizer.apply_gradients(zip(grads, variables))
        return {"loss": loss, "baseline": self.baseline.value, "reward": ops.mean(rewards),
                "advantage": ops.mean(advantage), "entropy": ops.mean(out["entropy"]),
                "log_prob": ops.mean(out["log_prob"]), "grad_norm": backend.global_norm(grads),
                "skip_penalty": ops.mean(out["skip_penalty"])}

    def load_policy(self, path) -> None:
        """Loads the policy saved in `path` (a `.weights.h5` of `save_weights`), and only the policy.

        The sampling generator keeps this controller's own seed state, so two runs that start from one saved
        policy with different seeds sample different architectures; the baseline (another task's reward scale)
        and Adam's moments start afresh.
        """
        own_state = np.asarray(self.seed_generator.state)
        try:
            self.load_weights(str(path))
        except Exception as e:  # h5py and Keras raise many types; the user needs the file and the reason
            raise ValueError(f"argument `init_controller`: expected controller weights of a {self.name} with "
                             f"lstm_size={self.lstm_size}, received {path} ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''})") from None
        self.seed_generator.state.assign(own_state)
        self.baseline.assign(0.0)
        for var in self.controller_optimizer.variables:
            var.assign(np.zeros(var.shape, var.dtype))

    # -- saving: the sampling generator state travels with the weights ------------------------------------------
    def own_variables(self) -> list:
        """The policy's weights and the baseline, in creation order: what a `.weights.h5` file holds under "vars"
        (Adam's slots go in their own group, the sampling state under its own key) and what `model_arrays`
        writes for the controller. Keras also tracks Adam's slots and the seed generator's state among the model's
        own variables; those are left out, so every version's files have the same layout."""
        skip = {id(v) for v in self.controller_optimizer.variables} | {id(self.seed_generator.state)}
        return [v for v in self._trainable_variables + self._non_trainable_variables if id(v) not in skip]

    def save_own_variables(self, store):
        for i, v in enumerate(self.own_variables()):
            store[f"{i}"] = v
        store[_SEED_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        keys = [k for k in store.keys() if k != _SEED_KEY]
        own = self.own_variables()
        # Files of enaslite 2026-11-29 (commits 4f054b4 to 2437f62) hold every tracked variable under "vars", the
        # policy first, then the seed state and Adam's slots (also in their own group): the policy is read from
        # the first entries either way.
        tracked = len(self._trainable_variables + self._non_trainable_variables)
        if len(keys) not in (len(own), tracked):
            raise ValueError(f"argument `store`: expected {len(own)} controller variables (the policy and the "
                             f"baseline), received {len(keys)}")
        values = [np.asarray(store[f"{i}"]) for i in range(len(own))]
        for v, value in zip(own, values):
            if tuple(v.shape) != value.shape:
                raise ValueError(f"argument `store`: expected shape {tuple(v.shape)} for {v.path}, received "
                                 f"{value.shape}")
        if _SEED_KEY in store.keys():
            self.seed_generator.state.assign(np.asarray(store[_SEED_KEY]))
        for v, value in zip(own, values):
            v.assign(value)
