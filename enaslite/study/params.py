"""The papermill parameters every book notebook takes, checked in its first cell before any compute.

A notebook's parameters cell sets `scale`, `space`, `dataset`, `preset`, `epochs`, `seeds` and `runs_dir` (and any
of its own); `check(...)` turns them into `Params` or fails with one message naming the parameter, what was expected
and what was received, e.g. ``argument `epochs`: expected None or an int >= 1, received 'abc'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from enaslite.config import DATASET_NAMES, PRESETS
from enaslite.study.jobs import arg_error, is_int
from enaslite.study.plan import SCALES

SPACES = ("macro", "micro", "both")


@dataclass(frozen=True)
class Params:
    """Checked notebook parameters.

    Attributes:
        scale: a key of `plan.SCALES` (`smoke`, `cpu`, `thesis`): which presets and overrides a space gets.
        spaces: the spaces to run, from `space` (`macro`, `micro` or `both`).
        dataset: None = the preset's dataset.
        preset: None = the scale's preset for each space; a name overrides it (then `space` must be one space).
        epochs: search epochs; None = the preset's.
        seeds: search seeds.
        runs_dir: where run directories live (finished ones are reused, missing ones are computed).
    """

    scale: str
    spaces: tuple
    dataset: str | None
    preset: str | None
    epochs: int | None
    seeds: tuple
    runs_dir: Path

    def plan_kwargs(self, space: str) -> dict:
        """Keyword arguments of a `plan` function for `space`: the scale's preset and overrides, then ours."""
        scale = SCALES[self.scale]
        out = {"space": space, "preset": self.preset or scale["presets"][space],
               "overrides": dict(scale["overrides"]),
               "epochs": self.epochs if self.epochs is not None else scale["epochs"]}
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out


def check(*, scale="cpu", space="both", dataset=None, preset=None, epochs=None, seeds=(0, 1, 2),
          runs_dir="../runs") -> Params:
    """Validates a notebook's parameters (see the module docstring) and returns them as `Params`."""
    if scale not in SCALES:
        raise arg_error("scale", f"one of {sorted(SCALES)}", scale)
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
    if not isinstance(runs_dir, (str, Path)) or (Path(runs_dir).exists() and not Path(runs_dir).is_dir()):
        raise arg_error("runs_dir", "a directory path", runs_dir)
    spaces = ("macro", "micro") if space == "both" else (space,)
    return Params(scale, spaces, dataset, preset, epochs, tuple(seeds), Path(runs_dir))
