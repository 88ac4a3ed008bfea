"""Datasets, the fixed train/valid split, normalisation, augmentation and deterministic batching.

Follows the reference code (spec section 1): pixels / 255, the validation split is the *tail* of the training set
(a fixed split, not a random one), per-channel mean/std come from the training split only, and training batches get
pad-4 + random crop + random horizontal flip (+ optional cutout), channels_last throughout.

Deviations from the reference, and why:
- Batching: the reference samples with TF `shuffle_batch` queues (16 threads, nondeterministic). Here an epoch is
  a seeded permutation padded with random extra indices to a whole number of full batches, so every batch has the
  same shape (no retracing) and a resumed run replays exactly the same data.
- Any NHWC dataset works (`Dataset.from_arrays`, `.npz` files), not only CIFAR-10.
- A constant channel (std 0) is divided by 1 instead of 0.
"""

from __future__ import annotations

import functools
import hashlib
import gzip
import math
import os
import pickle
import zipfile
import zlib

import numpy as np
import keras

from enaslite.config import DATASET_NAMES as DATASETS
SPLITS = ("train", "valid", "test")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
_FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
SYNTHETIC = {"shape": (32, 32, 3), "num_classes": 10, "train": 10_000, "test": 1_000, "seed": 0}
"""`synthetic`: uniform random pixels and labels of CIFAR-10's shape, the same on every call (for speed benchmarks:
nothing to download or read, and nothing to learn)."""


def _fail(name, expected, received):
    raise ValueError(f"argument `{name}`: expected {expected}, received {received}")


def _check_int(value, name, low, none_ok=False):
    if none_ok and value is None:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        shown = value.item() if isinstance(value, np.generic) else value
        _fail(name, f"{'None or ' if none_ok else ''}an int >= {low}", repr(shown))


def _images(x, name):
    x = np.asarray(x)
    if x.ndim == 3:  # (N, H, W) grayscale: add the channel axis
        x = x[..., None]
    if x.ndim != 4:
        _fail(name, "a 4-D NHWC array (N, H, W, C)", f"shape {x.shape}")
    if x.size == 0:
        _fail(name, "a non-empty array", f"shape {x.shape}")
    if np.issubdtype(x.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1))
        if bad.size:
            _fail(name, "finite pixel values", f"NaN or inf in image {bad[0]}")
    elif x.dtype != np.uint8:
        _fail(name, "uint8 (0..255) or float images", f"dtype {x.dtype}")
    return x


def _labels(y, name, n):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        _fail(name, "integer labels of shape (N,) or (N, 1)", f"shape {y.shape}")
    if len(y) != n:
        _fail(name, f"{n} labels (one per image)", f"{len(y)}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        _fail(name, "integer labels", f"dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            _fail(name, "whole-number labels", f"{y[bad[0]].item()!r} at position {bad[0]}")
    if (y < 0).any():
        bad = np.flatnonzero(y < 0)[0]
        _fail(name, "labels >= 0", f"{y[bad].item()!r} at position {bad}")
    return y.astype(np.int32)


def _channel_stats(x):
    """Per-channel mean and std with float64 sums, in chunks so CIFAR does not need a float64 copy."""
    total, squares = np.zeros(x.shape[-1]), np.zeros(x.shape[-1])
    for start in range(0, len(x), 8192):
        chunk = x[start:start + 8192].astype(np.float64)
        total += chunk.sum(axis=(0, 1, 2))
        squares += np.square(chunk).sum(axis=(0, 1, 2))
    count = x.shape[0] * x.shape[1] * x.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
    return mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32)


