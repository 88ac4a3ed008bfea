#!/usr/bin/env bash
# Builds the book offline: executes notebooks in place with papermill (from book/, so relative paths in them are
# relative to this folder), then runs Jupyter Book with warnings as errors. The HTML lands in book/_build/html.
#   book/build.sh                 execute the background notebooks (they only call enaslite: seconds), then build
#   book/build.sh NB.ipynb ...    execute these notebooks instead, then build
#   book/build.sh --no-execute    build from the outputs stored in the notebooks
# The experiment notebooks (searches, learning_curve, performance_estimation, transfer) take papermill parameters
# and compute the runs they miss, so they are executed only when named here (with their defaults: scale "auto", runs
# in ../runs) or by their own papermill command, e.g. from book/:
#   papermill transfer.ipynb transfer.ipynb -p scale cpu -y "seeds: [0, 1, 2]"
# otherwise their stored outputs are built. To execute every notebook at one scale into a separate folder, leaving
# book/ as it is: python -m enaslite reproduce --scale smoke|cpu|thesis (HTML in book/_build/reproduce/_build/html).
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = "--no-execute" ]; then
  notebooks=()
elif [ "$#" -gt 0 ]; then
  notebooks=("$@")
else
  notebooks=(enas.ipynb setup.ipynb reproducibility.ipynb)
fi
for nb in "${notebooks[@]+"${notebooks[@]}"}"; do
  echo "executing $nb"
  python -m papermill --no-progress-bar --kernel python3 --cwd . "$nb" "$nb"
done
# A notebook executed with parameters holds papermill's injected cell: hide it (the page states its parameters).
python -c 'import sys; from enaslite.study.reproduce import hide_injected; [hide_injected(p) for p in sys.argv[1:]]' \
  ./*.ipynb
cd ..
jupyter-book build book/ -W
