"""The papermill parameters every book notebook takes, checked in its first cell before any compute.

A notebook's parameters cell sets `scale`, `space`, `dataset`, `preset`, `epochs`, `seeds` and `runs_dir` (and any
of its own); `check(...)` turns them into `Params` or fails with one message naming the parameter, what was expected
and what was received, e.g. ``argument `epochs`: expected None or an int >= 1, received 'abc'``.

`scale="auto"` picks `thesis` when a GPU is visible and CIFAR-10 and CIFAR-100 load, else `cpu` (`auto_scale`).
Keras is imported only when the cheap checks (a CUDA device in /dev or /proc, CUDA_VISIBLE_DEVICES) find a GPU.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from enaslite.config import DATASET_NAMES, PRESETS
from enaslite.study.jobs import arg_error, is_int
from enaslite.study.plan import SCALES, overrides_for

SPACES = ("macro", "micro", "both")
AUTO = "auto"
THESIS_DATASETS = ("cifar10", "cifar100")
REPO_RUNS = Path(__file__).resolve().parents[2] / "runs"
"""The repository's run directories (book/../runs in a source checkout), whatever the kernel's working directory."""


@dataclass(frozen=True)
class Params:
    """Checked notebook parameters.

    Attributes:
        scale: a key of `plan.SCALES` (`smoke`, `cpu`, `thesis`): which presets and overrides a space gets
            (`auto` is resolved before it gets here).
        spaces: the spaces to run, from `space` (`macro`, `micro` or `both`).
        dataset: None = the preset's dataset.
        preset: None = the scale's preset for each space; a name overrides it (then `space` must be one space).
        epochs: search epochs; None = the preset's.
        seeds: search seeds.
        runs_dir: where run directories live (finished ones are reused, missing ones are computed); None given to
            `check` is `REPO_RUNS`, the repository's runs/ wherever the notebook runs from.
        scale_reason: how `scale` was chosen: "given", or why `auto` chose it.
    """

    scale: str
    spaces: tuple
    dataset: str | None
    preset: str | None
    epochs: int | None
    seeds: tuple
    runs_dir: Path
    scale_reason: str = ""

    def plan_kwargs(self, space: str) -> dict:
        """Keyword arguments of a `plan` function for `space`: the scale's preset and overrides, then ours."""
        scale = SCALES[self.scale]
        out = {"space": space, "preset": self.preset or scale["presets"][space],
               "overrides": overrides_for(self.scale, space),
               "epochs": self.epochs if self.epochs is not None else scale["epochs"]}
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out


def _cuda_device_present() -> bool:
    """A cheap look for an NVIDIA GPU, without importing any framework: CUDA_VISIBLE_DEVICES hiding all devices,
    else a /dev/nvidia<N> node or a /proc/driver/nvidia/gpus entry."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    dev = Path("/dev")
    if dev.is_dir() and any(re.fullmatch(r"nvidia\d+", p.name) for p in dev.iterdir()):
        return True
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def _backend_sees_gpu() -> bool:
    """Whether Keras' backend can use a GPU (imports Keras and its backend)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax
        return any(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch
        return bool(torch.cuda.is_available())
    return False


def _dataset_loads(name: str) -> str | None:
    """None when `enaslite.data.load_dataset(name)` succeeds, else the reason in one line."""
    from enaslite.data import load_dataset

    try:
        load_dataset(name)
    except Exception as e:  # any failure means: not usable here
        return f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
    return None


def auto_scale() -> tuple[str, str]:
    """(`thesis` or `cpu`, why): `thesis` when a GPU is visible to Keras' backend and CIFAR-10 and CIFAR-100 load."""
    if not _cuda_device_present():
        return "cpu", "auto: no GPU visible"
    if not _backend_sees_gpu():
        return "cpu", "auto: a GPU is installed but Keras' backend does not see it"
    for name in THESIS_DATASETS:
        why = _dataset_loads(name)
        if why is not None:
            return "cpu", f"auto: a GPU is visible but {name} does not load ({why})"
    return "thesis", "auto: a GPU is visible and CIFAR-10 and CIFAR-100 load"


def check(*, scale="cpu", space="both", dataset=None, preset=None, epochs=None, seeds=(0, 1, 2),
          runs_dir="../runs") -> Params:
    """Validates a notebook's parameters (see the module docstring) and returns them as `Params`. Every parameter
    is checked before `scale="auto"` is resolved, since resolving it may load Keras and CIFAR."""
    if scale != AUTO and scale not in SCALES:
        raise arg_error("scale", f"one of {[AUTO] + sorted(SCALES)}", scale)
    if space not in SPACES:
        raise arg_error("space", f"one of {list(SPACES)}", space)
    if preset is not None and preset not in PRESETS:
        raise arg_error("preset", f"None or one of {sorted(PRESETS)}", preset)
    if preset is not None and space == "both":
        raise arg_error("space", "'macro' or 'micro' when a preset is given (a preset has one space)", space)
    if dataset is not None and not (isinstance(dataset, str) and (dataset in DATASET_NAMES
                                                                  or dataset.endswith(".npz"))):
        raise arg_error("dataset", f"None, one of {list(DATASET_NAMES)} or a path to an .npz", dataset)
    if epochs is not None and not (is_int(epochs) and epochs >= 1):
        raise arg_error("epochs", "None or an int >= 1", epochs)
    if not (isinstance(seeds, (list, tuple)) and seeds and all(is_int(s) and s >= 0 for s in seeds)
            and len(set(seeds)) == len(seeds)):
        raise arg_error("seeds", "a non-empty list of distinct ints >= 0", seeds)
    runs_dir = REPO_RUNS if runs_dir is None else runs_dir
    if not isinstance(runs_dir, (str, Path)) or (Path(runs_dir).exists() and not Path(runs_dir).is_dir()):
        raise arg_error("runs_dir", "a directory path (or None: the repository's runs/)", runs_dir)
    spaces = ("macro", "micro") if space == "both" else (space,)
    scale, reason = auto_scale() if scale == AUTO else (scale, "given")
    return Params(scale, spaces, dataset, preset, epochs, tuple(seeds), Path(runs_dir), reason)
