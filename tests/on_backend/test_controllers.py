"""The controllers on this backend: numerics against the numpy references, and a REINFORCE update that is the
formula, learns, and reuses its compiled rollouts (enaslite/controller*.py)."""

import keras
import numpy as np
import pytest
from test_controller_macro import numpy_log_prob as macro_reference
from test_controller_micro import numpy_log_prob as micro_reference

from enaslite.controller_macro import MacroController
from enaslite.controller_micro import MicroController


def _large_weights(c):
    for v in c.trainable_variables:  # larger weights than U(−0.1, 0.1) make every term matter
        v.assign(np.random.default_rng(0).uniform(-1, 1, v.shape).astype("float32"))
    return c


@pytest.mark.parametrize("make, reference", [
    (lambda: MacroController(4, lstm_size=16, seed=8), macro_reference),
    (lambda: MicroController(2, lstm_size=16, seed=8), micro_reference),
], ids=["macro", "micro"])
def test_log_prob_matches_numpy_reference_and_sampling(make, reference):
    """Teacher-forced log-probs equal the step-by-step numpy transcription of the spec, and the log-probs and
    entropies recorded while sampling equal their recomputation."""
    c = _large_weights(make())
    s = c.sample(4)
    log_probs, entropies = c.log_prob(s.arcs)
    np.testing.assert_allclose(log_probs, [reference(c, a) for a in s.arcs], atol=1e-4)
    np.testing.assert_allclose(log_probs, s.log_probs, atol=1e-5)
    np.testing.assert_allclose(entropies, s.entropies, atol=1e-5)


def test_update_is_the_reinforce_formula_and_learns_a_toy_reward():
    """The first update: the baseline is the sequential EMA, the loss the group mean of Σ(−log p)(R_i − b_i), one
    Adam step. Then, rewarding the fraction of layers that use op 0 raises it clearly within 100 updates, and the
    compiled rollouts were traced once per n (sampling 500 and 10, teacher-forcing 10)."""
    c = MacroController(3, lstm_size=32, lr=0.02, skip_weight=0.0, entropy_weight=0.01, baseline_decay=0.9, seed=0)

    def reward(arcs):
        return np.array([np.mean(np.array(a.ops) == 0) for a in arcs])

    before = reward(c.sample(500).arcs).mean()
    arcs = c.sample(10).arcs
    log_probs, entropies = c.log_prob(arcs)
    rewards = reward(arcs)
    b, baselines = 0.0, []
    for r in rewards + 0.01 * entropies:
        b -= 0.1 * (b - r)
        baselines.append(b)
    out = c.update(arcs, rewards)
    assert out["baseline"] == pytest.approx(baselines[-1], abs=1e-6)
    assert float(np.asarray(c.baseline)) == pytest.approx(baselines[-1], abs=1e-6)
    assert out["loss"] == pytest.approx(np.mean(-log_probs * (rewards + 0.01 * entropies - np.array(baselines))),
                                        rel=1e-4)
    assert int(np.asarray(c.controller_optimizer.iterations)) == 1 and out["grad_norm"] > 0
    for _ in range(99):
        arcs = c.sample(10).arcs
        c.update(arcs, reward(arcs))
    if keras.backend.backend() != "torch":  # eager: nothing is traced, every call runs the Python
        assert c.traces == 3
    assert before < 0.3 and reward(c.sample(500).arcs).mean() > before + 0.3
