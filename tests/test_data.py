import gzip
import os
import pickle
import re

import numpy as np
import pytest

from enaslite.config import DataConfig
from enaslite import data
from enaslite.data import Batches, Dataset, augment_batch, eval_batches, load_dataset, steps_per_epoch


def _arrays(n_train=20, n_test=6, shape=(4, 5, 3), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (n_train, *shape), dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, *shape), dtype=np.uint8)
    return x_train, np.arange(n_train) % classes, x_test, np.arange(n_test) % classes


def _indexed(n_train=20, n_test=6, hw=4):
    """Float images whose every pixel holds the image's index (train) or 100 + index (test)."""
    x_train = np.broadcast_to(np.arange(n_train, dtype=np.float32)[:, None, None, None], (n_train, hw, hw, 1))
    x_test = np.broadcast_to(100 + np.arange(n_test, dtype=np.float32)[:, None, None, None], (n_test, hw, hw, 1))
    return x_train.copy(), np.arange(n_train) % 2, x_test.copy(), np.arange(n_test) % 2


def _raw(ds, x):
    return x * ds.std + ds.mean


# -- Dataset.from_arrays --------------------------------------------------------------------------------------------

def test_valid_split_is_the_tail_of_train():
    """The last `valid_size` training images form valid, in order; the rest stay train."""
    ds = Dataset.from_arrays(*_indexed(), valid_size=5)
    np.testing.assert_allclose(_raw(ds, ds.x_valid)[:, 0, 0, 0], np.arange(15, 20), atol=1e-4)
    np.testing.assert_allclose(_raw(ds, ds.x_train)[:, 0, 0, 0], np.arange(15), atol=1e-4)
    np.testing.assert_array_equal(ds.y_valid, np.arange(15, 20) % 2)
    assert ds.num_examples("train") == 15 and ds.num_examples("valid") == 5 and ds.num_examples("test") == 6


def test_normalisation_uses_train_statistics_only():
    """mean/std come from the train split: train is standardised, valid/test shifted by the same stats."""
    ds = Dataset.from_arrays(*_indexed(), valid_size=5)
    np.testing.assert_allclose(ds.mean, [7.0], rtol=1e-6)
    np.testing.assert_allclose(ds.std, [np.arange(15).std()], rtol=1e-5)
    np.testing.assert_allclose(ds.x_train.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(), 1, atol=1e-5)
    assert ds.x_test.mean() > 10  # test images (100+) are not standardised by their own statistics


def test_uint8_scaled_to_unit_range_and_float_kept():
    """uint8 pixels are divided by 255 (stats in [0, 1] units); float pixels are used as given."""
    x_train, y_train, x_test, y_test = _arrays()
    ds = Dataset.from_arrays(x_train, y_train, x_test, y_test, valid_size=4)
    np.testing.assert_allclose(ds.mean, x_train[:16].reshape(-1, 3).mean(0) / 255, rtol=1e-5)
    np.testing.assert_allclose(ds.std, x_train[:16].reshape(-1, 3).std(0) / 255, rtol=1e-4)
    ds_float = Dataset.from_arrays(x_train.astype(np.float32), y_train, x_test, y_test, valid_size=4)
    np.testing.assert_allclose(ds_float.mean, ds.mean * 255, rtol=1e-5)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32


def test_grayscale_and_column_labels_are_accepted():
    """(N, H, W) images gain a channel axis and (N, 1) labels are flattened."""
    x_train, y_train, x_test, y_test = _arrays(shape=(6, 7, 1))
    ds = Dataset.from_arrays(x_train[..., 0], y_train[:, None], x_test[..., 0], y_test[:, None], valid_size=2)
    assert ds.input_shape == (6, 7, 1) and ds.x_test.shape == (6, 6, 7, 1)
    assert ds.y_train.shape == (18,) and ds.num_classes == 3


def test_limits_and_empty_valid():
    """train_limit / test_limit keep the first images; valid_size=0 gives an empty valid split."""
    ds = Dataset.from_arrays(*_indexed(), valid_size=0, train_limit=7, test_limit=2)
    np.testing.assert_allclose(_raw(ds, ds.x_train)[:, 0, 0, 0], np.arange(7), atol=1e-4)
    np.testing.assert_allclose(_raw(ds, ds.x_test)[:, 0, 0, 0], [100, 101], atol=1e-4)
    assert ds.x_valid.shape == (0, 4, 4, 1) and ds.y_valid.shape == (0,)
    assert ds.summary() == "arrays: train 7, valid 0, test 2; images 4x4x1; 2 classes"


