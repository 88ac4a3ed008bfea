"""The micro-space controller (the reference `MicroController`; spec 4.3)."""

from __future__ import annotations

import numpy as np
from keras import ops

from enaslite.controller import Controller, ControllerSample, _check, _is_int, _is_num
from enaslite.micro_arc import OPS, MicroArc

MAX_OPS = len(OPS)  # sep 3x3, sep 5x5, avg pool, max pool, identity


class MicroController(Controller):
    """Samples `MicroArc`s: a normal cell, then a reduction cell that continues from the normal cell's LSTM state.

    Per cell: two LSTM steps on g_emb make the anchors of the two cell inputs (keys W1·h, values zero vectors).
    Then for node i = 2..B+1, in the reference's order: two input indices (LSTM step, attention over anchors
    0..i−1, C·tanh; the next input is the chosen anchor's value), two ops (LSTM step, logits h·W_soft + b_soft,
    (C / op_tanh_reduce)·tanh, plus the constant bias [0.25, 0.25, −0.25, ...] in the normal cell only; the next
    input is the op embedding), and one extra LSTM step whose h is anchor i. The next node starts from g_emb.
    Choices are sampled as idx1, idx2, op1, op2 and stored as [idx1, op1, idx2, op2]. 2 + 5B LSTM steps per cell.

    Entropy (reward bonus): as the reference, the stop-gradient *full* entropy −Σ p log p of every decision's
    softmax, summed over both cells (the macro controller uses sampled-choice terms instead). No skip penalty.

    `b_soft` is learned and starts at [10, 10, 0, 0, 0] (the tanh squashes it to ≈ 0.44 on the two sep convs);
    with `num_ops` < 5 both it and the constant bias keep their first `num_ops` entries.

    Args:
        num_nodes: B, computed nodes per cell (5).
        num_ops: op choices, the first `num_ops` micro ops (5).
        op_tanh_reduce: op logits use C / op_tanh_reduce (2.5, so 0.44 for C = 1.1).
        lstm_size, tanh_constant, temperature, entropy_weight, baseline_decay, lr, seed, name: see `Controller`.

    Call arguments:
        inputs: int tensor `(n, 8B)` of flat arcs (normal cell then reduction cell).
        training: unused.
    """

    def __init__(self, num_nodes=5, num_ops=5, *, lstm_size=64, tanh_constant=1.1, op_tanh_reduce=2.5,
                 temperature=None, entropy_weight=1e-4, baseline_decay=0.99, lr=0.0035, seed=0,
                 name="micro_controller"):
        _check(_is_int(num_nodes) and num_nodes >= 1, "num_nodes", "an int >= 1", num_nodes)
        _check(_is_int(num_ops) and 1 <= num_ops <= MAX_OPS, "num_ops", f"an int in [1, {MAX_OPS}]", num_ops)
        _check(_is_num(op_tanh_reduce) and op_tanh_reduce > 0, "op_tanh_reduce", "a number > 0", op_tanh_reduce)
        super().__init__(lstm_size=lstm_size, tanh_constant=tanh_constant, temperature=temperature,
                         entropy_weight=entropy_weight, baseline_decay=baseline_decay, lr=lr, seed=seed, name=name)
        self.num_nodes, self.num_ops, self.op_tanh_reduce = int(num_nodes), int(num_ops), op_tanh_reduce
        h, k = self.lstm_size, self.num_ops
        self.w_emb = self._uniform("w_emb", (k, h))
        self.w_soft = self._uniform("w_soft", (h, k))
        self.b_soft = self._uniform("b_soft", (1, k), values=[[10.0, 10.0, 0.0, 0.0, 0.0][:k]])
        self.normal_bias = np.array([[0.25, 0.25, -0.25, -0.25, -0.25][:k]], np.float32)  # constant, not learned
        self._finish_init()

    @classmethod
    def from_config(cls, config, child_cfg=None, seed=0):
        """From a `ControllerConfig` and the search `ChildConfig` (or, for Keras, from a `get_config` dict)."""
        if isinstance(config, dict):
            return cls(**config)
        return cls(child_cfg.num_cells, child_cfg.num_branches or MAX_OPS, lstm_size=config.lstm_size,
                   tanh_constant=config.tanh_constant, op_tanh_reduce=config.op_tanh_reduce,
                   temperature=config.temperature, entropy_weight=config.entropy_weight,
                   baseline_decay=config.baseline_decay, lr=config.lr, seed=seed)

    def get_config(self):
        return {"num_nodes": self.num_nodes, "num_ops": self.num_ops, "lstm_size": self.lstm_size,
                "tanh_constant": self.tanh_constant, "op_tanh_reduce": self.op_tanh_reduce,
                "temperature": self.temperature, "entropy_weight": self.entropy_weight,
                "baseline_decay": self.baseline_decay, "lr": self.lr, "seed": self.seed, "name": self.name}

    def _rollout(self, n, forced=None):
        state = (self._zeros(n), self._zeros(n))
        columns, log_prob, entropy = [], 0.0, 0.0
        # A tensor, not the ndarray: `tensor + ndarray` fails on torch.
        for cell, bias in enumerate((ops.convert_to_tensor(self.normal_bias), None)):
            state, cols, lp, ent = self._cell(n, state, forced, 4 * self.num_nodes * cell, bias)
            columns += cols
            log_prob, entropy = log_prob + lp, entropy + ent
        zeros = ops.zeros_like(log_prob)
        return {"arcs": ops.stack(columns, axis=1), "log_prob": log_prob, "entropy": entropy,
                "skip_penalty": zeros, "skip_count": zeros}

    def _cell(self, n, state, forced, offset, bias):
        """One cell's 2 + 5B LSTM steps from `state`; → (final state, 4B columns, Σ log p, Σ entropy)."""
        c, h = state
        x = self._tile(self.g_emb, n)
        values, keys = [], []
        for _ in range(2):  # the cell inputs: keys from the LSTM, values zero
            c, h = self._lstm(x, c, h)
            values.append(ops.zeros_like(h))
            keys.append(ops.matmul(h, self.w_attn_1))
        op_tanh = None if self.tanh_constant is None else self.tanh_constant / self.op_tanh_reduce
        columns = [None] * (4 * self.num_nodes)
        log_prob = entropy = 0.0
        for node in range(2, self.num_nodes + 2):
            start = 4 * (node - 2)
            for k in range(4):  # sampling order idx1, idx2, op1, op2 → stored at start + 0, 2, 1, 3
                slot = start + (2 * k if k < 2 else 2 * (k - 2) + 1)
                c, h = self._lstm(x, c, h)
                if k < 2:
                    logits = self._shape_logits(self._attend(ops.stack(keys, axis=1), h), self.tanh_constant)
                else:
                    logits = self._shape_logits(ops.matmul(h, self.w_soft) + self.b_soft, op_tanh)
                    if bias is not None:
                        logits = logits + bias
                choice, lp, log_softmax = self._choose(logits, None if forced is None else forced[:, offset + slot])
                columns[slot] = choice
                log_prob += lp
                entropy += ops.stop_gradient(-ops.sum(ops.exp(log_softmax) * log_softmax, axis=-1))
                if k < 2:
                    x = ops.einsum("bi,bih->bh", ops.one_hot(choice, node), ops.stack(values, axis=1))
                else:
                    x = self._embed(self.w_emb, choice)
            c, h = self._lstm(x, c, h)  # the node's own step: anchor `node`
            values.append(h)
            keys.append(ops.matmul(h, self.w_attn_1))
            x = self._tile(self.g_emb, n)
        return (c, h), columns, log_prob, entropy

    arc_class = MicroArc

    def _size_mismatch(self, arc):
        if arc.num_nodes != self.num_nodes:
            return f"{self.num_nodes} nodes per cell", f"{arc.num_nodes} nodes"
        return None

    def _from_flat(self, row: list) -> MicroArc:
        half = 4 * self.num_nodes  # the normal cell, then the reduction cell
        return MicroArc(tuple(row[:half]), tuple(row[half:]))

    def _ops_of(self, arc) -> np.ndarray:
        flat = np.asarray(arc.to_flat())
        return np.concatenate([flat[1::4], flat[3::4]])

    def _package(self, arcs, out):
        return ControllerSample(arcs, out["log_prob"], out["entropy"], None)
