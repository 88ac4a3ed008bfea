"""`RayRunner`: the study's jobs as Ray tasks, on a local Ray instance or a cluster.

    runner = RayRunner()                              # a local instance on this machine's cores
    runner = RayRunner(address="head:6379")           # join a cluster started with `ray start`
    jobs = plan_until_done(experiment, runner, "/shared/runs")

`run(jobs, root)` submits every unfinished job at once, each as one task that calls `execute` in a worker; a job
with an unfinished parent among them waits for the parent's task (Ray passes the parent's result as an argument),
so the jobs of a wave whose parents are finished run in parallel, as far as the cluster's CPUs allow, and children
start as soon as their own parent is done. Results are the same files `LocalRunner` writes, in the same run
directories, so a study may be begun with one runner and continued with the other.

- Workers. Every node needs this package and its requirements at the same version as the driver (one checkout,
  `pip install -e .`), the datasets its jobs load, and the runs dir at the same path.
- Shared storage. Before submitting anything, `check_shared_storage` has one task per node read a token the driver
  wrote into the runs dir and write one back; a node that can't is an error naming it, not a silent second copy of
  the runs. The token stays while `run` runs, and each task checks it again first (a node that joined later).
- Threads. Each task asks Ray for `threads_per_job` CPUs and runs TensorFlow with that many intra- and inter-op
  threads (and OMP_NUM_THREADS), set in the task before TensorFlow starts, so the jobs Ray packs onto a node
  (its CPUs // threads_per_job) don't oversubscribe it. TensorFlow splits some reductions by its intra-op pool
  size, so a run's numbers depend on it: a Ray run with `threads_per_job=n` writes the rows `LocalRunner` writes in
  a process started with ``TF_NUM_INTRAOP_THREADS=n`` (a smoke search's train loss differed in the 8th digit
  between 1 and 2 threads). `LocalRunner` uses TensorFlow's default, the machine's cores, so the default
  `threads_per_job` is the cores of the machine that makes the runner (`local_threads`): the jobs then compute,
  row for row, what an in-process run there computes (one job at a time per node of that size). Fewer threads per
  job run more jobs at once, at the price of numbers that differ from an in-process run's: the difference starts
  in late digits and grows as training goes on (four cpu retrains rerun with one thread each ended 0.3 to 1.0
  points of test accuracy from the committed runs; `runs/bench/parallel-jobs-*.md`). On another Keras backend
  only OMP_NUM_THREADS is set.
- GPUs. `gpus_per_job` (default: 1 when the cluster has GPUs, else 0) is asked of Ray, which sets
  CUDA_VISIBLE_DEVICES for the task; a task given no GPU hides them from TensorFlow.
- Retries. A job whose worker dies (killed, out of memory, its node lost) is retried up to `max_retries` times;
  so is one that failed with an OSError (a shared file system's hiccup). Any other error is the job's own and
  would recur: it is raised at once, naming the job, and the other running jobs are cancelled. A retried or
  cancelled job resumes from its last complete epoch (`search`, `retrain`: rows beyond the checkpoint are dropped,
  none is lost or written twice); a rescore or probe is redone whole.
- Locks. `execute` holds the run directory's lock (`enaslite.study.lock`). A retry takes over the lock of its dead
  attempt (same runner id); a job that another runner is executing fails with `LockHeld`, naming that runner's
  host and pid.

`from_env` builds the runner `runner.default_runner` returns when ``ENASLITE_RUNNER=ray`` (how `reproduce --ray`
hands it to the notebooks). Importing this module does not import Ray.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from pathlib import Path

from enaslite.study.jobs import Job, arg_error, is_int
from enaslite.study.runner import Eta, Runner, _bar, execute, ordered

ADDRESS_ENV = "ENASLITE_RAY_ADDRESS"
THREADS_ENV = "ENASLITE_RAY_THREADS_PER_JOB"
GPUS_ENV = "ENASLITE_RAY_GPUS_PER_JOB"
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
PROBE_PREFIX = ".ray-probe-"
PROBE_TIMEOUT = 300  # seconds for every node to answer the storage probe (a busy node starts a worker first)
CANCEL_WAIT = 30  # seconds a failed run waits for its cancelled tasks to stop (and release their locks)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise RuntimeError("RayRunner needs Ray: pip install 'ray>=2.52' (requirements.txt)") from None
    return ray


# -- the driver -----------------------------------------------------------------------------------------------------

def connect(address: str | None = None, num_cpus: int | None = None) -> str:
    """Starts a local Ray instance (`address` None; `num_cpus` None = this machine's cores) or joins the cluster at
    `address`, unless Ray is already initialized in this process (then that one is used as it is). Returns the
    address of the cluster's GCS, which other processes can join (`reproduce` hands it to its notebooks)."""
    ray = _import_ray()
    if address is not None and num_cpus is not None:
        raise arg_error("num_cpus", "None with an address (a cluster's CPUs are its nodes')", num_cpus)
    if not ray.is_initialized():
        # WARNING: Ray's INFO lines ("Started a local Ray instance") would land in the notebooks' outputs.
        if address is None:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    return ray.get_runtime_context().gcs_address


def cluster_cpus() -> int:
    """The CPUs of the Ray cluster this process is connected to."""
    return int(_import_ray().cluster_resources().get("CPU", 0))


def _alive_nodes(ray) -> list[dict]:
    return [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]


def _node_name(node: dict) -> str:
    return f"{node.get('NodeManagerHostname')} ({node.get('NodeManagerAddress')})"


def _probe(path: str, token: str, reply: str):
    """On one node: reads the driver's token at `path` and writes it back to `reply`. Returns (host, None) or
    (host, why not)."""
    host = socket.gethostname()
    try:
        seen = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        return host, f"could not read {path}: {type(e).__name__}: {e.strerror or e}"
    if seen != token:
        return host, f"read another file at {path} (a different file system mounted there)"
    try:
        Path(reply).write_text(token, encoding="utf-8")
    except OSError as e:
        return host, f"read {path} but could not write beside it: {type(e).__name__}: {e.strerror or e}"
    return host, None


def _storage_error(root, node: str, why: str) -> ValueError:
    return ValueError(f"argument `runs_dir`: expected a directory every Ray worker can see, received {root} "
                      f"(node {node} {why}); put the runs dir on storage shared by every node (NFS) at the same path")


def check_shared_storage(root) -> tuple[Path, str]:
    """Makes sure every alive node with CPUs reads and writes the runs dir `root` the driver sees: writes a token
    file there, has one task per node read it and write one back, checks the replies. Returns (token file, token);
    the file stays for the tasks to check (`run` removes it). Raises ValueError naming the first node that failed."""
    ray = _import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    root = Path(root).absolute()
    root.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    path = root / f"{PROBE_PREFIX}{token}"
    path.write_text(token, encoding="utf-8")
    probe = ray.remote(_probe)
    nodes = _alive_nodes(ray)
    replies = {n["NodeID"]: root / f"{PROBE_PREFIX}{token}.{n['NodeID'][:12]}" for n in nodes}
    try:
        # num_cpus=0: a probe does not wait behind other drivers' jobs for a free CPU.
        refs = [probe.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(str(path), token, str(replies[n["NodeID"]])) for n in nodes]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=PROBE_TIMEOUT)
        for node, ref in zip(nodes, refs):
            if ref not in ready:
                raise _storage_error(root, _node_name(node), f"did not answer the storage probe in {PROBE_TIMEOUT} s")
            host, why = ray.get(ref)
            if why is not None:
                raise _storage_error(root, f"{host} ({node.get('NodeManagerAddress')})", why)
            if not replies[node["NodeID"]].is_file():
                raise _storage_error(root, _node_name(node), f"wrote {replies[node['NodeID']]}, which the driver "
                                                             f"does not see")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        for reply in replies.values():
            reply.unlink(missing_ok=True)
    return path, token


