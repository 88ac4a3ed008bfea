"""The public names of `enaslite`, checked in fresh interpreters: what resolves depends on what was imported first."""

import subprocess
import sys

import pytest

# After any of these, `search` and `retrain` must be the functions the README documents.
CHECK_FUNCTIONS = """
import sys, types
for name, obj in (("search", search), ("retrain", retrain)):
    assert callable(obj) and not isinstance(obj, types.ModuleType), (name, obj)
    assert (obj.__module__, obj.__name__) == (f"enaslite.{name}", name), (name, obj)
    assert isinstance(sys.modules[f"enaslite.{name}"], types.ModuleType)
import enaslite
assert enaslite.search is search and enaslite.retrain is retrain
"""


def _run(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("imports", [
    "from enaslite import search, retrain",
    "import enaslite.search, enaslite.retrain\nfrom enaslite import search, retrain",
    "import enaslite\nsearch, retrain = enaslite.search, enaslite.retrain",
    "import enaslite.retrain, enaslite.search, enaslite\nsearch, retrain = enaslite.search, enaslite.retrain",
    "from enaslite.search import Policy\nfrom enaslite.retrain import build_final_model\n"
    "from enaslite import search, retrain",
    "from enaslite import search, retrain\nimport enaslite.search, enaslite.retrain\n"
    "from enaslite import search, retrain",
    "import enaslite.cli\nfrom enaslite import retrain, search",
])
def test_search_and_retrain_are_the_functions(imports):
    """`enaslite.search` / `enaslite.retrain` are the functions, not the same-named submodules, in any import order."""
    _run(imports + "\n" + CHECK_FUNCTIONS)


def test_every_public_name_resolves_to_its_object():
    """Every name in `enaslite.__all__` is the object its defining module exports, and `import *` gives them all."""
    _run("""
import importlib, sys
import enaslite
for name in enaslite.__all__:
    obj = getattr(enaslite, name)
    assert obj is getattr(sys.modules[enaslite._EXPORTS[name]], name), name
    assert name == "PRESETS" or obj.__name__ == name, (name, obj)
    assert getattr(enaslite, name) is obj, name  # a second lookup gives the same object
namespace = {}
exec("from enaslite import *", namespace)
assert {n: namespace[n] for n in enaslite.__all__} == {n: getattr(enaslite, n) for n in enaslite.__all__}
""")


def test_submodules_stay_importable():
    """The submodules behind `search` and `retrain` are still reachable by their dotted names."""
    _run("""
import importlib, types
import enaslite
from enaslite.search import search as fn, Policy
assert isinstance(importlib.import_module("enaslite.search"), types.ModuleType)
assert importlib.import_module("enaslite.search").search is fn is enaslite.search
from enaslite.retrain import retrain
assert retrain is enaslite.retrain
""")


def test_light_names_do_not_import_keras():
    """The arc and config names resolve without importing Keras or TensorFlow."""
    _run("""
import sys
from enaslite import MacroArc, MicroArc, Config, preset, PRESETS
import enaslite.macro_arc
assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, sorted(sys.modules)[:5]
""")


def test_unknown_name_raises_attribute_error():
    """An unknown attribute raises AttributeError, and dir() lists the public names."""
    import enaslite
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        enaslite.nope
    assert set(dir(enaslite)) >= set(enaslite.__all__)
