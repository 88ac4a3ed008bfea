"""Tables for the book: hyperparameters of the presets, the thesis' own tables beside them, search-space sizes, and
the environment and seeds of the runs.

Every function returns a pandas DataFrame built from the package (`enaslite.config.preset`, the architectures'
`search_space_size`), so a table in the book changes when the code does. The one hand-typed exception is
`THESIS_TABLES`, the thesis' section 5 tables as printed, kept to be shown beside the presets that read them.
Nothing here imports Keras.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from enaslite.config import PRESETS, SPACES, preset
from enaslite.macro_arc import OPS as MACRO_OPS
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import OPS as MICRO_OPS
from enaslite.micro_arc import MicroArc

# The thesis' section 5 tables ("The hyper parameters for our macro/micro search"), row by row as printed.
THESIS_TABLES = {
    "macro": [("batch size", 128), ("number of child layers", 24), ("number of output filters", 96),
              ("child L2 Regularization rate", 0.00025), ("number of child branches", 6), ("cell layers", 5),
              ("child keep probability", 0.90), ("child max learning rate", 0.05),
              ("child minimum learning rate", 0.0005), ("controller entropy weight", 0.0001),
              ("controller training steps", 50), ("controller learning rate", 0.001)],
    "micro": [("batch size", 160), ("number of child layers", 15), ("number of output filters", 36),
              ("child L2 Regularization rate", 0.00025), ("number of child branches", 5), ("cell layers", 5),
              ("child keep probability", 0.80), ("child max learning rate", 0.05),
              ("child minimum learning rate", 0.0005), ("controller entropy weight", 0.0001),
              ("controller training steps", 50), ("controller learning rate", 0.001)],
}
# Values the thesis gives in its text rather than its tables: (hyperparameter, value, where).
THESIS_TEXT = {
    "macro": [("controller LSTM units", 100, "section 4.2"), ("search epochs", 310, "sections 5.1, 6"),
              ("retrain epochs", 310, "table 2 caption")],
    "micro": [("controller LSTM units", 100, "section 4.2"), ("search epochs", 150, "table 2 caption"),
              ("retrain epochs", 310, "table 2 caption")],
}
# Thesis row -> (config section, field) the thesis-* presets read it into.
_THESIS_FIELDS = {
    "batch size": ("child", "batch_size"), "number of child layers": ("child", "num_layers"),
    "number of output filters": ("child", "out_filters"), "child L2 Regularization rate": ("child", "l2"),
    "number of child branches": ("child", "num_branches"), "cell layers": ("child", "num_cells"),
    "child keep probability": ("child", "keep_prob"), "child max learning rate": ("child", "lr_max"),
    "child minimum learning rate": ("child", "lr_min"), "controller entropy weight": ("controller", "entropy_weight"),
    "controller training steps": ("controller", "train_steps"), "controller learning rate": ("controller", "lr"),
    "controller LSTM units": ("controller", "lstm_size"), "search epochs": ("search", "epochs"),
    "retrain epochs": ("final", "epochs"),
}

_CHILD_ROWS = [  # (label, field, spaces it applies to)
    ("layers", "num_layers", SPACES), ("filters", "out_filters", SPACES), ("nodes per cell (B)", "num_cells", ("micro",)),
    ("ops to choose from", "num_branches", SPACES), ("batch size", "batch_size", SPACES), ("epochs", "epochs", SPACES),
    ("steps per epoch", "steps_per_epoch", SPACES), ("max learning rate", "lr_max", SPACES),
    ("min learning rate", "lr_min", SPACES), ("SGDR first period (epochs)", "lr_t0", SPACES),
    ("L2 rate", "l2", SPACES), ("keep prob (dropout)", "keep_prob", SPACES),
    ("drop-path keep prob", "drop_path_keep_prob", ("micro",)), ("aux head weight", "aux_weight", ("micro",)),
]
_CONTROLLER_ROWS = [
    ("LSTM units", "lstm_size", SPACES), ("learning rate", "lr", SPACES), ("train steps per epoch", "train_steps", SPACES),
    ("samples per step", "num_aggregate", SPACES), ("entropy weight", "entropy_weight", SPACES),
    ("tanh constant", "tanh_constant", SPACES), ("skip target", "skip_target", ("macro",)),
    ("skip penalty weight", "skip_weight", ("macro",)), ("baseline decay", "baseline_decay", SPACES),
    ("architectures scored per epoch", "num_logged", SPACES),
]
_SECTION_NAMES = {"search": "search child", "final": "retrain child"}


def presets_of(space: str, include_smoke: bool = False) -> list[str]:
    """Names of the presets whose space is `space`, in `PRESETS` order (`smoke` only when asked for)."""
    _check_space(space)
    return [name for name in PRESETS if preset(name).space == space and (include_smoke or name != "smoke")]


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"argument `space`: expected one of {list(SPACES)}, received {space!r}")


def _presets(space: str, presets) -> list[str]:
    names = presets_of(space) if presets is None else list(presets)
    for name in names:
        if name not in PRESETS:
            raise ValueError(f"argument `presets`: expected names among {sorted(PRESETS)}, received {name!r}")
        if preset(name).space != space:
            raise ValueError(f"argument `presets`: expected {space} presets, received {name!r} "
                             f"({preset(name).space})")
    return names


def num_ops(config, phase: str = "search") -> int:
    """The ops a child chooses from: `num_branches`, or every op of the space when it is None."""
    branches = config.child(phase).num_branches
    return branches or len(MACRO_OPS if config.space == "macro" else MICRO_OPS)


def _child_value(config, phase: str, field: str):
    value = getattr(config.child(phase), field)
    if field == "num_branches":
        return num_ops(config, phase)
    if field == "steps_per_epoch" and value is None:
        return "full pass"
    return "off" if value is None else value


def space_size(config, phase: str = "search", exact: bool = False) -> int:
    """Number of architectures in the space the `phase` child of `config` draws from (the package's formulas)."""
    child = config.child(phase)
    if config.space == "macro":
        return MacroArc.search_space_size(child.num_layers, num_ops(config, phase))
    return MicroArc.search_space_size(child.num_cells, num_ops(config, phase), exact=exact)


def sci(n: int, digits: int = 2) -> str:
    """A large int as "1.6 × 10²⁹" (no math markup needed); ints below 10,000 as they are."""
    if n < 10_000:
        return str(n)
    exponent = len(str(n)) - 1
    mantissa = n / 10 ** exponent if exponent < 300 else int(str(n)[:digits + 1]) / 10 ** digits
    if round(mantissa, digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    sup = str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:.{digits - 1}f} × 10{sup}"


def hyperparameter_table(space: str, presets=None) -> pd.DataFrame:
    """The presets of `space` side by side, one hyperparameter per row.

    Rows are indexed by (section, hyperparameter); sections are data, search child, retrain child, controller and
    search space. Columns are preset names (default: every preset of the space but `smoke`).
    """
    _check_space(space)
    names = _presets(space, presets)
    configs = {name: preset(name) for name in names}
    rows = {("data", "dataset"): {n: c.data.dataset for n, c in configs.items()},
            ("data", "validation images"): {n: c.data.valid_size for n, c in configs.items()}}
    for phase in ("search", "final"):
        for label, field, spaces in _CHILD_ROWS:
            if space in spaces:
                rows[(_SECTION_NAMES[phase], label)] = {n: _child_value(c, phase, field) for n, c in configs.items()}
        if space == "macro" and phase == "search":
            rows[("search child", "reference's inert-op bug")] = {n: c.reference_macro_bug
                                                                  for n, c in configs.items()}
    for label, field, spaces in _CONTROLLER_ROWS:
        if space in spaces:
            rows[("controller", label)] = {n: getattr(c.controller, field) for n, c in configs.items()}
    rows[("search space", "architectures (search child)")] = {n: sci(space_size(c)) for n, c in configs.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")[names]
    table.index = pd.MultiIndex.from_tuples(table.index, names=["section", "hyperparameter"])
    table.columns.name = "preset"
    return table


def thesis_table(space: str) -> pd.DataFrame:
    """The thesis' own values for `space` beside the `thesis-<space>` preset that reads them.

    One row per value the thesis gives: its section 5 table, row by row as printed, then the values it states in
    its text. Columns: `thesis` (as printed), `source`, the preset's value in the search child and in the retrain
    child (controller values in the search column only), and `preset uses it`: where the thesis' value appears
    (search, retrain, both, or no).
    """
    _check_space(space)
    config = preset(f"thesis-{space}")
    records = [(label, value, "section 5 table") for label, value in THESIS_TABLES[space]]
    records += THESIS_TEXT[space]
    out = []
    for label, value, source in records:
        section, field = _THESIS_FIELDS[label]
        if section == "controller":
            search_value, final_value = getattr(config.controller, field), ""
        elif section == "child":
            search_value, final_value = (_child_value(config, p, field) for p in ("search", "final"))
        else:
            search_value = _child_value(config, "search", field) if section == "search" else ""
            final_value = _child_value(config, "final", field) if section == "final" else ""
        hits = [phase for phase, v in (("search", search_value), ("retrain", final_value))
                if v != "" and _same(v, value)]
        uses = "both" if len(hits) == 2 else hits[0] if hits else "no"
        out.append({"hyperparameter": label, "thesis": value, "source": source,
                    f"thesis-{space} search": search_value, f"thesis-{space} retrain": final_value,
                    "preset uses it": uses})
    return pd.DataFrame(out, dtype=object).set_index("hyperparameter")


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-9)


def space_size_table(space: str, presets=None) -> pd.DataFrame:
    """Size of the search space each preset searches and retrains in, as the package computes it.

    Macro: 6^L · 2^(L(L-1)/2) for L layers (thesis 4.4). Micro: the thesis' (5 · B!)^4 formula, and the exact
    count of distinct (normal, reduction) encodings (see `MicroArc.search_space_size`); it does not depend on the
    number of cells stacked.
    """
    _check_space(space)
    out = []
    for name in _presets(space, presets):
        config = preset(name)
        for phase in ("search", "final"):
            child = config.child(phase)
            row = {"preset": name, "phase": "retrain" if phase == "final" else phase}
            if space == "macro":
                row["layers (L)"] = child.num_layers
            else:
                row["nodes per cell (B)"] = child.num_cells
            row["ops"] = num_ops(config, phase)
            size = space_size(config, phase)
            row["architectures"] = sci(size)
            row["log10"] = round(math.log10(size), 1)
            if space == "micro":
                exact = space_size(config, phase, exact=True)
                row["distinct encodings"] = sci(exact)
                row["log10 (encodings)"] = round(math.log10(exact), 1)
            out.append(row)
    return pd.DataFrame(out).set_index(["preset", "phase"])


def space_size_curve(max_layers: int = 24, max_nodes: int = 7) -> pd.DataFrame:
    """log10 of the space size as the network grows: macro for L = 1..max_layers, micro for B = 1..max_nodes.

    Columns: space, size parameter (L or B), formula ("6^L·2^(L(L-1)/2)", "(5·B!)^4", "encodings"), log10.
    """
    out = [{"space": "macro", "size parameter": L, "formula": "6^L · 2^(L(L-1)/2)",
            "log10 architectures": math.log10(MacroArc.search_space_size(L))} for L in range(1, max_layers + 1)]
    for B in range(1, max_nodes + 1):
        out.append({"space": "micro", "size parameter": B, "formula": "(5 · B!)^4 (thesis)",
                    "log10 architectures": math.log10(MicroArc.search_space_size(B))})
        out.append({"space": "micro", "size parameter": B, "formula": "distinct encodings",
                    "log10 architectures": math.log10(MicroArc.search_space_size(B, exact=True))})
    return pd.DataFrame(out)


# -- reproducibility --------------------------------------------------------------------------------------------------

_PACKAGES = ("enaslite", "tensorflow-cpu", "tensorflow", "keras", "numpy", "h5py", "pandas", "scipy", "altair",
             "vl-convert-python", "jupyter-book", "papermill", "ipykernel")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2 ** 20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _graphviz_version() -> str | None:
    dot = shutil.which("dot")
    if dot is None:
        return None
    result = subprocess.run([dot, "-V"], capture_output=True, text=True, timeout=30)
    return (result.stderr or result.stdout).strip().removeprefix("dot - ") or None


def environment_table() -> pd.DataFrame:
    """Where this was run: Python, OS, CPU, cores, memory, and the versions of the packages the book relies on
    (read from package metadata, so TensorFlow is not imported). Index `item`, one column `value`."""
    rows = [("python", platform.python_version()), ("os", platform.platform()), ("cpu", _cpu_model()),
            ("cores available", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                    else os.cpu_count())),
            ("memory", _memory_gib())]
    rows += [(name, v) for name in _PACKAGES if (v := _version(name)) is not None]
    rows.append(("graphviz", _graphviz_version() or "not installed"))
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


