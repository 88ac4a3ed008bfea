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


def __dir__():
    return __all__
