"""Helpers shared by the macro and micro supernet tests (not a test module)."""

import keras
import numpy as np

NUM_CLASSES = 4


def counting(cls):
    """A subclass of supernet `cls` that records every Python-level `call`; inside tf.function that happens only
    when tracing, so `len(traces)` counts traces."""

    class Counting(cls):
        traces = []

        def call(self, inputs, training=None):
            Counting.traces.append(bool(training))
            return super().call(inputs, training=training)

    Counting.__name__ = f"Counting{cls.__name__}"
    return Counting


class NewArcEachBatch(keras.utils.PyDataset):
    """A tiny easy problem (class k brightens image quadrant k) with a fresh arc per batch from `sample_arc(rng)`."""

    def __init__(self, sample_arc, steps, shape=(8, 8, 1), batch=16, seed=0):
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.sample_arc, self.steps, self.shape, self.batch = sample_arc, steps, shape, batch
        self.arcs = []

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        y = self.rng.integers(0, NUM_CLASSES, self.batch)
        x = 0.3 * self.rng.standard_normal((self.batch,) + self.shape)
        h, w = self.shape[0] // 2, self.shape[1] // 2
        for k, label in enumerate(y):
            r, c = divmod(int(label), 2)
            x[k, r * h:(r + 1) * h, c * w:(c + 1) * w] += 1.0
        arc = self.sample_arc(self.rng)
        self.arcs.append(arc)
        return (x.astype("float32"), arc[None, :]), y


def compile_sgd(model):
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
