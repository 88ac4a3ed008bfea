"""Writes the study's timing table: each finished run under a runs dir, when it finished, and the machine's load
while it ran (`enaslite.study.timing`). Run it on the machine that made the runs, where the finished.json files still
have their modification times, with the load log kept beside the study:

    while true; do echo "$(date -u +%FT%T) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done >> logs/load.log &
    python scripts/study_timing.py --runs-dir runs --load-log logs/load.log   # writes runs/study_timing.csv

The book's reproducibility appendix reads the table (`experiments.alone_cost`).
"""

import argparse
import shutil
from pathlib import Path

from enaslite.study import experiments, timing


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--load-log", type=Path, default=Path("logs/load.log"))
    args = parser.parse_args(argv)
    out = timing.write_timing(args.runs_dir, args.load_log, args.runs_dir / experiments.TIMING)
    # The raw log goes beside the table, so that every load in it can be checked.
    shutil.copyfile(args.load_log, args.runs_dir / "machine_load.log")
    print(f"wrote {out} and {args.runs_dir / 'machine_load.log'}")


if __name__ == "__main__":
    main()
