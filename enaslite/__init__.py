"""enaslite: ENAS (Pham et al. 2018) on Keras 3, with the analyses of a 2019 thesis on ENAS and beyond.

Public names are imported lazily, so that `import enaslite.macro_arc` (pure Python/numpy) does not pull in Keras or
TensorFlow.

`enaslite.search` and `enaslite.retrain` are the functions, not the submodules of the same names, whatever was
imported first; the submodules stay importable (`from enaslite.search import Policy`, `sys.modules`).
"""

import importlib
import sys
import types

__version__ = "0.1.0"

_EXPORTS = {
    "MacroArc": "enaslite.macro_arc",
    "MicroArc": "enaslite.micro_arc",
    "Config": "enaslite.config",
    "DataConfig": "enaslite.config",
    "ChildConfig": "enaslite.config",
    "ControllerConfig": "enaslite.config",
    "preset": "enaslite.config",
    "PRESETS": "enaslite.config",
    "Dataset": "enaslite.data",
    "load_dataset": "enaslite.data",
    "build_child": "enaslite.child",
    "retrain": "enaslite.retrain",
    "MacroSupernet": "enaslite.supernet_macro",
    "MicroSupernet": "enaslite.supernet_micro",
    "MacroController": "enaslite.controller_macro",
    "MicroController": "enaslite.controller_micro",
    "search": "enaslite.search",
    "sample_from_run": "enaslite.sample",
    "train_epoch": "enaslite.loop",
    "seed_everything": "enaslite.seeding",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        obj = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = obj  # later lookups skip __getattr__
        return obj
    raise AttributeError(f"module 'enaslite' has no attribute {name!r}")


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # Importing a submodule binds it as an attribute of the package, after it has run. For `search` and
        # `retrain` that would shadow the public function of the same name, so bind the function instead.
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__ and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


class _NoOptionalJax:
    """Keeps the TensorFlow backend's imports from loading JAX, which they only try for optional features.

    `import keras` on TensorFlow runs `tensorflow.lite.python.util` (TFLite's JAX converter) and
    `keras.src.callbacks.orbax_checkpoint` (an Orbax compatibility patch), and each tries `import jax` and takes an
    ImportError as "no JAX". With JAX installed (for the JAX backend) that cost 0.4 CPU-seconds and 85 MiB of
    resident memory (jaxlib's shared library) in every TensorFlow process, out of 2.8 s and 680 MiB for the
    whole import. This finder answers those two modules' import of JAX with the ImportError they expect; any other
    import of JAX, before or after, is untouched. On the JAX backend, Keras imports JAX itself first, and a module
    already imported is never looked up again.
    """

    OPTIONAL_USERS = ("tensorflow.lite.python.util", "keras.src.callbacks.orbax_checkpoint")

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "jax":
            frame = sys._getframe(1)
            for _ in range(12):  # the importing module's frame sits under a few importlib frames
                if frame is None:
                    break
                if frame.f_globals.get("__name__") in self.OPTIONAL_USERS:
                    raise ModuleNotFoundError("JAX not imported for an optional feature (enaslite)", name="jax")
                frame = frame.f_back
        return None


if "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _NoOptionalJax())
