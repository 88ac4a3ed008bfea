import json

import numpy as np
import pytest

from enaslite.config import preset
from enaslite.data import Batches, load_dataset
from enaslite.loop import train_epoch
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc
from enaslite.runs import read_csv, read_jsonl
from enaslite.search import (ArcBatches, build_controller, build_supernet, controller_path, num_ops, save_epochs,
                             search)
from enaslite.supernet_macro import MacroSupernet
from enaslite.supernet_micro import MicroSupernet


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("fashion_mnist", valid_size=64, train_limit=128, test_limit=64)


def _cfg(**kw):
    return preset("smoke", **{"search.epochs": 2, "search.steps_per_epoch": 3, **kw})


@pytest.fixture(scope="module")
def macro_run(tmp_path_factory, tiny):
    """One uninterrupted 2-epoch smoke macro search, shared by the tests below."""
    path = tmp_path_factory.mktemp("macro")
    summary = search(_cfg(), path, dataset=tiny, verbose=0)
    return path, summary


def test_macro_search_writes_run_dir(macro_run):
    """A smoke macro search writes one epochs.csv row per epoch, the logged samples and controller weights."""
    path, summary = macro_run
    cfg = _cfg()
    rows = read_csv(path / "epochs.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and summary["epoch"] == 2
    for key in ("lr", "train_loss", "ctrl_entropy", "skip_rate", "baseline", "op0", "op5", "seconds_child",
                "seconds_ctrl", "seconds_reward", "logged_acc_mean"):
        assert key in rows[0]
    assert abs(sum(rows[0][f"op{i}"] for i in range(6)) - 1) < 1e-6
    samples = read_jsonl(path / "samples.jsonl")
    assert len(samples) == 2 * cfg.controller.num_logged
    assert {"epoch", "arc", "valid_acc", "log_prob"} <= set(samples[0])
    assert save_epochs(cfg) == (1, 2)
    assert controller_path(path, 1).exists() and controller_path(path, 2).exists()
    assert rows[1]["baseline"] != 0.0  # the controller trained
    assert (path / "finished.json").exists()


def test_resume_replays_the_killed_epoch(tmp_path, macro_run, tiny, crash_before_checkpoint):
    """A search killed after epoch 2's logs (before its checkpoint) redoes epoch 2 from the epoch-1 checkpoint and
    ends with exactly one row per epoch, and with the same rows and samples as an uninterrupted run."""
    cfg = _cfg()
    with crash_before_checkpoint(2):
        search(cfg, tmp_path, dataset=tiny, verbose=0)
    assert [r["epoch"] for r in read_csv(tmp_path / "epochs.csv")] == [1, 2]
    search(cfg, tmp_path, dataset=tiny, verbose=0)
    after = read_csv(tmp_path / "epochs.csv")
    whole = read_csv(macro_run[0] / "epochs.csv")
    assert [r["epoch"] for r in after] == [1, 2]

    def results(rows):  # everything but the wall times
        return [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows]

    assert results(after) == results(whole)
    assert read_jsonl(tmp_path / "samples.jsonl") == read_jsonl(macro_run[0] / "samples.jsonl")


def test_transfer_initialises_from_weights(macro_run, tmp_path, tiny):
    """--init-controller starts the search from another run's controller weights."""
    src = controller_path(macro_run[0], 2)
    search(_cfg(**{"search.epochs": 1}), tmp_path, dataset=tiny, init_controller=src, verbose=0)
    stored = json.loads((tmp_path / "run.json").read_text())["identity"]["init_controller"]
    assert stored["file"] == src.name and len(stored["sha256"]) == 64


@pytest.mark.parametrize("mode", ["frozen", "uniform"])
def test_baseline_modes_keep_the_controller(tmp_path, tiny, mode):
    """Frozen and uniform modes never update the controller: its weights stay at their seeded initial values."""
    cfg = _cfg(**{"controller.mode": mode, "search.epochs": 1})
    search(cfg, tmp_path, dataset=tiny, verbose=0)
    assert read_csv(tmp_path / "epochs.csv")[0]["baseline"] == 0.0
    from enaslite.sample import load_controller
    _, after = load_controller(tmp_path, 1)
    fresh = build_controller(cfg, cfg.seed)
    for v1, v2 in zip(after.trainable_variables, fresh.trainable_variables):
        np.testing.assert_array_equal(np.asarray(v1), np.asarray(v2))


def test_micro_search_runs(tmp_path, tiny):
    """A smoke micro search runs one epoch end to end."""
    cfg = _cfg(space="micro", **{"search.epochs": 1, "search.num_layers": 1})
    search(cfg, tmp_path, dataset=tiny, verbose=0)
    assert len(read_csv(tmp_path / "epochs.csv")) == 1


def test_reference_macro_bug_runs(tmp_path, tiny):
    """The reference-bug option runs a macro search."""
    search(_cfg(reference_macro_bug=True, **{"search.epochs": 1}), tmp_path, dataset=tiny, verbose=0)
    assert len(read_csv(tmp_path / "epochs.csv")) == 1


def test_supernet_weights_kept_at_save_epochs_and_ce_logged(macro_run):
    """The shared weights of every controller save epoch are kept, and the CE is logged apart from the objective."""
    from enaslite.search import supernet_path
    path, _ = macro_run
    assert supernet_path(path, 1).exists() and supernet_path(path, 2).exists()
    row = read_csv(path / "epochs.csv")[0]
    assert 0 < row["train_loss"] < row["train_objective"]  # L2 > 0 in the smoke preset


def test_finished_search_without_checkpoint_is_left_alone(macro_run, tmp_path, tiny):
    """A finished search whose checkpoint is absent (fresh clone) is not rerun, and retrain refuses it as a target."""
    import shutil
    from enaslite.macro_arc import MacroArc
    from enaslite.retrain import retrain
    from test_runs import snapshot
    run = tmp_path / "run"
    shutil.copytree(macro_run[0], run)
    (run / "checkpoint.npz").unlink()
    before = snapshot(run)
    assert search(_cfg(), run, dataset=tiny, verbose=0)["epoch"] == 2
    with pytest.raises(ValueError, match="expected a retrain run directory, received .* which holds a search run"):
        retrain(MacroArc.random(np.random.default_rng(0), 3), _cfg(), run, dataset=tiny, verbose=0)
    assert snapshot(run) == before


def test_transfer_takes_the_policy_not_the_sampling_stream(macro_run, tmp_path, tiny):
    """Two transfer runs from one saved controller with different seeds sample different architectures, and a
    finished transfer run refuses another initial controller."""
    src = controller_path(macro_run[0], 2)
    arcs = []
    for seed in (0, 1):
        cfg = _cfg(seed=seed, **{"search.epochs": 1})
        search(cfg, tmp_path / f"s{seed}", dataset=tiny, init_controller=src, verbose=0)
        arcs.append([s["arc"] for s in read_jsonl(tmp_path / f"s{seed}" / "samples.jsonl")])
    assert arcs[0] != arcs[1]
    with pytest.raises(ValueError, match=r"argument `init_controller`: this run dir .* was made with initial "
                                         r"controller .*controller_epoch0002"):
        search(_cfg(**{"search.epochs": 1}), tmp_path / "s0", dataset=tiny, init_controller=controller_path(
            macro_run[0], 1), verbose=0)


@pytest.mark.parametrize("space", ["macro", "micro"])
def test_child_phase_traces_the_supernet_once(tiny, space, monkeypatch):
    """As `search` runs its child phase (`build_supernet`, then `train_epoch` over `ArcBatches`), four steps with a
    new architecture each trace the supernet's training call once; building it traces nothing in training mode."""
    cls = MacroSupernet if space == "macro" else MicroSupernet
    calls = []
    call = cls.call

    def counting_call(self, inputs, training=None):
        calls.append(bool(training))  # Python runs `call` only when tracing (or eagerly)
        return call(self, inputs, training=training)

    monkeypatch.setattr(cls, "call", counting_call)
    config = _cfg(space=space)
    net = build_supernet(config, tiny)
    assert calls.count(True) == 0
    rng = np.random.default_rng(0)
    c = config.search
    if space == "macro":
        arcs = [MacroArc.random(rng, c.num_layers, num_ops=num_ops(config)) for _ in range(4)]
    else:
        arcs = [MicroArc.random(rng, num_nodes=c.num_cells, num_ops=num_ops(config)) for _ in range(4)]
    assert len({a.to_string() for a in arcs}) == 4
    batches = Batches(tiny, "train", c.batch_size, seed=0, augment=c.augment, steps=4)
    logs = train_epoch(net, ArcBatches(batches, arcs))
    assert np.isfinite(logs["loss"])
    assert calls.count(True) == 1


def test_epochs_keep_no_new_graphs_or_objects(tmp_path, tiny, monkeypatch):
    """After its first epoch a search traces no new function and keeps no new graph, and its live Python objects
    grow by at most a few hundred per epoch (the logged rows), so a 310-epoch search holds what a 3-epoch one does."""
    import gc
    import importlib

    from tensorflow.python.eager import context

    module = importlib.import_module("enaslite.search")  # `enaslite.search` is also the function's name
    log_epoch, counts = module.log_epoch, []

    def counting_log_epoch(*args, **kwargs):
        gc.collect()
        objects = gc.get_objects()
        counts.append((len(context.context().list_function_names()),
                       sum(type(o).__name__ == "FuncGraph" for o in objects), len(objects)))
        return log_epoch(*args, **kwargs)

    monkeypatch.setattr(module, "log_epoch", counting_log_epoch)
    search(_cfg(space="micro", **{"search.epochs": 4, "search.steps_per_epoch": 1}), tmp_path, dataset=tiny,
           verbose=0)
    assert len({c[:2] for c in counts[1:]}) == 1, counts
    assert max(b[2] - a[2] for a, b in zip(counts[1:], counts[2:])) < 500, counts
