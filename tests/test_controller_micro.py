"""Tests of the micro controller (enaslite/controller_micro.py)."""

import numpy as np
import pytest

from enaslite.config import ChildConfig, ControllerConfig
from enaslite.controller_micro import MicroController
from enaslite.micro_arc import MicroArc


def cell_ops(arcs, cell):
    return np.concatenate([np.asarray(getattr(a, cell)).reshape(-1, 4)[:, [1, 3]].ravel() for a in arcs])


def numpy_log_prob(c, arc):
    """Spec 4.3 step by step for one arc, in float64 numpy: the reference for the vectorised rollout."""
    w_lstm, w1, w2, v = c.w_lstm.numpy(), c.w_attn_1.numpy(), c.w_attn_2.numpy(), c.v_attn.numpy()[:, 0]
    g_emb, w_emb, w_soft, b_soft = c.g_emb.numpy()[0], c.w_emb.numpy(), c.w_soft.numpy(), c.b_soft.numpy()[0]

    def lstm(x, cc, h):
        i, f, o, g = np.split(np.concatenate([x, h]) @ w_lstm, 4)
        cc = np.tanh(g) / (1 + np.exp(-i)) + cc / (1 + np.exp(-f))
        return cc, np.tanh(cc) / (1 + np.exp(-o))

    def log_softmax(z):
        return z - np.log(np.exp(z).sum())

    cc = h = np.zeros(c.lstm_size)
    total = 0.0
    for cell, bias in ((arc.normal, np.array([0.25, 0.25, -0.25, -0.25, -0.25])), (arc.reduce, 0.0)):
        x, values, keys = g_emb, [], []
        for _ in range(2):
            cc, h = lstm(x, cc, h)
            values.append(np.zeros(c.lstm_size))
            keys.append(h @ w1)
        for node in range(c.num_nodes):
            index1, op1, index2, op2 = cell[4 * node:4 * node + 4]
            for index in (index1, index2):
                cc, h = lstm(x, cc, h)
                total += log_softmax(1.1 * np.tanh(np.tanh(np.stack(keys) + h @ w2) @ v))[index]
                x = values[index]
            for op in (op1, op2):
                cc, h = lstm(x, cc, h)
                total += log_softmax(1.1 / 2.5 * np.tanh(h @ w_soft + b_soft) + bias)[op]
                x = w_emb[op]
            cc, h = lstm(x, cc, h)
            values.append(h)
            keys.append(h @ w1)
            x = g_emb
    return total


def test_log_prob_matches_step_by_step_numpy_reference():
    """The batched rollout equals a per-arc numpy transcription of spec 4.3 (order, anchors, state carry-over)."""
    c = MicroController(2, lstm_size=16, seed=8)
    for v in c.trainable_variables:  # larger weights than U(−0.1, 0.1) make every term matter
        v.assign(np.random.default_rng(0).uniform(-1, 1, v.shape).astype("float32"))
    arcs = c.sample(4).arcs
    np.testing.assert_allclose(c.log_prob(arcs)[0], [numpy_log_prob(c, a) for a in arcs], atol=1e-4)


def test_samples_are_valid_arcs_within_num_ops():
    """Sampled arcs are MicroArcs with B nodes per cell, op ids < num_ops and input indices < node index."""
    c = MicroController(3, num_ops=3, lstm_size=16)
    arcs = c.sample(30).arcs
    assert all(isinstance(a, MicroArc) and a.num_nodes == 3 for a in arcs)
    assert set(cell_ops(arcs, "normal")) | set(cell_ops(arcs, "reduce")) == {0, 1, 2}
    for a in arcs:
        for cell in (a.normal, a.reduce):
            nodes = np.asarray(cell).reshape(-1, 4)
            assert np.all(nodes[:, [0, 2]] < np.arange(2, 5)[:, None])


def test_sampled_log_prob_equals_teacher_forced():
    """Log-probs and entropies recorded while sampling equal their teacher-forced recomputation."""
    c = MicroController(2, lstm_size=16, seed=2)
    s = c.sample(20)
    assert s.skip_rates is None
    log_probs, entropies = c.log_prob(s.arcs)
    np.testing.assert_allclose(log_probs, s.log_probs, atol=1e-5)
    np.testing.assert_allclose(entropies, s.entropies, atol=1e-5)


def test_same_seed_same_samples():
    """Two controllers with the same seed sample the same arcs; another seed samples different ones."""
    a, b, other = (MicroController(1, lstm_size=16, seed=s) for s in (5, 5, 6))
    arcs = a.sample(10).arcs
    assert arcs == b.sample(10).arcs
    assert arcs != other.sample(10).arcs


