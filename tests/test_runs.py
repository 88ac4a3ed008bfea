import numpy as np
import pytest

from enaslite.config import preset
from enaslite.runs import RunDir, read_csv, read_jsonl, write_csv, write_jsonl


def test_csv_roundtrip(tmp_path):
    """Rows come back with numbers parsed."""
    rows = [{"epoch": 1, "acc": 0.5, "name": "a"}, {"epoch": 2, "acc": 0.75, "name": "b"}]
    write_csv(tmp_path / "m.csv", rows)
    assert read_csv(tmp_path / "m.csv") == rows


def test_jsonl_roundtrip(tmp_path):
    """JSON lines come back as written."""
    recs = [{"a": 1}, {"b": [1, 2]}]
    write_jsonl(tmp_path / "s.jsonl", recs)
    assert read_jsonl(tmp_path / "s.jsonl") == recs


def test_atomic_write_leaves_no_temp_files(tmp_path):
    """Atomic writes leave only the target file behind."""
    write_csv(tmp_path / "m.csv", [{"x": 1}])
    write_csv(tmp_path / "m.csv", [{"x": 2}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_checkpoint_roundtrip(tmp_path):
    """A checkpoint carries arrays, epoch, state and the config."""
    run = RunDir(tmp_path)
    cfg = preset("smoke")
    run.save_checkpoint(3, cfg, {"w00000": np.arange(4.0)}, state={"baseline": 0.5})
    epoch, arrays, state = run.load_checkpoint()
    assert epoch == 3 and state == {"baseline": 0.5}
    np.testing.assert_array_equal(arrays["w00000"], np.arange(4.0))
    assert run.checkpoint_backend() == "tensorflow"  # the suite's backend wrote it
    assert RunDir(tmp_path / "none").load_checkpoint() is None
    assert RunDir(tmp_path / "none").checkpoint_backend() is None


def _dense_model(units):
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, name="d")])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_model_arrays_restore_and_reject_a_different_model():
    """`restore_model` puts back weights and optimizer slots, and names the variable whose shape does not fit."""
    from enaslite.runs import model_arrays, restore_model
    src, dst = _dense_model(2), _dense_model(2)
    src.train_on_batch(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"))
    restore_model(model_arrays(src, src.optimizer), dst, dst.optimizer)
    for a, b in zip(src.variables + src.optimizer.variables, dst.variables + dst.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match=r"argument `checkpoint`: expected shape \(3, 5\) for model variable "
                                         r"\S*d/kernel, received \(3, 2\)"):
        restore_model(model_arrays(src), _dense_model(5))


def test_another_backends_checkpoint_that_does_not_fit_names_both_backends():
    """Arrays written on another backend restore when they fit; when they don't, one line says which backend wrote
    them and how to resume."""
    from enaslite.runs import model_arrays, restore_model
    src, dst = _dense_model(2), _dense_model(2)
    src.train_on_batch(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"))
    restore_model(model_arrays(src, src.optimizer), dst, dst.optimizer, written_by="jax")
    np.testing.assert_array_equal(np.asarray(src.variables[0]), np.asarray(dst.variables[0]))
    with pytest.raises(ValueError, match=r"^argument `checkpoint`: written on the jax backend, it can't be resumed "
                                         r"on the tensorflow backend \(expected shape \(3, 5\) for model variable "
                                         r"\S*d/kernel, received \(3, 2\)\); resume it with KERAS_BACKEND=jax$"):
        restore_model(model_arrays(src), _dense_model(5), written_by="jax")


def test_run_json_records_a_resume_on_another_backend(tmp_path):
    """run.json keeps the backend that created the run and, once each, every other backend that resumed it."""
    import json
    run = RunDir(tmp_path)
    run.create("retrain", preset("smoke"))
    stored = json.loads((tmp_path / "run.json").read_text())
    assert stored["created_by"]["backend"] == "tensorflow" and "resumed_on" not in stored
    stored["created_by"]["backend"] = "jax"
    (tmp_path / "run.json").write_text(json.dumps(stored))
    run.create("retrain", preset("smoke"))
    run.create("retrain", preset("smoke"))
    stored = json.loads((tmp_path / "run.json").read_text())
    assert stored["created_by"]["backend"] == "jax" and stored["resumed_on"] == ["tensorflow"]


def snapshot(path):
    """Every file under `path` with its bytes (empty for a missing path): to check that nothing changed."""
    from pathlib import Path
    path = Path(path)
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()} \
        if path.exists() else None


def test_run_dir_is_not_created_before_create(tmp_path):
    """Constructing and checking a RunDir writes nothing; `create` makes the dir, config.json and run.json."""
    run = RunDir(tmp_path / "new")
    run.check_location()
    run.check("retrain", preset("smoke"), {"arc": {"a": 1}})
    assert not (tmp_path / "new").exists()
    run.create("retrain", preset("smoke"), {"arc": {"a": 1}})
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["config.json", "run.json"]


def test_run_dir_location_errors(tmp_path):
    """A run dir that is a file, or lies under a file, is refused with its path named."""
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"argument `run_dir`: expected a directory, received the file .*f\.txt"):
        RunDir(tmp_path / "f.txt").check_location()
    with pytest.raises(ValueError, match=r"argument `run_dir`: expected a directory path, received .*, which lies "
                                         r"under the file .*f\.txt"):
        RunDir(tmp_path / "f.txt" / "run").check_location()