class Dataset:
    """A normalised NHWC image classification dataset with train / valid / test splits.

    Build one with `Dataset.from_arrays`, `Dataset.from_npz` or `load_dataset`; the constructor only stores
    already-normalised arrays. All arrays are made read-only, so batches and views can never corrupt the data.

    Attributes:
        x_train, x_valid, x_test: float32 arrays (N, H, W, C), normalised with the train split's statistics.
        y_train, y_valid, y_test: int32 label vectors. `x_valid` / `y_valid` are empty when `valid_size=0`.
        name, num_classes: dataset name and class count.
        mean, std: float32 per-channel statistics of the train split, in the input's pixel units ([0, 1] for uint8).
    """

    def __init__(self, x_train, y_train, x_valid, y_valid, x_test, y_test, *, name, num_classes, mean, std):
        self.x_train, self.y_train = x_train, y_train
        self.x_valid, self.y_valid = x_valid, y_valid
        self.x_test, self.y_test = x_test, y_test
        for array in (x_train, y_train, x_valid, y_valid, x_test, y_test):
            array.flags.writeable = False
        self.name, self.num_classes, self.mean, self.std = name, int(num_classes), mean, std

    @classmethod
    def from_arrays(cls, x_train, y_train, x_test, y_test, *, valid_size=5000, train_limit=None, test_limit=None,
                    num_classes=None, name="arrays", classes=None):
        """Splits, validates and normalises raw arrays.

        Images are NHWC of any H, W and channel count ((N, H, W) gets a channel axis). uint8 images are divided
        by 255; float images are taken as-is, in whatever range they have (mean/std are then in those units).
        Labels are integers (or whole-number floats), shape (N,) or (N, 1).

        Args:
            valid_size: the last `valid_size` training images form the valid split (0 = no valid split).
            train_limit: keep the first `train_limit` of the remaining training images (None or more = all).
            test_limit: keep the first `test_limit` test images (None or more = all).
            num_classes: None = 1 + the largest label in train and test.
            name: shown by `summary()`.
            classes: keep only the images of these class ids, relabelled 0, 1, ... in this order (e.g. the two
                disjoint halves of a dataset's classes for the transfer experiment); None = all classes. Applied
                before the valid split and the limits.
        """
        x_train, x_test = _images(x_train, "x_train"), _images(x_test, "x_test")
        y_train, y_test = _labels(y_train, "y_train", len(x_train)), _labels(y_test, "y_test", len(x_test))
        if x_test.shape[1:] != x_train.shape[1:]:
            _fail("x_test", f"images of shape (H, W, C) = {x_train.shape[1:]} like `x_train`", f"{x_test.shape[1:]}")
        _check_int(valid_size, "valid_size", 0)
        if valid_size >= len(x_train):
            _fail("valid_size", f"an int smaller than the {len(x_train)} training images", repr(valid_size))
        _check_int(train_limit, "train_limit", 1, none_ok=True)
        _check_int(test_limit, "test_limit", 1, none_ok=True)
        if num_classes is None:
            num_classes = int(max(y_train.max(), y_test.max())) + 1
        _check_int(num_classes, "num_classes", 2)
        for y, split in ((y_train, "y_train"), (y_test, "y_test")):
            if (y >= num_classes).any():
                bad = np.flatnonzero(y >= num_classes)[0]
                _fail(split, f"labels < num_classes ({num_classes})", f"{y[bad].item()} at position {bad}")

        if classes is not None:
            x_train, y_train, x_test, y_test = _select_classes(classes, num_classes, x_train, y_train, x_test,
                                                               y_test)
            num_classes = len(classes)
            if valid_size >= len(x_train):
                _fail("valid_size", f"an int smaller than the {len(x_train)} training images of classes "
                                    f"{list(classes)}", repr(valid_size))
        cut = len(x_train) - valid_size
        splits = [(x_train[:cut][:train_limit], y_train[:cut][:train_limit]), (x_train[cut:], y_train[cut:]),
                  (x_test[:test_limit], y_test[:test_limit])]
        # astype copies, so the in-place scaling and normalisation below never touch the caller's arrays.
        xs = [x.astype(np.float32) for x, _ in splits]
        for x, (raw, _) in zip(xs, splits):
            if raw.dtype == np.uint8:
                x /= 255
        mean, std = _channel_stats(xs[0])
        for x in xs:
            x -= mean
            x /= std
        return cls(xs[0], splits[0][1], xs[1], splits[1][1], xs[2], splits[2][1], name=name,
                   num_classes=num_classes, mean=mean, std=std)

    @classmethod
    def from_npz(cls, path, **kwargs):
        """Loads an `.npz` holding `x_train`, `y_train`, `x_test`, `y_test`; kwargs go to `from_arrays`."""
        if not os.path.isfile(path):
            _fail("dataset", "an existing .npz file", repr(str(path)))
        found = _read_npz(path)
        if isinstance(found, str):
            _fail("dataset", f"an .npz with arrays {', '.join(_NPZ_KEYS)}", f"{str(path)!r} ({found})")
        missing = [k for k in _NPZ_KEYS if k not in found]
        if missing:
            _fail("dataset", f"an .npz with keys {list(_NPZ_KEYS)} (missing {missing})",
                  f"{str(path)!r} holding {sorted(found)}")
        arrays = [found[k] for k in _NPZ_KEYS]
        kwargs.setdefault("name", os.path.splitext(os.path.basename(str(path)))[0])
        return cls.from_arrays(*arrays, **kwargs)

    @property
    def input_shape(self):
        """(H, W, C) of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def split(self, name):
        """(x, y) of split `name` ("train", "valid" or "test")."""
        if name not in SPLITS:
            _fail("split", f"one of {list(SPLITS)}", repr(name))
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def num_examples(self, split):
        return len(self.split(split)[1])

    def summary(self):
        h, w, c = self.input_shape
        sizes = ", ".join(f"{s} {self.num_examples(s)}" for s in SPLITS)
        return f"{self.name}: {sizes}; images {h}x{w}x{c}; {self.num_classes} classes"

    def __repr__(self):
        return f"<Dataset {self.summary()}>"

    def fingerprint(self) -> dict:
        """Identity of the data a run saw: name, shapes, class count, split sizes and a hash of every array.

        Run directories store it, so a run resumed or extended with other data is refused before anything is
        written. Cached: the arrays of a `Dataset` are never modified after construction.
        """
        if getattr(self, "_fingerprint", None) is None:
            h = hashlib.blake2b(digest_size=16)
            for split in SPLITS:
                for a in self.split(split):
                    h.update(str((a.dtype.str, a.shape)).encode())
                    h.update(np.ascontiguousarray(a).data)
            self._fingerprint = {"name": self.name, "num_classes": int(self.num_classes),
                                 "input_shape": list(self.input_shape),
                                 "sizes": {s: self.num_examples(s) for s in SPLITS}, "hash": h.hexdigest()}
        return dict(self._fingerprint)


def _select_classes(classes, num_classes, x_train, y_train, x_test, y_test):
    """The images of `classes` only, labels mapped to their position in `classes`."""
    ok = (isinstance(classes, (list, tuple)) and len(classes) >= 2 and len(set(classes)) == len(classes)
          and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < num_classes
                  for c in classes))
    if not ok:
        _fail("classes", f"a list of at least 2 distinct class ids in [0, {num_classes})", repr(classes))
    lookup = np.full(num_classes, -1, np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    out = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        keep = lookup[y] >= 0
        out += [x[keep], lookup[y[keep]]]
    return out


# -- loading --------------------------------------------------------------------------------------------------------

def _read_idx(path):
    """One idx file (big-endian header: 2 zero bytes, dtype code, ndim, then ndim uint32 sizes)."""
    with gzip.open(path, "rb") as f:
        buf = f.read()
    if buf[:2] != b"\x00\x00" or buf[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = np.frombuffer(buf, ">u4", count=buf[3], offset=4).astype(int)
    return np.frombuffer(buf, np.uint8, offset=4 + 4 * buf[3]).reshape(dims)


def _read_npz(path):
    """{name: array} of an .npz (only the dataset keys are loaded; other names map to None), or a short reason why
    the file is not a readable .npz."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic == b"\x93NUMPY":
            return "a single .npy array, not an .npz archive"
        if not magic.startswith(b"PK"):  # every zip archive starts with "PK"
            return "not a zip archive" if magic else "an empty file"
        # allow_pickle=False: unpickling a dataset file could run arbitrary code.
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] if k in _NPZ_KEYS else None for k in npz.files}
    except OSError as e:
        return e.strerror or f"{type(e).__name__}: {e}"
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        return f"corrupt archive: {e}"
    except ValueError as e:  # numpy's refusal of object arrays, or a malformed .npy header
        if "allow_pickle" in str(e):
            return "it holds pickled Python objects, which are not loaded"
        return f"unreadable array: {str(e).splitlines()[0]}"


