import os

# Quiet TensorFlow and keep the suite on the CPU with the TF backend.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import contextlib

import pytest


@pytest.fixture
def crash_before_checkpoint(monkeypatch):
    """Context manager: inside it, saving the checkpoint of `epoch` raises KeyboardInterrupt, as a kill would
    between a run's per-epoch logs and its checkpoint."""
    from enaslite import runs

    @contextlib.contextmanager
    def crashing(epoch):
        real = runs.RunDir.save_checkpoint

        def save(self, e, *a, **k):
            if e == epoch:
                raise KeyboardInterrupt("killed")
            return real(self, e, *a, **k)

        monkeypatch.setattr(runs.RunDir, "save_checkpoint", save)
        try:
            with pytest.raises(KeyboardInterrupt):
                yield
        finally:
            monkeypatch.setattr(runs.RunDir, "save_checkpoint", real)

    return crashing
