import time

import keras
import numpy as np
import pytest

from enaslite.loop import train_epoch


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _batches(n=12, size=16):
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(size, 6)).astype("float32"), rng.integers(0, 3, size)) for _ in range(n)]


def test_epoch_matches_fit():
    """One pass equals `fit` over the same equal-size batches: same weights after, same epoch-mean loss."""
    batches = _batches()
    a, b = _model(), _model()
    logs = train_epoch(a, batches)
    x = np.concatenate([x for x, _ in batches])
    y = np.concatenate([y for _, y in batches])
    hist = b.fit(x, y, batch_size=16, shuffle=False, epochs=1, verbose=0)
    for va, vb in zip(a.trainable_variables, b.trainable_variables):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), rtol=1e-5, atol=1e-6)
    assert logs["loss"] == pytest.approx(hist.history["loss"][0], rel=1e-5)
    assert logs["accuracy"] == pytest.approx(hist.history["accuracy"][0], rel=1e-5)


def test_no_idle_time_after_the_last_step():
    """A short pass of a tiny model returns within a few times its step time (fit on TF could idle 10 ms to 80 s
    after its last step while tf.data's autotuner waited)."""
    model = _model()
    train_epoch(model, _batches(2))  # trace once
    for _ in range(3):
        t0 = time.perf_counter()
        logs = train_epoch(model, _batches(20))
        wall = time.perf_counter() - t0
        assert wall <= 3 * logs["step_seconds"] + 0.25, (wall, logs["step_seconds"])


def test_hook_and_empty_input():
    """`on_batch_begin` sees every step index; an empty batch list is an error naming the argument."""
    seen = []
    train_epoch(_model(), _batches(4), on_batch_begin=seen.append)
    assert seen == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"argument `batches`: expected at least one batch, received 0"):
        train_epoch(_model(), [])