@functools.lru_cache(maxsize=4)
def _read_fashion_mnist(data_dir):
    """Decoded uint8 arrays (read-only: np.frombuffer over bytes), cached because tests load them often."""
    paths = [os.path.join(data_dir, f) for f in _FASHION_FILES]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Fashion-MNIST: missing {missing}; expected the idx .gz files {list(_FASHION_FILES)}")
    return tuple(_read_idx(p) for p in paths)


_KERAS_ARCHIVES = {"cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py-target_archive"),
                   "cifar100": ("cifar-100-python.tar.gz", "cifar-100-python-target_archive")}


def _synthetic_arrays():
    s = SYNTHETIC
    rng = np.random.default_rng(s["seed"])
    arrays = []
    for split in ("train", "test"):
        arrays += [rng.integers(0, 256, (s[split], *s["shape"]), dtype=np.uint8),
                   rng.integers(0, s["num_classes"], s[split], dtype=np.int32)]
    return arrays


def _keras_arrays(name):
    module = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = (module.load_data(label_mode="fine") if name == "cifar100"
                                                else module.load_data())
    except Exception as e:  # offline and not cached: say where the files go
        if name in _KERAS_ARCHIVES:  # keras 3.15's get_file extracts this file on every call
            where = (f"save {_KERAS_ARCHIVES[name][0]} as ~/.keras/datasets/{_KERAS_ARCHIVES[name][1]} "
                     f"($KERAS_HOME/datasets if set), or pass data_dir=<folder of the extracted python pickles>")
        else:
            where = f"put the idx .gz files in {FASHION_MNIST_DIR} or pass data_dir=<their folder>"
        raise RuntimeError(f"could not load {name!r} through keras.datasets ({type(e).__name__}: {e}). Offline, "
                           f"{where}, or pass the path of an .npz holding {', '.join(_NPZ_KEYS)}.") from e
    return x_train, y_train, x_test, y_test


