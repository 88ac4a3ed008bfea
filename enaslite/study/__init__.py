"""The study layer: which runs an experiment needs, which are done, running the rest, and reading the results.

    from enaslite.study import LocalRunner, load, plan, plan_until_done
    experiment = functools.partial(plan.learning_curve_jobs, seeds=[0], **plan.scale_overrides("cpu", "macro"))
    jobs = plan_until_done(experiment, LocalRunner(), "runs")
    results = load(jobs, "runs")            # DataFrames: searches, samples, retrains, finals, scores

- `jobs`: `Job`, one run as data; `key()` hashes what changes its result, `run_dir(root)` is where it lives.
- `plan`: one pure function per experiment (parameters and finished runs in, jobs out) and `plan_until_done`.
- `runner`: `execute` (one job, holding its run directory's `lock`) and `LocalRunner` (in-process, one at a time);
  `ray_runner.RayRunner` has the same `run` and runs the jobs as Ray tasks, several at a time.
- `results`: `load`, the DataFrames the notebooks and the analysis read.

Importing this package does not import Keras or Ray; running a job does.
"""

from enaslite.study import plan
from enaslite.study.jobs import Job
from enaslite.study.plan import plan_until_done, scale_overrides
from enaslite.study.ray_runner import RayRunner
from enaslite.study.results import Results, load
from enaslite.study.runner import LocalRunner, Runner, execute

__all__ = ["Job", "LocalRunner", "RayRunner", "Results", "Runner", "execute", "load", "plan", "plan_until_done",
           "scale_overrides"]