class RayRunner(Runner):
    """Runs jobs as Ray tasks (see the module docstring).

    Args:
        address: None starts a local Ray instance; an address (``head:6379``, ``auto``) joins a running cluster.
            Ray already initialized in this process is used as it is.
        num_cpus: the local instance's CPUs (None: this machine's cores); only without `address`.
        threads_per_job: CPUs each job asks of Ray and TensorFlow threads it runs with; None: `local_threads()`,
            this machine's cores, so that each job computes what `LocalRunner` computes here.
        gpus_per_job: GPUs each job asks of Ray; None: 1 when the cluster has GPUs, else 0.
        max_retries: how many times a job whose worker died (or that raised an OSError) is tried again.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, threads_per_job: int | None = None,
                 gpus_per_job: int | None = None, max_retries: int = 3):
        if address is not None and not (isinstance(address, str) and address.strip()):
            raise arg_error("address", "None (a local Ray instance) or a cluster address such as 'head:6379'",
                            address)
        if num_cpus is not None and not (is_int(num_cpus) and num_cpus >= 1):
            raise arg_error("num_cpus", "None or an int >= 1", num_cpus)
        if address is not None and num_cpus is not None:
            raise arg_error("num_cpus", "None with an address (a cluster's CPUs are its nodes')", num_cpus)
        if threads_per_job is None:
            threads_per_job = local_threads()
        if not (is_int(threads_per_job) and threads_per_job >= 1):
            raise arg_error("threads_per_job", "an int >= 1 or None (this machine's cores)", threads_per_job)
        if gpus_per_job is not None and not (is_int(gpus_per_job) and gpus_per_job >= 0):
            raise arg_error("gpus_per_job", "None or an int >= 0", gpus_per_job)
        if not (is_int(max_retries) and max_retries >= 0):
            raise arg_error("max_retries", "an int >= 0", max_retries)
        self.address, self.num_cpus = address, num_cpus
        self.threads_per_job, self.gpus_per_job, self.max_retries = threads_per_job, gpus_per_job, max_retries

    def run(self, jobs, root, progress: bool = True) -> list[Job]:
        jobs = ordered(jobs)
        root = Path(root).absolute()  # workers have other working directories
        todo = [j for j in jobs if not j.finished(root)]
        if not todo:
            return []
        connect(self.address, self.num_cpus)
        ray = _import_ray()
        gpus = self.gpus_per_job
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
        probe, token = check_shared_storage(root)
        try:
            return self._submit_and_wait(ray, jobs, todo, root, gpus, probe, token, progress)
        finally:
            probe.unlink(missing_ok=True)

    def _submit_and_wait(self, ray, jobs, todo, root: Path, gpus: int, probe: Path, token: str,
                         progress: bool) -> list[Job]:
        table = {j.key(): j for j in jobs}
        # One id for every attempt of this run's tasks: a retry takes over the lock its dead attempt left.
        owner = f"ray-{uuid.uuid4().hex[:12]}"
        task = ray.remote(_run_job).options(num_cpus=self.threads_per_job, num_gpus=gpus,
                                            max_retries=self.max_retries, retry_exceptions=[OSError])
        backend = os.environ.get("KERAS_BACKEND")
        refs, by_ref = {}, {}
        eta = Eta([j for j in jobs if j.finished(root)], root)
        slots = max(1, int(ray.cluster_resources().get("CPU", 1) // self.threads_per_job))
        bar = _bar(len(todo), progress)
        done = set()
        try:
            for job in todo:
                parents = {job.parent: table[job.parent]} if job.parent is not None else {}
                # The parent's task result as an argument: Ray starts this task only after the parent's finished.
                waits = [refs[job.parent]] if job.parent in refs else []
                ref = task.remote(job, str(root), parents, owner, self.threads_per_job, str(probe), token, backend,
                                  *waits)
                refs[job.key()], by_ref[ref] = ref, job
            pending = list(refs.values())
            bar.set_postfix_str(_eta_text(eta, todo, slots))
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                job = by_ref[ready[0]]
                eta.add(job, _result(ray, ready[0], job, self.max_retries))
                done.add(job.key())
                bar.set_description(job.label)
                bar.set_postfix_str(_eta_text(eta, [by_ref[r] for r in pending], slots), refresh=False)
                bar.update()
        except BaseException:
            _cancel(ray, [r for r in refs.values() if by_ref[r].key() not in done])
            raise
        finally:
            bar.close()
        return [j for j in todo if j.key() in done]


def _eta_text(eta: Eta, left: list, slots: int) -> str:
    """Jobs left and a rough ETA: their serial time (per-kind seconds per epoch measured so far) spread evenly over
    the jobs Ray runs at once."""
    serial = eta.left(left)
    if not left or serial is None:
        return f"{len(left)} left" + ("" if not left else ", eta ?")
    s = serial / min(slots, len(left))
    return f"{len(left)} left, eta " + (f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 60
                                         else f"{s:.0f} s")


def _result(ray, ref, job: Job, max_retries: int) -> float:
    """The task's seconds, or its error as raised in the worker (a lock held elsewhere, a bad config), or a
    RuntimeError naming the job when Ray gave up on it (its worker died once more than `max_retries` allows)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from e
        raise
    except ray.exceptions.RayError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise RuntimeError(f"job {job.label} [{job.key()}] failed in Ray after {max_retries} retries: "
                           f"{type(e).__name__}: {first}; run again to resume it from its last complete epoch") from e


