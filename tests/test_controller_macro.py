"""Tests of the macro controller (enaslite/controller_macro.py)."""

import numpy as np
import pytest

from enaslite.config import ChildConfig, ControllerConfig
from enaslite.controller_macro import MacroController
from enaslite.macro_arc import MacroArc


def zero_weights(c):
    for v in c.trainable_variables:
        v.assign(np.zeros(v.shape, "float32"))
    return c


def numpy_log_prob(c, arc):
    """Spec 4.2 step by step for one arc, in float64 numpy: the reference for the vectorised rollout."""
    w_lstm, w1, w2, v = c.w_lstm.numpy(), c.w_attn_1.numpy(), c.w_attn_2.numpy(), c.v_attn.numpy()[:, 0]
    g_emb, w_emb, w_soft = c.g_emb.numpy()[0], c.w_emb.numpy(), c.w_soft.numpy()

    def lstm(x, cc, h):
        i, f, o, g = np.split(np.concatenate([x, h]) @ w_lstm, 4)
        cc = np.tanh(g) / (1 + np.exp(-i)) + cc / (1 + np.exp(-f))
        return cc, np.tanh(cc) / (1 + np.exp(-o))

    def log_softmax(z):
        return z - np.log(np.exp(z).sum())

    cc = h = np.zeros(c.lstm_size)
    x, anchors, keys, total = g_emb, [], [], 0.0
    for layer, (op, skips) in enumerate(zip(arc.ops, arc.skips)):
        cc, h = lstm(x, cc, h)
        total += log_softmax(1.5 * np.tanh(h @ w_soft))[op]
        cc, h = lstm(w_emb[op], cc, h)
        x = g_emb
        if layer > 0:
            q = np.tanh(np.stack(keys) + h @ w2) @ v
            total += sum(log_softmax(1.5 * np.tanh(np.array([-qj, qj])))[s] for qj, s in zip(q, skips))
            x = np.array(skips) @ np.stack(anchors) / (1 + sum(skips))
        anchors.append(h)
        keys.append(h @ w1)
    return total


def test_log_prob_matches_step_by_step_numpy_reference():
    """The batched rollout equals a per-arc numpy transcription of spec 4.2 (anchors, skip averaging, attention)."""
    c = MacroController(4, lstm_size=16, seed=8)
    for v in c.trainable_variables:  # larger weights than U(−0.1, 0.1) make every term matter
        v.assign(np.random.default_rng(0).uniform(-1, 1, v.shape).astype("float32"))
    arcs = c.sample(4).arcs
    np.testing.assert_allclose(c.log_prob(arcs)[0], [numpy_log_prob(c, a) for a in arcs], atol=1e-4)


def test_samples_are_valid_arcs_within_num_ops():
    """Sampled arcs are MacroArcs with L layers, only op ids < num_ops, and skip_rates matching the arcs."""
    c = MacroController(4, num_ops=2, lstm_size=16)
    s = c.sample(40)
    assert all(isinstance(a, MacroArc) and a.num_layers == 4 for a in s.arcs)
    assert {op for a in s.arcs for op in a.ops} == {0, 1}
    np.testing.assert_allclose(s.skip_rates, [a.skip_rate for a in s.arcs], atol=1e-6)


def test_sampled_log_prob_equals_teacher_forced():
    """Log-probs and entropies recorded while sampling equal their teacher-forced recomputation."""
    c = MacroController(5, lstm_size=16, seed=3)
    s = c.sample(20)
    log_probs, entropies = c.log_prob(s.arcs)
    np.testing.assert_allclose(log_probs, s.log_probs, atol=1e-5)
    np.testing.assert_allclose(entropies, s.entropies, atol=1e-5)


def test_same_seed_same_samples():
    """Two controllers with the same seed sample the same arcs; another seed samples different ones."""
    a, b, other = (MacroController(3, lstm_size=16, seed=s) for s in (7, 7, 8))
    arcs = a.sample(10).arcs
    assert arcs == b.sample(10).arcs
    assert arcs != other.sample(10).arcs


