"""enaslite: ENAS (Pham et al. 2018) on Keras 3, with the analyses of a 2019 thesis on ENAS and beyond.

Public names are imported lazily, so that `import enaslite.macro_arc` (pure Python/numpy) does not pull in Keras or
TensorFlow.
"""

import importlib

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
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'enaslite' has no attribute {name!r}")


def __dir__():
    return __all__