def test_zero_weight_policy_gives_exact_op_biases_and_full_entropy():
    """With all weights but b_soft zeroed: uniform indices, op logits 0.44·tanh(b_soft) (+ const bias if normal)."""
    c = MicroController(2, lstm_size=8)
    np.testing.assert_array_equal(c.b_soft.numpy(), [[10, 10, 0, 0, 0]])
    for v in c.trainable_variables:
        if v is not c.b_soft:
            v.assign(np.zeros(v.shape, "float32"))
    base = 1.1 / 2.5 * np.tanh([10.0, 10, 0, 0, 0])
    normal = base + [0.25, 0.25, -0.25, -0.25, -0.25]
    normal, reduce = (z - np.log(np.exp(z).sum()) for z in (normal, base))  # log-softmax
    arc = MicroArc((0, 0, 1, 4, 2, 1, 0, 3), (1, 2, 1, 4, 0, 3, 2, 1))
    log_prob, entropy = c.log_prob([arc])
    index_terms = 2 * (np.log(2) + np.log(3))  # node 2 picks among 2 inputs, node 3 among 3, twice each
    want_lp = -2 * index_terms + normal[[0, 4, 1, 3]].sum() + reduce[[2, 4, 3, 1]].sum()
    want_ent = 2 * index_terms - 4 * (np.exp(normal) * normal).sum() - 4 * (np.exp(reduce) * reduce).sum()
    assert log_prob[0] == pytest.approx(want_lp, abs=1e-5)
    assert entropy[0] == pytest.approx(want_ent, abs=1e-5)


def test_initial_policy_favours_separable_convs_more_in_normal_cell():
    """The b_soft init and the normal-only constant bias give P(op in {0, 1}) ≈ 0.63 (normal), 0.51 (reduce)."""
    arcs = MicroController(2, lstm_size=16, seed=1).sample(1500).arcs
    assert np.isin(cell_ops(arcs, "normal"), [0, 1]).mean() == pytest.approx(0.63, abs=0.03)
    assert np.isin(cell_ops(arcs, "reduce"), [0, 1]).mean() == pytest.approx(0.51, abs=0.03)


def test_reduction_cell_continues_from_normal_cell_state():
    """The reduction cell's log-prob depends on the normal cell sampled before it (shared LSTM state)."""
    c = MicroController(2, lstm_size=16, seed=4)
    n1, n2 = (0, 0, 1, 4, 2, 1, 0, 3), (1, 3, 0, 2, 1, 4, 2, 0)
    r1, r2 = (1, 2, 1, 4, 0, 3, 2, 1), (0, 1, 0, 1, 1, 0, 0, 0)
    lp = c.log_prob([MicroArc(n, r) for n in (n1, n2) for r in (r1, r2)])[0]
    assert abs((lp[0] - lp[1]) - (lp[2] - lp[3])) > 1e-4


def test_reinforce_learns_toy_reward():
    """Rewarding the fraction of ops equal to 0 raises that fraction clearly within 50 updates."""
    c = MicroController(1, lstm_size=32, tanh_constant=2.5, op_tanh_reduce=1.0, lr=0.02, seed=0)
    # b_soft starts at 10 for ops 0 and 1, deep in the tanh's flat part, so op 0 vs op 1 barely moves at first;
    # zero it so that the test exercises the learning machinery, not that (reference) saturation.
    c.b_soft.assign(np.zeros((1, 5), "float32"))

    def reward(arcs):
        return np.array([np.mean(np.concatenate([cell_ops([a], "normal"), cell_ops([a], "reduce")]) == 0)
                         for a in arcs])

    before = reward(c.sample(500).arcs).mean()
    for _ in range(50):
        arcs = c.sample(10).arcs
        c.update(arcs, reward(arcs))
    after = reward(c.sample(500).arcs).mean()
    assert before < 0.3 and after > before + 0.3


def test_from_config_uses_child_cells_and_branches():
    """`from_config` takes B from num_cells and num_ops from num_branches (None → 5)."""
    cfg = ControllerConfig(lstm_size=12, tanh_constant=1.1, op_tanh_reduce=2.0, lr=0.0035)
    c = MicroController.from_config(cfg, ChildConfig(num_cells=3, num_branches=4), seed=9)
    assert (c.num_nodes, c.num_ops, c.lstm_size, c.op_tanh_reduce, c.lr, c.seed) == (3, 4, 12, 2.0, 0.0035, 9)
    np.testing.assert_array_equal(c.b_soft.numpy(), [[10, 10, 0, 0]])
    assert MicroController.from_config(cfg, ChildConfig(num_cells=2), seed=0).num_ops == 5


def test_log_prob_rejects_foreign_arcs():
    """`log_prob` refuses arcs with another node count or op ids beyond num_ops, naming the arc."""
    c = MicroController(2, num_ops=3, lstm_size=8)
    with pytest.raises(ValueError, match=r"argument `arcs\[0\]`: expected 2 nodes per cell"):
        c.log_prob([MicroArc((0, 0, 1, 1), (0, 0, 1, 1))])
    with pytest.raises(ValueError, match=r"argument `arcs\[0\]`: expected op ids < num_ops=3"):
        c.log_prob([MicroArc((0, 0, 1, 4, 2, 1, 0, 0), (0, 0, 1, 1, 0, 0, 1, 1))])


@pytest.mark.parametrize("args, kwargs, match", [
    ((0,), {}, "argument `num_nodes`"),
    ((5, 6), {}, "argument `num_ops`"),
    ((5, 0), {}, "argument `num_ops`"),
    ((5,), {"op_tanh_reduce": 0}, "argument `op_tanh_reduce`"),
    ((5,), {"tanh_constant": "big"}, "argument `tanh_constant`"),
])
def test_bad_arguments_raise(args, kwargs, match):
    """Invalid micro constructor arguments raise a ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        MicroController(*args, **kwargs)