def test_inputs_untouched_and_dataset_read_only():
    """from_arrays copies the caller's arrays, and the stored arrays cannot be modified in place."""
    arrays = _indexed()
    before = [a.copy() for a in arrays]
    ds = Dataset.from_arrays(*arrays, valid_size=5)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0] = 1


def test_split_accessor_rejects_unknown_name():
    """split() returns (x, y) for known names and names the valid ones otherwise."""
    ds = Dataset.from_arrays(*_arrays(), valid_size=4)
    assert ds.split("test")[0] is ds.x_test
    with pytest.raises(ValueError, match=re.escape("argument `split`: expected one of ['train', 'valid', "
                                                   "'test'], received 'val'")):
        ds.split("val")


def _bad(**changes):
    x_train, y_train, x_test, y_test = _arrays()
    kw = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, valid_size=4)
    kw.update(changes)
    return kw


@pytest.mark.parametrize("kwargs, message", [
    (_bad(x_train=np.zeros((20, 4, 5, 3, 1), np.uint8)),
     "argument `x_train`: expected a 4-D NHWC array (N, H, W, C), received shape (20, 4, 5, 3, 1)"),
    (_bad(x_test=np.zeros((6, 20), np.uint8)),
     "argument `x_test`: expected a 4-D NHWC array (N, H, W, C), received shape (6, 20)"),
    (_bad(x_train=np.zeros((0, 4, 5, 3), np.uint8), y_train=np.zeros(0, int)),
     "argument `x_train`: expected a non-empty array, received shape (0, 4, 5, 3)"),
    (_bad(y_train=np.arange(19) % 3), "argument `y_train`: expected 20 labels (one per image), received 19"),
    (_bad(y_test=np.array([0, 1, 2, 0, -1, 1])), "argument `y_test`: expected labels >= 0, received -1 at position 4"),
    (_bad(y_train=np.full(20, 0.5)), "argument `y_train`: expected whole-number labels, received 0.5 at position 0"),
    (_bad(y_train=np.array(["a"] * 20)), "argument `y_train`: expected integer labels, received dtype <U1"),
    (_bad(y_test=np.array([0, 1, 2, 3, 0, 1]), num_classes=3),
     "argument `y_test`: expected labels < num_classes (3), received 3 at position 3"),
    (_bad(x_test=np.zeros((6, 4, 5, 1), np.uint8)),
     "argument `x_test`: expected images of shape (H, W, C) = (4, 5, 3) like `x_train`, received (4, 5, 1)"),
    (_bad(valid_size=20), "argument `valid_size`: expected an int smaller than the 20 training images, received 20"),
    (_bad(valid_size=-1), "argument `valid_size`: expected an int >= 0, received -1"),
    (_bad(x_train=np.where(np.arange(20)[:, None, None, None] == 3, np.nan, 0.0) * np.ones((20, 4, 5, 3))),
     "argument `x_train`: expected finite pixel values, received NaN or inf in image 3"),
    (_bad(x_train=np.zeros((20, 4, 5, 3), np.int64)),
     "argument `x_train`: expected uint8 (0..255) or float images, received dtype int64"),
    (_bad(num_classes=1), "argument `num_classes`: expected an int >= 2, received 1"),
    (_bad(train_limit=0), "argument `train_limit`: expected None or an int >= 1, received 0"),
])
def test_from_arrays_errors(kwargs, message):
    """Each malformed input raises a ValueError naming the argument, what was expected and what was received."""
    with pytest.raises(ValueError, match=re.escape(message)):
        Dataset.from_arrays(**kwargs)


# -- loading --------------------------------------------------------------------------------------------------------

def test_npz_roundtrip_and_missing_keys(tmp_path):
    """An .npz with the four keys loads (name from the file); missing keys are listed with what is there."""
    x_train, y_train, x_test, y_test = _arrays()
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    ds = load_dataset(str(path), valid_size=4, test_limit=3)
    assert (ds.name, ds.num_examples("train"), ds.num_examples("test"), ds.num_classes) == ("tiny", 16, 3, 3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=x_train, y_train=y_train, x_val=x_test)
    with pytest.raises(ValueError, match=re.escape("missing ['x_test', 'y_test'])") + ".*" +
                       re.escape("holding ['x_train', 'x_val', 'y_train']")):
        Dataset.from_npz(bad)