RUN_COLUMNS = ["run", "kind", "space", "preset", "controller", "dataset", "seed", "epochs", "finished"]
RUNS_ROOT = Path(__file__).resolve().parents[1] / "runs"
"""The repository's committed run directories (beside the package in a source checkout)."""


def runs_table(root=None) -> pd.DataFrame:
    """The run directories under `root` (default `RUNS_ROOT`, any depth) with the seed and config each was made with.

    A run directory is one holding `config.json` and `run.json`; `epochs` and `finished` come from
    `finished.json` when the run has finished (`epochs` is missing otherwise). Rows are indexed by the run's path
    under `root`, sorted; an absent root gives an empty table.
    """
    root = Path(RUNS_ROOT if root is None else root)
    out = []
    for config_path in sorted(root.glob("**/config.json")) if root.is_dir() else []:
        run_dir = config_path.parent
        if not (run_dir / "run.json").is_file():
            continue
        config = json.loads(config_path.read_text())
        run = json.loads((run_dir / "run.json").read_text())
        finished_path = run_dir / "finished.json"
        finished = json.loads(finished_path.read_text()) if finished_path.is_file() else None
        out.append({"run": run_dir.relative_to(root).as_posix(), "kind": run.get("kind"),
                    "space": config.get("space"), "preset": config.get("preset"),
                    "controller": config.get("controller", {}).get("mode") if run.get("kind") == "search" else "",
                    "dataset": config.get("data", {}).get("dataset"), "seed": config.get("seed"),
                    "epochs": finished.get("epochs") if finished else None, "finished": finished is not None})
    table = pd.DataFrame(out, columns=RUN_COLUMNS).astype({"seed": "Int64", "epochs": "Int64"})
    return table.set_index("run")
