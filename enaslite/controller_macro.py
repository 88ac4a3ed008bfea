"""The macro-space controller (the reference `GeneralController`, whole-channels mode; spec 4.2)."""

from __future__ import annotations

import numpy as np
from keras import ops

from enaslite.controller import Controller, ControllerSample, _check, _is_int, _is_num
from enaslite.macro_arc import OPS, MacroArc


class MacroController(Controller):
    """Samples `MacroArc`s layer by layer: an op, then one skip bit per earlier layer.

    Per layer l: an LSTM step gives op logits h·W_soft → C·tanh, and the op is sampled; its embedding feeds a
    second LSTM step whose h is anchor l. For l > 0 each earlier anchor j is scored by attention, q_j, and skip_j is
    drawn from softmax(C·tanh([−q_j, q_j])). The next input is the mean of the chosen anchors,
    (Σ skip_j·h_j) / (1 + Σ skip_j), or g_emb at layer 0.

    Entropy (reward bonus): as the reference, the stop-gradient term p·(−log p) of the *sampled* choice of every
    decision, summed, not the full entropy of each softmax.
    Skip penalty: per layer l >= 1, KL_l = Σ_j Σ_k p_k log(p_k / t_k) with p = σ([−q′_j, q′_j]) (σ of the shaped
    logits, as the reference, although the sampling probability is σ(2q′)) and t = [1 − skip_target, skip_target];
    the penalty is the mean of KL_l over layers 1..L−1 (0 when L = 1) and enters the loss times `skip_weight`.

    Args:
        num_layers: L, layers of the child network.
        num_ops: op choices, the first `num_ops` of `OPS` (6 in the reference; 4 drops the pools).
        lstm_size, tanh_constant, temperature, entropy_weight, baseline_decay, lr, seed, name: see `Controller`.
        skip_target: target skip probability ρ of the KL penalty (0.4).
        skip_weight: weight of the skip penalty in the loss (0.8; 0 disables it).

    Call arguments:
        inputs: int tensor `(n, L(L+1)/2)` of flat arcs.
        training: unused.
    """

    def __init__(self, num_layers, num_ops=6, *, lstm_size=64, tanh_constant=1.5, temperature=None,
                 entropy_weight=1e-4, skip_target=0.4, skip_weight=0.8, baseline_decay=0.99, lr=1e-3, seed=0,
                 name="macro_controller"):
        _check(_is_int(num_layers) and num_layers >= 1, "num_layers", "an int >= 1", num_layers)
        _check(_is_int(num_ops) and 1 <= num_ops <= len(OPS), "num_ops", f"an int in [1, {len(OPS)}]", num_ops)
        _check(_is_num(skip_target) and 0 < skip_target < 1, "skip_target", "a number in (0, 1)", skip_target)
        _check(_is_num(skip_weight) and skip_weight >= 0, "skip_weight", "a number >= 0", skip_weight)
        super().__init__(lstm_size=lstm_size, tanh_constant=tanh_constant, temperature=temperature,
                         entropy_weight=entropy_weight, baseline_decay=baseline_decay, lr=lr, seed=seed, name=name)
        self.num_layers, self.num_ops = int(num_layers), int(num_ops)
        self.skip_target, self.skip_weight = float(skip_target), float(skip_weight)
        h = self.lstm_size
        self.w_emb = self._uniform("w_emb", (self.num_ops, h))
        self.w_soft = self._uniform("w_soft", (h, self.num_ops))
        self._finish_init()

    @classmethod
    def from_config(cls, config, child_cfg=None, seed=0):
        """From a `ControllerConfig` and the search `ChildConfig` (or, for Keras, from a `get_config` dict)."""
        if isinstance(config, dict):
            return cls(**config)
        return cls(child_cfg.num_layers, child_cfg.num_branches or len(OPS), lstm_size=config.lstm_size,
                   tanh_constant=config.tanh_constant, temperature=config.temperature,
                   entropy_weight=config.entropy_weight, skip_target=config.skip_target,
                   skip_weight=config.skip_weight, baseline_decay=config.baseline_decay, lr=config.lr, seed=seed)

    def get_config(self):
        return {"num_layers": self.num_layers, "num_ops": self.num_ops, "lstm_size": self.lstm_size,
                "tanh_constant": self.tanh_constant, "temperature": self.temperature,
                "entropy_weight": self.entropy_weight, "skip_target": self.skip_target,
                "skip_weight": self.skip_weight, "baseline_decay": self.baseline_decay, "lr": self.lr,
                "seed": self.seed, "name": self.name}

    def _rollout(self, n, forced=None):
        c = h = self._zeros(n)
        x = self._tile(self.g_emb, n)
        target = ops.convert_to_tensor([1.0 - self.skip_target, self.skip_target])
        anchors, keys, columns, penalties = [], [], [], []
        log_prob = entropy = skip_count = 0.0
        pos = 0
        for layer in range(self.num_layers):
            c, h = self._lstm(x, c, h)
            logits = self._shape_logits(ops.matmul(h, self.w_soft), self.tanh_constant)
            op, lp, _ = self._choose(logits, None if forced is None else forced[:, pos])
            columns.append(ops.expand_dims(op, -1))
            log_prob += lp
            entropy += ops.stop_gradient(-lp * ops.exp(lp))
            x = self._embed(self.w_emb, op)
            c, h = self._lstm(x, c, h)
            pos += 1
            if layer > 0:
                q = self._attend(ops.stack(keys, axis=1), h)  # (n, layer)
                logits = self._shape_logits(ops.stack([-q, q], axis=-1), self.tanh_constant)  # (n, layer, 2)
                skip, lp, _ = self._choose(logits, None if forced is None else forced[:, pos:pos + layer])
                columns.append(skip)
                log_prob += ops.sum(lp, axis=-1)
                entropy += ops.stop_gradient(ops.sum(-lp * ops.exp(lp), axis=-1))
                log_p = ops.log_sigmoid(logits)  # finite even when tanh_constant=None lets |q| grow
                penalties.append(ops.sum(ops.exp(log_p) * (log_p - ops.log(target)), axis=(1, 2)))
                s = ops.cast(skip, "float32")
                skip_count += ops.sum(s, axis=-1)
                x = ops.einsum("bl,blh->bh", s, ops.stack(anchors, axis=1)) / (1.0 + ops.sum(s, -1, keepdims=True))
                pos += layer
            else:
                x = self._tile(self.g_emb, n)
            anchors.append(h)
            keys.append(ops.matmul(h, self.w_attn_1))
        zeros = ops.zeros_like(log_prob)
        penalty = ops.mean(ops.stack(penalties, 0), axis=0) if penalties else zeros
        return {"arcs": ops.concatenate(columns, axis=1), "log_prob": log_prob, "entropy": entropy,
                "skip_penalty": penalty, "skip_count": skip_count + zeros}

    def _package(self, arcs, out):
        possible = self.num_layers * (self.num_layers - 1) // 2
        rates = out["skip_count"] / possible if possible else np.zeros_like(out["skip_count"])
        return ControllerSample(arcs, out["log_prob"], out["entropy"], rates)

    arc_class = MacroArc

    def _size_mismatch(self, arc):
        if arc.num_layers != self.num_layers:
            return f"{self.num_layers} layers", f"{arc.num_layers} layers"
        return None

    def _from_flat(self, row: list) -> MacroArc:
        # Slicing directly (rather than `MacroArc.from_flat`) validates once instead of twice: ~2x faster.
        starts = [layer * (layer + 1) // 2 for layer in range(self.num_layers)]
        return MacroArc(tuple(row[s] for s in starts), tuple(tuple(row[s + 1:s + 1 + l]) for l, s in enumerate(starts)))

    def _ops_of(self, arc) -> np.ndarray:
        return np.asarray(arc.ops)