def test_kind_and_identity_are_checked(tmp_path):
    """Another kind of run, another config or another dataset is refused in words, and nothing is written."""
    run = RunDir(tmp_path / "r")
    cfg = preset("smoke")
    ident = {"dataset": {"name": "fashion_mnist", "num_classes": 10, "input_shape": [28, 28, 1],
                         "sizes": {"train": 10}, "hash": "abc"}}
    run.create("retrain", cfg, ident)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="expected a search run directory, received .* which holds a retrain run"):
        run.check("search", cfg, ident)
    other = {"dataset": {**ident["dataset"], "name": "other", "num_classes": 3, "hash": "def"}}
    with pytest.raises(ValueError, match=r"argument `dataset`: this run dir \(.*\) was made with dataset "
                                         r"fashion_mnist \(10 classes.*received dataset other \(3 classes"):
        run.check("retrain", cfg, other)
    with pytest.raises(ValueError, match=r"config differs in \['final.l2'\]"):
        run.check("retrain", cfg.override(**{"final.l2": 0.5}), ident)
    run.check("retrain", cfg.override(**{"final.epochs": 9}), ident, resumable_fields=("final.epochs",))
    assert snapshot(tmp_path) == before


def test_stray_files_are_not_adopted(tmp_path):
    """A non-empty directory that is not a run dir is refused rather than written into."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"expected an empty or new directory, or a run directory, received .* "
                                         r"holding \['notes.txt'\]"):
        RunDir(tmp_path).check("retrain", preset("smoke"))


def test_clear_deletes_only_run_files(tmp_path):
    """An overwrite clears what runs write and keeps anything else (a user's notes)."""
    run = RunDir(tmp_path)
    run.create("search", preset("smoke"))
    for name in ("epochs.csv", "controller_epoch0003.weights.h5", "supernet_epoch0003.npz", "notes.txt"):
        (tmp_path / name).write_text("x")
    run.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_clear_deletes_the_tensorboard_folder(tmp_path):
    """An overwrite starts the TensorBoard logs afresh (and drops a killed writer's temporary folder), keeping a
    folder of the user's."""
    run = RunDir(tmp_path)
    run.create("retrain", preset("smoke"))
    for folder in ("tensorboard/retrain", ".tensorboard.abc.tmp", "mine"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "events.out.tfevents.epoch000001.enaslite").write_text("x")
    run.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_controller_checkpoints_of_both_layouts_restore():
    """`model_arrays` saves a controller's own variables and its Adam's separately (10 + 19 at micro size), as the
    study's first runs did; arrays that also list Adam's among the model's (as 4f054b4 to 2437f62 wrote them)
    restore too, and a count that fits neither is refused before any assignment."""
    from enaslite.controller_micro import MicroController
    from enaslite.runs import model_arrays, restore_model

    a = MicroController(num_nodes=5, lstm_size=16, seed=0)
    b = MicroController(num_nodes=5, lstm_size=16, seed=1)
    arrays = model_arrays(a, a.controller_optimizer, prefix="ctrl_")
    assert len([k for k in arrays if k.startswith("ctrl_w")]) == len(a.own_variables()) + 1  # + the seed state
    restore_model(arrays, b, b.controller_optimizer, prefix="ctrl_")
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.variables, b.variables))

    between = {f"ctrl_w{i:05d}": np.asarray(v) for i, v in enumerate(a.variables)}
    between.update({k: v for k, v in arrays.items() if k.startswith("ctrl_o")})
    c = MicroController(num_nodes=5, lstm_size=16, seed=2)
    restore_model(between, c, c.controller_optimizer, prefix="ctrl_")
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.variables, c.variables))

    del between["ctrl_w00000"]
    with pytest.raises(ValueError, match="argument `checkpoint`: expected 10 model variables, received 28"):
        restore_model(between, c, c.controller_optimizer, prefix="ctrl_")
