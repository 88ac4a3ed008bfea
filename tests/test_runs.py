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


def test_config_stored_and_checked(tmp_path):
    """A run dir stores its config and refuses a different one, except resumable fields."""
    run = RunDir(tmp_path / "r")
    cfg = preset("smoke")
    run.start(cfg)
    assert run.load_config() == cfg
    run.start(cfg.override(**{"final.epochs": 9}), resumable_fields=("final.epochs",))
    with pytest.raises(ValueError, match=r"config differs in \['final.l2'\]"):
        run.start(cfg.override(**{"final.l2": 0.5}), resumable_fields=("final.epochs",))


def test_checkpoint_roundtrip(tmp_path):
    """A checkpoint carries arrays, epoch, state and the config."""
    run = RunDir(tmp_path)
    cfg = preset("smoke")
    run.save_checkpoint(3, cfg, {"w00000": np.arange(4.0)}, state={"baseline": 0.5})
    epoch, arrays, state = run.load_checkpoint()
    assert epoch == 3 and state == {"baseline": 0.5}
    np.testing.assert_array_equal(arrays["w00000"], np.arange(4.0))
    assert RunDir(tmp_path / "none").load_checkpoint() is None


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
