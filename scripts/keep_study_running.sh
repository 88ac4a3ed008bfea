#!/bin/bash
# Keeps scripts/run_study.py running until the study is done, and restarts it between jobs when its memory has
# grown: one TensorFlow process running job after job grows (10.5 GB after five cpu-micro searches, 2026-11-29,
# despite clear_session between jobs), so the watchdog restarts it just after a run finished (nothing lost; a
# restarted study skips finished runs and resumes a partial one from its last complete epoch), or at any point past
# a hard limit. Run it from a worktree of the study's pinned revision, e.g.
#   STUDY_CODE=/work/study-code RUNS=/work/main/runs nohup scripts/keep_study_running.sh > logs/watchdog.log 2>&1 &
STUDY_CODE=${STUDY_CODE:-$(cd "$(dirname "$0")/.." && pwd)}
RUNS=${RUNS:-$STUDY_CODE/runs}
LOG=${LOG:-$(dirname "$RUNS")/logs/study.log}
SOFT_KB=${SOFT_KB:-8000000}   # restart after a finished run above this resident size
HARD_KB=${HARD_KB:-15000000}  # restart at once above this one
mkdir -p "$(dirname "$LOG")"
while true; do
  pid=$(pgrep -f "python scripts/run_study.py" | head -1)
  if [ -z "$pid" ]; then
    # Done when the book at cpu scale needs no more runs (the transfer's second wave is planned only once its
    # source searches exist, so the log alone can't tell).
    if (cd "$STUDY_CODE" && PYTHONPATH="$STUDY_CODE" python -m enaslite reproduce --scale cpu --check \
          --runs-dir "$RUNS" > /dev/null 2>&1); then
      echo "$(date -u +%T) study done"; exit 0
    fi
    echo "$(date -u +%T) starting the study"
    (cd "$STUDY_CODE" && PYTHONPATH="$STUDY_CODE" nohup python scripts/run_study.py --runs-dir "$RUNS" >> "$LOG" 2>&1 &)
    sleep 30; continue
  fi
  rss=$(ps -o rss= -p "$pid" | tr -d ' ')
  newest=$(find "$RUNS" -maxdepth 3 -name finished.json -newermt "-40 seconds" | head -1)
  if { [ "${rss:-0}" -gt "$SOFT_KB" ] && [ -n "$newest" ]; } || [ "${rss:-0}" -gt "$HARD_KB" ]; then
    echo "$(date -u +%T) restarting the study: rss ${rss} kB, last finished: ${newest:-none}"
    kill "$pid"; sleep 15; kill -9 "$pid" 2>/dev/null
  fi
  sleep 10
done
