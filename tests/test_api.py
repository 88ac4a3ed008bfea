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


def test_search_then_retrain_on_a_new_dataset_through_the_public_api(tmp_path):
    """A dataset enaslite never saw (4 classes of 16x16x3 noise) goes through search, sample and retrain with the
    public names only; a refused retrain (another dataset) leaves the run dir byte-identical."""
    import json

    import numpy as np
    from test_runs import snapshot

    import enaslite
    from enaslite import Dataset, MacroArc, preset, retrain, search

    rng = np.random.default_rng(0)

    def data(classes):
        return Dataset.from_arrays(rng.integers(0, 255, (160, 16, 16, 3), dtype=np.uint8),
                                   rng.integers(0, classes, 160), rng.integers(0, 255, (48, 16, 16, 3), dtype=np.uint8),
                                   rng.integers(0, classes, 48), valid_size=32, name=f"noise{classes}",
                                   num_classes=classes)

    four = data(4)
    config = preset("smoke", **{"search.epochs": 1, "final.epochs": 1})
    search(config, tmp_path / "search", dataset=four, verbose=0)
    logged = [json.loads(line) for line in (tmp_path / "search" / "samples.jsonl").read_text().splitlines()]
    best = MacroArc.from_string(max(logged, key=lambda s: s["valid_acc"])["arc"])
    acc = retrain(best, config, tmp_path / "retrain", dataset=four, verbose=0)
    assert 0.0 <= acc <= 1.0
    assert enaslite.sample_from_run(tmp_path / "search", 1, n=2, dataset=four)[0]["weights"].startswith("shared weights of epoch 1")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"was made with dataset noise4 \(4 classes.*received dataset noise3 "
                                         r"\(3 classes"):
        retrain(best, config, tmp_path / "retrain", dataset=data(3), verbose=0)
    assert snapshot(tmp_path) == before