def _unpickle(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"missing {path}; expected the extracted CIFAR python pickles")
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")  # written by Python 2 cPickle


def _read_cifar_pickles(data_dir, name):
    """The reference code's input: the python pickles, in `data_dir` or its extracted `cifar-*` subfolder."""
    sub, key, groups = {
        "cifar10": ("cifar-10-batches-py", b"labels", ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"])),
        "cifar100": ("cifar-100-python", b"fine_labels", (["train"], ["test"]))}[name]
    folder = os.path.join(data_dir, sub) if os.path.isdir(os.path.join(data_dir, sub)) else data_dir
    arrays = []
    for files in groups:  # (train files, test files); rows are flattened NCHW images
        loaded = [_unpickle(os.path.join(folder, f)) for f in files]
        x = np.concatenate([np.asarray(d[b"data"], np.uint8) for d in loaded])
        arrays += [x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.concatenate([d[key] for d in loaded])]
    return arrays


def load_dataset(name, *, valid_size=None, train_limit=None, test_limit=None, data_dir=None,
                 classes=None) -> Dataset:
    """Loads a dataset by name (see `DATASETS`) or from an `.npz` path.

    Args:
        valid_size: tail of the training set held out as "valid"; None = 5000 (CIFAR 45k/5k, Fashion-MNIST 55k/5k).
        train_limit, test_limit: see `Dataset.from_arrays`.
        data_dir: Fashion-MNIST: folder of the idx .gz files (default `FASHION_MNIST_DIR`, then keras' download);
            CIFAR: folder of the extracted python pickles (default: `keras.datasets`).
    """
    kw = dict(valid_size=5000 if valid_size is None else valid_size, train_limit=train_limit, test_limit=test_limit,
              classes=classes)
    if isinstance(name, (str, os.PathLike)) and str(name).endswith(".npz"):
        return Dataset.from_npz(name, **kw)
    if name not in DATASETS:
        _fail("dataset", f"one of {list(DATASETS)} or a path to an .npz file", repr(name))
    if name == "synthetic":
        arrays = _synthetic_arrays()
    elif name == "fashion_mnist":
        folder = data_dir or FASHION_MNIST_DIR
        if data_dir or all(os.path.isfile(os.path.join(folder, f)) for f in _FASHION_FILES):
            arrays = _read_fashion_mnist(os.path.abspath(folder))
        else:
            arrays = _keras_arrays(name)
    else:
        arrays = _read_cifar_pickles(data_dir, name) if data_dir else _keras_arrays(name)
    return Dataset.from_arrays(*arrays, name=name, num_classes=100 if name == "cifar100" else 10, **kw)


def load_dataset_from_config(data_cfg) -> Dataset:
    """`load_dataset` with the fields of a `DataConfig`."""
    classes = getattr(data_cfg, "classes", None)
    return load_dataset(data_cfg.dataset, valid_size=data_cfg.valid_size, train_limit=data_cfg.train_limit,
                        test_limit=data_cfg.test_limit, classes=None if classes is None else list(classes))


# -- augmentation and batching --------------------------------------------------------------------------------------

def augment_batch(x, rng, *, pad=4, flip=True, cutout=None) -> np.ndarray:
    """Reference training augmentation of a normalised NHWC batch, vectorised (returns a new array).

    Zero-pads `pad` pixels per side, crops back to H x W at a random offset per image, flips each image
    horizontally with probability 1/2, and, if `cutout` is set, zeroes (all channels) a `cutout`-sided square whose
    top-left corner is uniform over [0, H-1] x [0, W-1], clipped at the border (spec section 1; not centred).
    """
    x = np.asarray(x)
    if x.ndim != 4:
        _fail("x", "a 4-D NHWC array (N, H, W, C)", f"shape {x.shape}")
    _check_int(pad, "pad", 0)
    _check_int(cutout, "cutout", 1, none_ok=True)
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows = rng.integers(0, 2 * pad + 1, n)[:, None] + np.arange(h)
    cols = rng.integers(0, 2 * pad + 1, n)[:, None] + np.arange(w)
    if flip:  # a flip is a reversed column index, so crop and flip are one gather
        cols = np.where((rng.random(n) < 0.5)[:, None], cols[:, ::-1], cols)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if cutout is not None:
        r, s = rng.integers(0, h, n)[:, None], rng.integers(0, w, n)[:, None]
        in_rows = (np.arange(h) >= r) & (np.arange(h) < r + cutout)
        in_cols = (np.arange(w) >= s) & (np.arange(w) < s + cutout)
        out[in_rows[:, :, None] & in_cols[:, None, :]] = 0
    return out


def steps_per_epoch(dataset, split, batch_size) -> int:
    """ceil(N / batch_size), the reference's definition of an epoch."""
    _check_int(batch_size, "batch_size", 1)
    return math.ceil(dataset.num_examples(split) / batch_size)


class Batches(keras.utils.PyDataset):
    """Deterministic, fixed-shape batches of one split, usable by `model.fit` or indexed directly.

    Epoch `e` uses the permutation drawn from `np.random.default_rng([seed, e])`, padded with extra random indices
    (or truncated) to `len(self) * batch_size`, so every batch is full-size; batch `i` is augmented with
    `np.random.default_rng([seed, e, i])`. A batch is thus a pure function of (seed, epoch, i): a resumed run
    replays the same data. With `shuffle=False` the order is 0..N-1 and the last batch wraps around to the start.
    Under `model.fit` the first epoch uses `epoch` and each later one the next (see `on_epoch_begin`); a manual
    loop calls `set_epoch(e)`. Pass `steps` here rather than `steps_per_epoch` to `fit`.

    Args:
        dataset, split: a `Dataset` and "train", "valid" or "test".
        batch_size: images per batch.
        seed, epoch: ints >= 0.
        augment: apply `augment_batch` (pad 4, crop, flip); `cutout` is its cutout side (None = off).
        steps: batches per epoch; None = ceil(N / batch_size).
        shuffle: permute each epoch (False gives sequential, wrap-padded batches).
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of `keras.utils.PyDataset`.
    """

    def __init__(self, dataset, split, batch_size, *, seed, epoch=0, augment=False, cutout=None, steps=None,
                 shuffle=True, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = dataset.split(split)
        if len(self.y) == 0:
            _fail("split", "a split with at least one image", f"{split!r} (0 images)")
        for value, name, low in ((batch_size, "batch_size", 1), (seed, "seed", 0), (epoch, "epoch", 0)):
            _check_int(value, name, low)
        _check_int(steps, "steps", 1, none_ok=True)
        _check_int(cutout, "cutout", 1, none_ok=True)
        self.batch_size, self.seed, self.epoch = int(batch_size), int(seed), int(epoch)
        self.augment, self.cutout, self.shuffle = bool(augment), cutout, bool(shuffle)
        self.steps = steps or steps_per_epoch(dataset, split, batch_size)
        self._order_cache, self._started = (None, None), False

    def __len__(self):
        return self.steps

    def _order(self):
        epoch, order = self._order_cache  # one tuple, so concurrent workers never see a half-updated cache
        if epoch != self.epoch:
            n, total = len(self.y), self.steps * self.batch_size
            if self.shuffle:
                rng = np.random.default_rng([self.seed, self.epoch])
                order = np.concatenate([rng.permutation(n), rng.integers(0, n, max(total - n, 0))])[:total]
            else:
                order = np.arange(total) % n
            self._order_cache = (self.epoch, order)
        return order

    def __getitem__(self, i):
        if not 0 <= i < self.steps:
            raise IndexError(f"batch index {i} out of range for {self.steps} batches")
        idx = self._order()[i * self.batch_size:(i + 1) * self.batch_size]
        x = self.x[idx]
        if self.augment:
            x = augment_batch(x, np.random.default_rng([self.seed, self.epoch, i]), cutout=self.cutout)
        return x, self.y[idx]

    def set_epoch(self, epoch):
        """Makes the following batches, and the next `fit` epoch, come from data epoch `epoch`."""
        _check_int(epoch, "epoch", 0)
        self.epoch, self._started = int(epoch), False

    def on_epoch_begin(self):
        # Keras calls this at the start of every fit epoch, but calls on_epoch_end once more (in reset) before the
        # first one, so the epoch advances here: the first epoch run uses `epoch`, each later one the next.
        if self._started:
            self.epoch += 1
        self._started = True


def eval_batches(dataset, split, batch_size):
    """Yields exact, unpadded (x, y) batches of `split` in order (read-only views; the last one may be smaller)."""
    _check_int(batch_size, "batch_size", 1)
    x, y = dataset.split(split)
    for start in range(0, len(y), batch_size):
        yield x[start:start + batch_size], y[start:start + batch_size]