def _cancel(ray, pending) -> None:
    """Cancels the tasks still running or waiting, and gives them a moment to stop: a cancelled task gets a
    KeyboardInterrupt, leaves its run directory at its last complete epoch, and releases its lock."""
    if not pending:
        return
    for ref in pending:
        try:
            ray.cancel(ref)
        except Exception:  # already finished or gone
            pass
    try:
        ray.wait(pending, num_returns=len(pending), timeout=CANCEL_WAIT)
    except Exception:
        pass


# -- the worker -----------------------------------------------------------------------------------------------------

_DATA: tuple = (None, None)  # (DataConfig, Dataset): a worker runs many jobs, mostly on one dataset


def limit_threads(n: int) -> None:
    """Gives this process `n` TensorFlow intra-op and inter-op threads (and OpenMP threads to what loads later).
    TensorFlow sizes its thread pools once, when its runtime starts: call this before the first op. In a worker that
    already ran a job with another count it raises, rather than run with the wrong one."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        raise RuntimeError(f"argument `threads_per_job`: expected the thread count this worker's TensorFlow started "
                           f"with ({tf.config.threading.get_intra_op_parallelism_threads()}), received {n}; one "
                           f"Ray job (driver) runs one thread count") from None


def _hide_unassigned_gpus() -> None:
    """A task given no GPU must not let TensorFlow take the node's GPUs (Ray leaves CUDA_VISIBLE_DEVICES alone for
    such tasks)."""
    import ray

    if "tensorflow" not in sys.modules and not ray.get_runtime_context().get_accelerator_ids().get("GPU"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def _check_token(root: str, probe: str, token: str) -> None:
    try:
        seen = Path(probe).read_text(encoding="utf-8")
    except OSError as e:
        seen, why = None, f"could not read {probe}: {type(e).__name__}: {e.strerror or e}"
    if seen is not None:
        if seen == token:
            return
        why = f"read another file at {probe} (a different file system mounted there)"
    raise _storage_error(root, socket.gethostname(), why)


def _dataset(data_config):
    global _DATA
    if _DATA[0] != data_config:
        from enaslite.data import load_dataset_from_config
        _DATA = (data_config, load_dataset_from_config(data_config))
    return _DATA[1]


def _run_job(job: Job, root: str, parents: dict, owner: str, threads: int, probe: str, token: str,
             backend: str | None, *parent_results) -> float:
    """One job in a Ray worker: threads and devices first (before TensorFlow starts), then the storage check, then
    `execute` under the run directory's lock. Returns the job's seconds (for the driver's ETA)."""
    if backend:
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _hide_unassigned_gpus()
    limit_threads(threads)
    _check_token(root, probe, token)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from enaslite import backend

    data = _dataset(job.config.data)
    # As in LocalRunner: each job starts from a fresh Keras session, so a worker's memory does not grow with its jobs.
    backend.clear_session()
    t0 = time.perf_counter()
    execute(job, Path(root), parents, dataset=data, owner=owner)
    return time.perf_counter() - t0


# -- from the environment -------------------------------------------------------------------------------------------

def _env_int(name: str, low: int):
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise ValueError(f"environment variable `{name}`: expected an int >= {low}, received {text!r}")
    return value


def local_threads() -> int:
    """The CPUs this process may run on: TensorFlow's default thread pool size here, so the default threads per
    Ray job, with which a job computes what it computes in process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def from_env() -> RayRunner:
    """A `RayRunner` from ENASLITE_RAY_ADDRESS (unset: a local instance), ENASLITE_RAY_THREADS_PER_JOB (default:
    `local_threads()`) and ENASLITE_RAY_GPUS_PER_JOB (default: 1 when the cluster has GPUs)."""
    address = os.environ.get(ADDRESS_ENV, "").strip() or None
    threads = _env_int(THREADS_ENV, 1)
    return RayRunner(address=address, threads_per_job=threads,
                     gpus_per_job=_env_int(GPUS_ENV, 0))
