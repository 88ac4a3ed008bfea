#!/usr/bin/env bash
# Builds the book offline: executes its notebooks in place with papermill (from book/, so relative paths in them
# are relative to this folder), then runs Jupyter Book with warnings as errors. The HTML lands in book/_build/html.
#   book/build.sh                 execute every notebook, then build
#   book/build.sh --no-execute    build from the outputs stored in the notebooks
#   book/build.sh enas.ipynb ...  execute only these notebooks, then build
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = "--no-execute" ]; then
  notebooks=()
elif [ "$#" -gt 0 ]; then
  notebooks=("$@")
else
  notebooks=(*.ipynb)
fi
for nb in "${notebooks[@]}"; do
  echo "executing $nb"
  python -m papermill --no-progress-bar --kernel python3 --cwd . "$nb" "$nb"
done
cd ..
jupyter-book build book/ -W
