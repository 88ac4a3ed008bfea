"""Computes the book's cpu-scale study in chapter order, macro before micro, so that each session's work completes
whole chapters; every run is the one the notebooks plan (same functions, same parameters), so the notebooks then
find them all finished. Resumable: rerun it and finished runs are skipped, a partial run continues from its last
complete epoch.

    nohup python scripts/run_study.py > logs/study.log 2>&1 &
    python scripts/run_study.py --only learning_curve:macro     # one step
"""

import argparse
import importlib
import pkgutil

import enaslite
from enaslite.study import experiments, params


def import_everything() -> None:
    """Imports every enaslite module now, so that a long study runs one version of the code even when the source
    files are edited while it runs (a module first imported hours in would otherwise be the edited one)."""
    for info in pkgutil.walk_packages(enaslite.__path__, "enaslite."):
        if info.name == "enaslite.__main__":
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as err:
            # enaslite.backend.jax / .torch need their framework, which a TensorFlow machine may not have; the
            # study runs on the active backend only, so an optional framework that is absent is not an error.
            if not info.name.startswith("enaslite.backend.") or err.name not in ("jax", "torch"):
                raise

STEPS = [
    ("learning_curve", "macro"),
    ("performance_estimation", "macro"),
    ("reference_bug", "macro"),
    ("learning_curve", "micro"),
    ("performance_estimation", "micro"),
    ("transfer", "macro"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=None, metavar="EXPERIMENT:SPACE",
                    help=f"run only these steps (default all, in order: {[f'{e}:{s}' for e, s in STEPS]})")
    ap.add_argument("--runs-dir", default=None, help="default: the repository's runs/")
    args = ap.parse_args()
    import_everything()
    steps = STEPS if args.only is None else [tuple(s.split(":", 1)) for s in args.only]
    for name, space in steps:
        if (name, space) not in STEPS:
            ap.error(f"argument `--only`: expected one of {[f'{e}:{s}' for e, s in STEPS]}, received {name}:{space}")
    for name, space in steps:
        p = params.check(scale="cpu", space=space, runs_dir=args.runs_dir)
        print(f"== {name} {space}", flush=True)
        study = experiments.run(getattr(experiments, name)(p))
        print(study.summary().to_string(), flush=True)


if __name__ == "__main__":
    main()