def _corrupt_npz(kind, path):
    x_train, y_train, x_test, y_test = _arrays()
    if kind == "text":
        path.write_text("x_train,y_train\n1,2\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, x_train)
    elif kind == "pickled":
        np.savez(path, x_train=np.array([{"a": 1}], dtype=object), y_train=y_train, x_test=x_test, y_test=y_test)
    elif kind == "truncated":
        np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize("kind,reason", [
    ("text", "not a zip archive"),
    ("empty", "an empty file"),
    ("npy", "a single .npy array, not an .npz archive"),
    ("pickled", "it holds pickled Python objects, which are not loaded"),
    ("truncated", "corrupt archive"),
])
def test_corrupt_npz_names_the_file_and_the_reason(tmp_path, kind, reason):
    """A corrupt .npz (text, empty, .npy, pickled objects, truncated) is one ValueError naming the file and why."""
    path = tmp_path / "x.npz"
    _corrupt_npz(kind, path)
    with pytest.raises(ValueError) as e:
        load_dataset(str(path))
    message = str(e.value)
    assert message.startswith("argument `dataset`: expected an .npz with arrays x_train, y_train, x_test, y_test, "
                              f"received {str(path)!r} ({reason}")
    assert "\n" not in message


def test_synthetic_dataset_is_cifar_shaped_and_fixed():
    """`synthetic` is 32x32x3 with 10 classes, made in memory, the same on every load (for speed benchmarks)."""
    a, b = load_dataset("synthetic", valid_size=1000), load_dataset("synthetic", valid_size=1000)
    assert a.input_shape == (32, 32, 3) and a.num_classes == 10
    assert (a.num_examples("train"), a.num_examples("valid"), a.num_examples("test")) == (9000, 1000, 1000)
    assert a.fingerprint() == b.fingerprint() and np.array_equal(a.x_test, b.x_test)


def test_unknown_dataset_name():
    """A name that is neither known nor an .npz path lists the options."""
    with pytest.raises(ValueError, match=re.escape(
            "argument `dataset`: expected one of ['cifar10', 'cifar100', 'fashion_mnist', 'synthetic'] or a path to an .npz "
            "file, received 'mnist'")):
        load_dataset("mnist")


def test_cifar_offline_error_says_where_files_go(monkeypatch):
    """When keras cannot fetch CIFAR, the error names the cache file, data_dir and the .npz alternative."""
    import keras

    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(RuntimeError, match=re.escape("~/.keras/datasets/")) as info:
        load_dataset("cifar10")
    message = str(info.value)
    assert "cifar-10-batches-py-target_archive" in message and "URL fetch failure" in message
    assert "data_dir" in message and ".npz" in message


def test_cifar_pickles_from_data_dir(tmp_path):
    """data_dir with the reference code's python pickles is read as CIFAR-10 (NCHW rows to NHWC)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {}
    for f in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[f] = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        with open(folder / f, "wb") as fh:
            pickle.dump(batches[f], fh)
    ds = load_dataset("cifar10", valid_size=2, data_dir=str(tmp_path))
    assert ds.input_shape == (32, 32, 3) and ds.num_classes == 10
    assert (ds.num_examples("train"), ds.num_examples("valid"), ds.num_examples("test")) == (18, 2, 4)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0) / 255
    np.testing.assert_allclose(_raw(ds, ds.x_train[0]), first, atol=1e-5)
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][b"labels"])


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_idx_from_data_dir(tmp_path):
    """idx .gz files in data_dir are parsed (header dims, uint8 payload); missing files are named."""
    rng = np.random.default_rng(1)
    images = {"train": rng.integers(0, 256, (12, 28, 28)), "t10k": rng.integers(0, 256, (5, 28, 28))}
    for split, x in images.items():
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", x)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(len(x)) % 10)
    ds = load_dataset("fashion_mnist", valid_size=2, data_dir=str(tmp_path))
    assert ds.input_shape == (28, 28, 1) and ds.num_examples("train") == 10
    np.testing.assert_allclose(_raw(ds, ds.x_test[..., 0]), images["t10k"] / 255, atol=1e-5)
    np.testing.assert_array_equal(ds.y_valid, [0, 1])
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("fashion_mnist", data_dir=str(tmp_path / "elsewhere"))


def test_fashion_mnist_falls_back_to_keras(monkeypatch, tmp_path):
    """Without the system idx files, Fashion-MNIST comes from keras.datasets.fashion_mnist.load_data()."""
    import keras

    rng = np.random.default_rng(2)
    fake = ((rng.integers(0, 256, (9, 28, 28), dtype=np.uint8), np.arange(9) % 10),
            (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), np.arange(3)))
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", str(tmp_path / "absent"))
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: fake)
    ds = load_dataset("fashion_mnist", valid_size=4)
    assert (ds.num_examples("train"), ds.num_examples("valid"), ds.input_shape) == (5, 4, (28, 28, 1))


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_full_load():
    """The system Fashion-MNIST loads as 55k/5k/10k 28x28x1, 10 classes, train split standardised per channel."""
    ds = data.load_dataset_from_config(DataConfig("fashion_mnist"))
    assert (ds.num_examples("train"), ds.num_examples("valid"), ds.num_examples("test")) == (55000, 5000, 10000)
    assert ds.input_shape == (28, 28, 1) and ds.num_classes == 10
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 1, 2)), [0.0], atol=1e-3)
    np.testing.assert_allclose(ds.x_train.std(axis=(0, 1, 2)), [1.0], atol=1e-3)
    assert 0.2 < ds.mean[0] < 0.4  # in [0, 1] pixel units


# -- augmentation ---------------------------------------------------------------------------------------------------

def test_augment_crop_is_a_shifted_window_of_the_zero_padded_image():
    """Without flip each output is an H x W window of the 4-px zero-padded input, at varying offsets."""
    x = np.random.default_rng(0).normal(size=(32, 6, 7, 2)).astype(np.float32)
    out = augment_batch(x, np.random.default_rng(3), flip=False)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)))
    offsets = set()
    for k in range(len(x)):
        hits = [(a, b) for a in range(9) for b in range(9) if np.array_equal(padded[k, a:a + 6, b:b + 7], out[k])]
        assert hits, f"image {k} is not a window of its padded input"
        offsets.add(hits[0])
    assert len(offsets) > 5


def test_augment_flip_mirrors_about_half_the_images():
    """With pad=0 each image is either unchanged or mirrored left-right, and both happen."""
    x = np.random.default_rng(0).normal(size=(64, 5, 5, 3)).astype(np.float32)
    out = augment_batch(x, np.random.default_rng(0), pad=0)
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 10 < sum(mirrored) < 54


def test_cutout_zeroes_a_clipped_square_in_all_channels():
    """Cutout zeroes a square of side <= c (clipped at the border) across every channel, and nothing else."""
    x = np.ones((200, 8, 8, 3), np.float32)
    out = augment_batch(x, np.random.default_rng(0), pad=0, flip=False, cutout=3)
    sides = set()
    for img in out:
        zero = img == 0
        assert (zero.all(-1) == zero.any(-1)).all()  # all channels together
        rows, cols = np.flatnonzero(zero[..., 0].any(1)), np.flatnonzero(zero[..., 0].any(0))
        assert zero[..., 0].sum() == len(rows) * len(cols) and len(rows) <= 3 and len(cols) <= 3
        assert rows.max() - rows.min() + 1 == len(rows) and cols.max() - cols.min() + 1 == len(cols)
        sides.add((len(rows), len(cols)))
        assert rows.min() + len(rows) == 8 or len(rows) == 3  # shorter only when clipped at the border
    assert (3, 3) in sides and (1, 1) in sides  # top-left corner may sit at the last pixel


# -- batching -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return Dataset.from_arrays(*_arrays(n_train=45, n_test=10), valid_size=5)


def test_batches_deterministic_per_seed_and_epoch(small):
    """Same (seed, epoch) gives identical batches; another seed or epoch gives different ones."""
    def epoch(seed, e):
        b = Batches(small, "train", 8, seed=seed, epoch=e, augment=True)
        return [b[i] for i in range(len(b))]

    first, again = epoch(1, 0), epoch(1, 0)
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    for other in (epoch(2, 0), epoch(1, 1)):
        assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_batches_full_size_and_cover_the_split(small):
    """Every batch has batch_size images; one epoch's first N indices are a permutation of the split."""
    b = Batches(small, "train", 16, seed=0)
    assert len(b) == 3 == steps_per_epoch(small, "train", 16)
    labels, xs = [], []
    for i in range(len(b)):
        x, y = b[i]
        assert x.shape == (16, 4, 5, 3) and y.shape == (16,) and x.dtype == np.float32 and y.dtype == np.int32
        xs.append(x)
    seen = np.concatenate(xs)[:40]
    keys = sorted(map(bytes, seen.reshape(40, -1)))
    assert keys == sorted(map(bytes, small.x_train.reshape(40, -1)))
    long = Batches(small, "train", 16, seed=0, steps=7)
    assert len(long) == 7 and long[6][0].shape == (16, 4, 5, 3)
    with pytest.raises(IndexError):
        b[3]


def test_set_epoch_selects_the_epoch_order(small):
    """set_epoch(e) gives the batches of a fresh Batches built at epoch e, which differ from epoch 0's."""
    b = Batches(small, "train", 8, seed=0)
    epoch0 = [b[i][1] for i in range(len(b))]
    b.set_epoch(1)
    np.testing.assert_array_equal(b[0][0], Batches(small, "train", 8, seed=0, epoch=1)[0][0])
    assert not all(np.array_equal(b[i][1], y) for i, y in enumerate(epoch0))


def test_sequential_batches_wrap_and_eval_batches_are_exact(small):
    """shuffle=False walks the split in order and wraps the last batch; eval_batches is exact and unpadded."""
    b = Batches(small, "test", 4, seed=0, shuffle=False)
    y = np.concatenate([b[i][1] for i in range(len(b))])
    np.testing.assert_array_equal(y, small.y_test[np.arange(12) % 10])
    sizes = [len(yb) for _, yb in eval_batches(small, "test", 4)]
    assert sizes == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in eval_batches(small, "test", 4)]), small.x_test)