def test_zero_weight_policy_gives_exact_uniform_terms_and_skip_penalty():
    """With all weights 0: uniform choices, sampled-choice entropy terms, and KL = mean_l l·KL(½ ‖ [0.6, 0.4])."""
    L, K = 3, 6
    c = zero_weights(MacroController(L, K, lstm_size=8, skip_weight=0.8))
    arcs = c.sample(4).arcs
    log_probs, entropies = c.log_prob(arcs)
    np.testing.assert_allclose(log_probs, -L * np.log(K) - 3 * np.log(2), atol=1e-5)
    np.testing.assert_allclose(entropies, L * np.log(K) / K + 3 * 0.5 * np.log(2), atol=1e-5)
    kl = 0.5 * np.log(0.5 / 0.6) + 0.5 * np.log(0.5 / 0.4)
    out = c.update(arcs, np.zeros(4))
    assert out["skip_penalty"] == pytest.approx(np.mean([1 * kl, 2 * kl]), rel=1e-5)


def test_single_layer_has_no_skips():
    """L = 1 works: no skip decisions, skip rate 0, zero penalty, and updates still run."""
    c = MacroController(1, lstm_size=8)
    s = c.sample(3)
    assert all(a.skips == ((),) for a in s.arcs) and np.all(s.skip_rates == 0)
    assert c.update(s.arcs, [0.1, 0.2, 0.3])["skip_penalty"] == 0.0


def test_reinforce_learns_toy_reward():
    """Rewarding the fraction of layers that use op 0 raises that fraction clearly within 100 updates."""
    c = MacroController(3, lstm_size=32, lr=0.02, skip_weight=0.0, seed=0)

    def reward(arcs):
        return np.array([np.mean(np.array(a.ops) == 0) for a in arcs])

    before = reward(c.sample(500).arcs).mean()
    for _ in range(100):
        arcs = c.sample(10).arcs
        c.update(arcs, reward(arcs))
    after = reward(c.sample(500).arcs).mean()
    assert before < 0.3 and after > before + 0.3


def test_skip_penalty_pulls_skip_rate_toward_target():
    """With no reward signal, the KL penalty toward a low skip target lowers the skip rate."""
    c = MacroController(3, lstm_size=16, lr=0.05, skip_target=0.1, skip_weight=1.0, entropy_weight=0.0)
    before = c.sample(500).skip_rates.mean()
    penalties = []
    for _ in range(30):
        penalties.append(c.update(c.sample(5).arcs, np.zeros(5))["skip_penalty"])
    after = c.sample(500).skip_rates.mean()
    assert before > 0.4 and after < 0.25
    assert penalties[-1] < penalties[0]


def test_from_config_uses_child_layers_and_branches():
    """`from_config` takes L from the child config and num_ops from num_branches (None → 6)."""
    cfg = ControllerConfig(lstm_size=12, tanh_constant=2.0, skip_target=0.3, lr=0.002)
    c = MacroController.from_config(cfg, ChildConfig(num_layers=4, num_branches=4), seed=5)
    assert (c.num_layers, c.num_ops, c.lstm_size, c.tanh_constant, c.skip_target, c.lr, c.seed) == \
        (4, 4, 12, 2.0, 0.3, 0.002, 5)
    assert MacroController.from_config(cfg, ChildConfig(num_layers=2), seed=0).num_ops == 6
    assert MacroController.from_config(c.get_config()).get_config() == c.get_config()


def test_log_prob_rejects_foreign_arcs():
    """`log_prob` refuses arcs with the wrong layer count or op ids beyond num_ops, naming the arc."""
    c = MacroController(2, num_ops=4, lstm_size=8)
    with pytest.raises(ValueError, match=r"argument `arcs\[0\]`: expected 2 layers"):
        c.log_prob([MacroArc((0, 1, 2), ((), (0,), (0, 1)))])
    with pytest.raises(ValueError, match=r"argument `arcs\[1\]`: expected op ids < num_ops=4"):
        c.log_prob([MacroArc((0, 1), ((), (0,))), MacroArc((5, 1), ((), (1,)))])


@pytest.mark.parametrize("args, kwargs, match", [
    ((0,), {}, "argument `num_layers`"),
    ((3, 7), {}, "argument `num_ops`"),
    ((3,), {"skip_target": 1.0}, "argument `skip_target`"),
    ((3,), {"skip_weight": -0.5}, "argument `skip_weight`"),
])
def test_bad_arguments_raise(args, kwargs, match):
    """Invalid macro constructor arguments raise a ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        MacroController(*args, **kwargs)
