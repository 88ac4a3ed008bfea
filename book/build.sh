#!/usr/bin/env bash
# Builds the book offline: executes notebooks in place with papermill (from book/, so relative paths in them are
# relative to this folder), then runs Jupyter Book with warnings as errors. The HTML lands in book/_build/html.
#   book/build.sh                 execute the background notebooks (they only call enaslite: seconds), then build
#   book/build.sh NB.ipynb ...    execute these notebooks instead, then build
#   book/build.sh --no-execute    build from the outputs stored in the notebooks
# The experiment notebooks take papermill parameters and may compute missing runs, so they are executed only when
# named here (with their defaults) or by their own papermill command; otherwise their stored outputs are built.
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
cd ..
jupyter-book build book/ -W