def test_batches_reject_empty_split_and_bad_args():
    """An empty split or a non-positive batch size is refused with a clear message."""
    ds = Dataset.from_arrays(*_arrays(), valid_size=0)
    with pytest.raises(ValueError, match=re.escape("argument `split`: expected a split with at least one image, "
                                                   "received 'valid' (0 images)")):
        Batches(ds, "valid", 4, seed=0)
    with pytest.raises(ValueError, match=re.escape("argument `batch_size`: expected an int >= 1, received 0")):
        Batches(ds, "train", 0, seed=0)


def test_batches_drive_model_fit(small):
    """A Keras model trains on Batches; fit's first epoch uses `epoch` and the next one epoch + 1."""
    import keras

    class Recording(Batches):
        def __getitem__(self, i):
            seen.add(self.epoch)
            return super().__getitem__(i)

    seen = set()
    model = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    b = Recording(small, "train", 8, seed=0, epoch=3, augment=True, steps=2)
    history = model.fit(b, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and seen == {3, 4} and b.epoch == 4


def test_class_subset_is_relabelled():
    """`classes` keeps only those classes, relabelled in the given order, before the valid split."""
    from enaslite.data import Dataset
    x = np.arange(40 * 4, dtype=np.float32).reshape(40, 2, 2, 1)
    y = np.arange(40) % 4
    d = Dataset.from_arrays(x, y, x[:8], y[:8], valid_size=4, classes=[3, 1])
    assert d.num_classes == 2 and set(np.unique(d.y_train)) == {0, 1}
    assert len(d.y_train) + len(d.y_valid) == 20 and len(d.y_test) == 4
    np.testing.assert_array_equal(d.y_test, [1, 0, 1, 0])  # test labels 1, 3, 1, 3 map to 1, 0, 1, 0
    with pytest.raises(ValueError, match=r"argument `classes`: expected a list of at least 2 distinct class ids in "
                                         r"\[0, 4\), received \[1, 1\]"):
        Dataset.from_arrays(x, y, x[:8], y[:8], valid_size=4, classes=[1, 1])


def test_class_subset_in_config():
    """`data.classes` round-trips through JSON as a tuple and is validated."""
    from enaslite.config import Config, preset
    cfg = preset("smoke", **{"data.classes": [5, 6, 7, 8, 9]})
    assert cfg.data.classes == (5, 6, 7, 8, 9) and Config.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match=r"argument `data.classes`: expected None or a list of at least 2 distinct"):
        preset("smoke", **{"data.classes": [1]})
