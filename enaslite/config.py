"""Run configuration: dataclasses with named presets.

A `Config` bundles everything one experiment needs: the search space, the data, the child network used during the
search (`search`), the standalone network used when an architecture is retrained (`final`), and the controller.
Every run directory stores its config as `config.json`; every checkpoint carries it too.

Presets (`preset(name)`):

- ``enas-macro`` / ``enas-micro``: the reference scripts' values (`scripts/cifar10_{macro,micro}_{search,final}.sh`,
  spec section 0), with the controller LSTM of 64 units that `main.py` hard-codes.
- ``thesis-macro`` / ``thesis-micro``: the thesis' hyperparameter tables (section 5). The thesis ran the reference
  code, so fields its tables do not list come from the reference scripts. Its tables give 24 layers / 96 filters
  (macro) and 15 layers / 36 filters (micro), an L2 of 2.5e-4 and a controller lr of 1e-3 for both spaces, and all
  its retrains ran 310 epochs. The paper's (and the thesis') controller has 100 LSTM units. ``thesis-macro``
  searches with the *intended* op selection (every layer runs its sampled op).
- ``thesis-macro-bug``: ``thesis-macro`` with ``reference_macro_bug=True``, the condition the thesis actually ran:
  the reference macro search outputs the max-pool branch in every layer whatever op was sampled (spec 2.3).
- ``cpu-macro`` / ``cpu-micro``: Fashion-MNIST, scaled so that a retrain takes minutes and a search epoch about a
  minute on 2 CPU cores.
- ``cpu-macro-bug``: ``cpu-macro`` with ``reference_macro_bug=True``, to compare the two conditions on the CPU.
- ``smoke``: seconds, for tests.

Every remaining departure from the reference code, and the field that restores the reference's behaviour where
one exists, is listed in docs/departures.md.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Optional

SPACES = ("macro", "micro")
DATASET_NAMES = ("cifar10", "cifar100", "fashion_mnist", "synthetic")
CONTROLLER_MODES = ("reinforce", "frozen", "uniform")


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, and how much of it.

    Attributes:
        dataset: a name known to `load_dataset` (`cifar10`, `cifar100`, `fashion_mnist`) or a path to an `.npz`.
        valid_size: images held out from the *tail* of the training set, as the reference code does (5k).
        train_limit: keep only the first `train_limit` training images (after the valid tail is cut); None = all.
        test_limit: keep only the first `test_limit` test images; None = all.
        classes: keep only these class ids, relabelled 0, 1, ... in this order; None = all (the CPU-scale transfer
            experiment searches on classes 0-4 of Fashion-MNIST and transfers to classes 5-9).
    """

    dataset: str = "cifar10"
    valid_size: int = 5000
    train_limit: Optional[int] = None
    test_limit: Optional[int] = None
    classes: Optional[tuple] = None


@dataclass(frozen=True)
class ChildConfig:
    """A child network and how it is trained (search-time supernet or retrained standalone model).

    Attributes:
        num_layers: macro layers L, or micro "layers" N (the network has N + 2 cells).
        out_filters: F, the channel count of the first stage.
        num_cells: B, computed nodes per micro cell (5 in ENAS).
        num_branches: op choices; None = every op of the space (macro 6, micro 5).
        batch_size, epochs: per step / total.
        steps_per_epoch: None = ceil(N_train / batch_size) as in the reference code.
        l2: L2 rate on every weight, BatchNorm gamma and beta included.
        keep_prob: keep probability of the dropout before the classifier.
        drop_path_keep_prob: micro only; base keep probability of scheduled drop-path (None disables it).
        aux_weight: micro only; weight of the auxiliary head's loss (0 disables the head).
        lr_max, lr_min, lr_t0, lr_tmul: cosine schedule with warm restarts, stepped per epoch.
        cutout: side of the cutout square (None disables it).
        augment: pad-4 + random crop + random horizontal flip on training batches.
        eval_batch_size: batch size for valid / test evaluation.
        grad_bound: None = no gradient clipping (what the reference does, its clipping being a no-op, spec 5.3);
            a number = clip each gradient tensor to this norm (the reference's intent, 5.0).
        aux_trainable: micro only; False freezes the auxiliary head at its initial weights, out of L2, as the
            reference does (spec 3.2).
        eval_dropout: micro search only; keep the classifier dropout on when evaluating (rewards, accuracies), as
            the reference does (spec 3.3).
        reference_fan_in: micro search only; initialise the weight banks and loose-end kernels with the
            reference's fan-in (the bank's row count, spec 5.2) instead of the real one.
        macro_sep_as_conv: macro final only; build separable ops (1, 3) as plain convs, as the reference's fixed
            macro model does (spec 2.4).
    """

    num_layers: int = 12
    out_filters: int = 36
    num_cells: int = 5
    num_branches: Optional[int] = None
    batch_size: int = 128
    epochs: int = 310
    steps_per_epoch: Optional[int] = None
    l2: float = 2.5e-4
    keep_prob: float = 0.9
    drop_path_keep_prob: Optional[float] = None
    aux_weight: float = 0.0
    lr_max: float = 0.05
    lr_min: float = 0.0005
    lr_t0: int = 10
    lr_tmul: int = 2
    cutout: Optional[int] = None
    augment: bool = True
    eval_batch_size: int = 100
    grad_bound: Optional[float] = None
    aux_trainable: bool = True
    eval_dropout: bool = False
    reference_fan_in: bool = False
    macro_sep_as_conv: bool = False


@dataclass(frozen=True)
class ControllerConfig:
    """The LSTM controller and its REINFORCE training (spec section 4).

    Attributes:
        mode: `reinforce` (ENAS), `frozen` (the untrained initial policy), `uniform` (random search with weight
            sharing).
        lstm_size: hidden units (64 in the reference code, 100 in the paper and the thesis).
        tanh_constant: C in C*tanh(logits) (1.5 macro, 1.1 micro).
        op_tanh_reduce: micro op logits use C / op_tanh_reduce.
        temperature: logits /= temperature before the tanh (None = off, as in the scripts).
        entropy_weight: weight of the sampled entropy added to the reward.
        skip_target, skip_weight: macro skip-rate KL penalty toward `skip_target`, weighted by `skip_weight`.
        baseline_decay: EMA decay of the reward baseline.
        lr: Adam learning rate (beta1 = 0, eps = 1e-3 as in the reference).
        train_steps, num_aggregate: per epoch, `train_steps` updates each averaging `num_aggregate` samples.
        num_logged: architectures sampled and scored at the end of each epoch (10 in the reference).
        reward_batch_size: validation minibatch per reward (None = the child batch size, as in the reference).
        save_epochs: epochs (1-based) whose controller weights are kept; empty = first, middle and last.
    """

    mode: str = "reinforce"
    lstm_size: int = 64
    tanh_constant: float = 1.5
    op_tanh_reduce: float = 2.5
    temperature: Optional[float] = None
    entropy_weight: float = 1e-4
    skip_target: float = 0.4
    skip_weight: float = 0.8
    baseline_decay: float = 0.99
    lr: float = 0.001
    train_steps: int = 50
    num_aggregate: int = 20
    num_logged: int = 10
    reward_batch_size: Optional[int] = None
    save_epochs: tuple = ()


@dataclass(frozen=True)
class Config:
    """One experiment: space, data, search child, final child, controller.

    Attributes:
        space: `macro` or `micro`.
        seed: seeds weights, data order, augmentation and the controller.
        reference_macro_bug: reproduce the reference macro search, where every layer's output is the max-pool
            branch whatever op was sampled (spec 2.3). Off by default.
        preset: name of the preset this config started from (informational).
    """

    space: str = "macro"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    search: ChildConfig = field(default_factory=ChildConfig)
    final: ChildConfig = field(default_factory=ChildConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    reference_macro_bug: bool = False
    preset: str = ""

    def __post_init__(self):
        validate(self)

    # -- conversions ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["controller"]["save_epochs"] = list(self.controller.save_epochs)
        if self.data.classes is not None:
            d["data"]["classes"] = list(self.data.classes)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Config":
        return _build(cls, d, "config")

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))

    def override(self, **dotted: Any) -> "Config":
        """Returns a copy with fields replaced; keys are dotted paths such as ``final.epochs`` or ``seed``.

        Unknown names raise `ValueError` listing the valid ones.
        """
        d = self.to_dict()
        for key, value in dotted.items():
            parts = key.split(".")
            node, cls = d, Config
            for depth, part in enumerate(parts):
                valid = [f.name for f in fields(cls)]
                if part not in valid:
                    where = ".".join(parts[:depth]) or "config"
                    raise ValueError(
                        f"argument `{key}`: expected a field of {where}, one of {valid}, received {part!r}"
                    )
                if depth == len(parts) - 1:
                    if dataclasses.is_dataclass(_field_type(cls, part)):
                        raise ValueError(f"argument `{key}`: expected a leaf field, received a section name")
                    node[part] = list(value) if isinstance(value, tuple) else value
                else:
                    cls = _field_type(cls, part)
                    if not dataclasses.is_dataclass(cls):
                        raise ValueError(f"argument `{key}`: expected a section before {parts[depth + 1]!r}, "
                                         f"received the leaf field {part!r}")
                    node = node[part]
        return Config.from_dict(d)

    def child(self, phase: str) -> ChildConfig:
        """The ChildConfig of `phase` (`search` or `final`)."""
        if phase not in ("search", "final"):
            raise ValueError(f"argument `phase`: expected 'search' or 'final', received {phase!r}")
        return getattr(self, phase)


_SECTIONS = {"data": DataConfig, "search": ChildConfig, "final": ChildConfig, "controller": ControllerConfig}


def _field_type(cls, name):
    return _SECTIONS.get(name) if cls is Config else None


def _build(cls, d: Mapping[str, Any], where: str):
    if not isinstance(d, Mapping):
        raise ValueError(f"argument `{where}`: expected a mapping, received {type(d).__name__}")
    valid = [f.name for f in fields(cls)]
    unknown = [k for k in d if k not in valid]
    if unknown:
        raise ValueError(f"argument `{where}`: expected fields among {valid}, received unknown {unknown}")
    kwargs = {}
    for k, v in d.items():
        sub = _SECTIONS.get(k) if cls is Config else None
        if sub is not None:
            kwargs[k] = _build(sub, v, f"{where}.{k}")
        elif k == "save_epochs":
            # Checked here, before the tuple conversion, so a bare int or a string fails naming the field.
            _check(isinstance(v, (list, tuple)), "controller.save_epochs", "a list of 1-based epoch ints", v)
            kwargs[k] = tuple(v)
        elif k == "classes" and v is not None:
            _check(isinstance(v, (list, tuple)), "data.classes", "None or a list of class ids", v)
            kwargs[k] = tuple(v)
        else:
            kwargs[k] = v
    return cls(**kwargs)


def _check(cond: bool, name: str, expected: str, value: Any):
    if not cond:
        raise ValueError(f"argument `{name}`: expected {expected}, received {value!r}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate(cfg: Config) -> None:
    """Fails early, naming the field, on values no run could use."""
    _check(cfg.space in SPACES, "space", f"one of {list(SPACES)}", cfg.space)
    _check(_is_int(cfg.seed), "seed", "an int", cfg.seed)
    d = cfg.data
    _check(isinstance(d.dataset, str) and (d.dataset in DATASET_NAMES or d.dataset.endswith(".npz")),
           "data.dataset", f"one of {list(DATASET_NAMES)} or a path to an .npz file", d.dataset)
    _check(_is_int(d.valid_size) and d.valid_size >= 0, "data.valid_size", "an int >= 0", d.valid_size)
    for name in ("train_limit", "test_limit"):
        v = getattr(d, name)
        _check(v is None or (_is_int(v) and v > 0), f"data.{name}", "None or an int > 0", v)
    _check(d.classes is None or (isinstance(d.classes, tuple) and len(d.classes) >= 2 and len(set(d.classes)) ==
                                 len(d.classes) and all(_is_int(c) and c >= 0 for c in d.classes)),
           "data.classes", "None or a list of at least 2 distinct class ids >= 0", d.classes)
    for phase in ("search", "final"):
        c = cfg.child(phase)
        for name in ("num_layers", "out_filters", "num_cells", "batch_size", "epochs",
                     "lr_t0", "lr_tmul", "eval_batch_size"):
            v = getattr(c, name)
            _check(_is_int(v) and v > 0, f"{phase}.{name}", "an int > 0", v)
        _check(c.out_filters % 2 == 0, f"{phase}.out_filters", "an even int (factorized reductions halve it)",
               c.out_filters)
        _check(c.steps_per_epoch is None or (_is_int(c.steps_per_epoch) and c.steps_per_epoch > 0),
               f"{phase}.steps_per_epoch", "None or an int > 0", c.steps_per_epoch)
        for name in ("l2", "lr_max", "lr_min", "aux_weight"):
            v = getattr(c, name)
            _check(_is_num(v) and v >= 0, f"{phase}.{name}", "a number >= 0", v)
        _check(c.lr_min <= c.lr_max, f"{phase}.lr_min", f"<= lr_max ({c.lr_max})", c.lr_min)
        _check(_is_num(c.keep_prob) and 0 < c.keep_prob <= 1, f"{phase}.keep_prob", "a number in (0, 1]",
               c.keep_prob)
        v = c.drop_path_keep_prob
        _check(v is None or (_is_num(v) and 0 < v <= 1), f"{phase}.drop_path_keep_prob", "None or (0, 1]", v)
        _check(c.cutout is None or (_is_int(c.cutout) and c.cutout > 0), f"{phase}.cutout", "None or an int > 0",
               c.cutout)
        for name in ("augment", "aux_trainable", "eval_dropout", "reference_fan_in", "macro_sep_as_conv"):
            v = getattr(c, name)
            _check(isinstance(v, bool), f"{phase}.{name}", "a bool", v)
        _check(c.grad_bound is None or (_is_num(c.grad_bound) and c.grad_bound > 0), f"{phase}.grad_bound",
               "None or a number > 0", c.grad_bound)
        max_ops = 6 if cfg.space == "macro" else 5
        _check(c.num_branches is None or (_is_int(c.num_branches) and 1 <= c.num_branches <= max_ops),
               f"{phase}.num_branches", f"None or an int in [1, {max_ops}] for the {cfg.space} space",
               c.num_branches)
    k = cfg.controller
    _check(k.mode in CONTROLLER_MODES, "controller.mode", f"one of {list(CONTROLLER_MODES)}", k.mode)
    for name in ("lstm_size", "train_steps", "num_aggregate", "num_logged"):
        v = getattr(k, name)
        _check(_is_int(v) and v > 0, f"controller.{name}", "an int > 0", v)
    for name in ("tanh_constant", "op_tanh_reduce", "lr"):
        v = getattr(k, name)
        _check(v is None or (_is_num(v) and v > 0), f"controller.{name}", "a number > 0", v)
    _check(k.temperature is None or (_is_num(k.temperature) and k.temperature > 0), "controller.temperature",
           "None or a number > 0", k.temperature)
    _check(_is_num(k.baseline_decay) and 0 <= k.baseline_decay < 1, "controller.baseline_decay",
           "a number in [0, 1)", k.baseline_decay)
    _check(_is_num(k.skip_target) and 0 < k.skip_target < 1, "controller.skip_target", "a number in (0, 1)",
           k.skip_target)
    _check(k.reward_batch_size is None or (_is_int(k.reward_batch_size) and k.reward_batch_size > 0),
           "controller.reward_batch_size", "None or an int > 0", k.reward_batch_size)
    _check(isinstance(k.save_epochs, (list, tuple)) and all(_is_int(e) and e > 0 for e in k.save_epochs),
           "controller.save_epochs", "a list of 1-based epoch ints", k.save_epochs)
    _check(isinstance(cfg.reference_macro_bug, bool), "reference_macro_bug", "a bool", cfg.reference_macro_bug)


# -- presets --------------------------------------------------------------------------------------------------------

def _enas_macro() -> Config:
    return Config(
        space="macro",
        data=DataConfig("cifar10", valid_size=5000),
        search=ChildConfig(num_layers=12, out_filters=36, batch_size=128, epochs=310, l2=2.5e-4,
                           keep_prob=0.9, lr_max=0.05, lr_min=0.0005),
        final=ChildConfig(num_layers=24, out_filters=96, batch_size=100, epochs=310, l2=2e-4,
                          keep_prob=0.5, lr_max=0.05, lr_min=0.001),
        controller=ControllerConfig(lstm_size=64, tanh_constant=1.5, lr=0.001, train_steps=50, num_aggregate=20,
                                    entropy_weight=1e-4, skip_target=0.4, skip_weight=0.8),
        preset="enas-macro",
    )


def _enas_micro() -> Config:
    return Config(
        space="micro",
        data=DataConfig("cifar10", valid_size=5000),
        search=ChildConfig(num_layers=6, out_filters=20, num_cells=5, batch_size=160, epochs=150,
                           l2=1e-4, keep_prob=0.9, aux_weight=0.4, lr_max=0.05, lr_min=0.0005),
        final=ChildConfig(num_layers=15, out_filters=36, num_cells=5, batch_size=144, epochs=630,
                          l2=2e-4, keep_prob=0.8, drop_path_keep_prob=0.6, aux_weight=0.4, lr_max=0.05,
                          lr_min=0.0001),
        controller=ControllerConfig(lstm_size=64, tanh_constant=1.1, op_tanh_reduce=2.5, lr=0.0035, train_steps=30,
                                    num_aggregate=10, entropy_weight=1e-4),
        preset="enas-micro",
    )


def _thesis_macro() -> Config:
    base = _enas_macro()
    child = replace(base.search, num_layers=24, out_filters=96, batch_size=128, l2=2.5e-4, keep_prob=0.9,
                    lr_max=0.05, lr_min=0.0005, epochs=310)
    return replace(base, search=child, final=child,
                   controller=replace(base.controller, lstm_size=100, lr=0.001, train_steps=50),
                   preset="thesis-macro")


def _thesis_micro() -> Config:
    base = _enas_micro()
    search = replace(base.search, l2=2.5e-4, keep_prob=0.8, lr_max=0.05, lr_min=0.0005)
    final = replace(base.final, num_layers=15, out_filters=36, batch_size=160, l2=2.5e-4, keep_prob=0.8,
                    lr_max=0.05, lr_min=0.0005, epochs=310)
    return replace(base, search=search, final=final,
                   controller=replace(base.controller, lstm_size=100, lr=0.001, train_steps=50),
                   preset="thesis-micro")


def _cpu_macro() -> Config:
    data = DataConfig("fashion_mnist", valid_size=5000)
    return Config(
        space="macro",
        data=data,
        search=ChildConfig(num_layers=6, out_filters=16, batch_size=64, epochs=20,
                           steps_per_epoch=100, l2=2.5e-4, keep_prob=0.9, lr_max=0.05, lr_min=0.0005, lr_t0=10),
        # One SGDR cycle of 10 epochs (T0 = 10) so the retrain ends at lr_min, as the reference's 310 epochs do.
        # (A 6-epoch cycle reached 89.7% test accuracy on Fashion-MNIST, short of the 90% we aim for; see
        # runs/retrain/cpu-macro-random-seed0-6ep.)
        final=ChildConfig(num_layers=6, out_filters=16, batch_size=128, epochs=10, l2=2e-4,
                          keep_prob=0.8, lr_max=0.05, lr_min=0.001, lr_t0=10, augment=True),
        controller=ControllerConfig(lstm_size=64, tanh_constant=1.5, lr=0.001, train_steps=10, num_aggregate=10,
                                    reward_batch_size=64),
        preset="cpu-macro",
    )


def _thesis_macro_bug() -> Config:
    return replace(_thesis_macro(), reference_macro_bug=True, preset="thesis-macro-bug")


def _cpu_macro_bug() -> Config:
    return replace(_cpu_macro(), reference_macro_bug=True, preset="cpu-macro-bug")


def _cpu_micro() -> Config:
    data = DataConfig("fashion_mnist", valid_size=5000)
    return Config(
        space="micro",
        data=data,
        search=ChildConfig(num_layers=3, out_filters=12, num_cells=5, batch_size=64, epochs=20,
                           steps_per_epoch=40, l2=1e-4, keep_prob=0.9, aux_weight=0.0, lr_max=0.05,
                           lr_min=0.0005),
        final=ChildConfig(num_layers=3, out_filters=16, num_cells=5, batch_size=64, epochs=10,
                          l2=2e-4, keep_prob=0.8, drop_path_keep_prob=0.8, aux_weight=0.0, lr_max=0.05,
                          lr_min=0.0001),
        controller=ControllerConfig(lstm_size=64, tanh_constant=1.1, op_tanh_reduce=2.5, lr=0.0035, train_steps=10,
                                    num_aggregate=5, reward_batch_size=64),
        preset="cpu-micro",
    )


def _smoke() -> Config:
    child = ChildConfig(num_layers=3, out_filters=8, num_cells=2, batch_size=16, epochs=2,
                        steps_per_epoch=4, l2=1e-4, keep_prob=0.9, lr_max=0.05, lr_min=0.001, lr_t0=1,
                        eval_batch_size=64)
    return Config(
        space="macro",
        data=DataConfig("fashion_mnist", valid_size=64, train_limit=256, test_limit=128),
        search=child,
        final=child,
        controller=ControllerConfig(lstm_size=16, train_steps=2, num_aggregate=2, num_logged=2, reward_batch_size=16),
        preset="smoke",
    )


PRESETS = {
    "enas-macro": _enas_macro,
    "enas-micro": _enas_micro,
    "thesis-macro": _thesis_macro,
    "thesis-macro-bug": _thesis_macro_bug,
    "thesis-micro": _thesis_micro,
    "cpu-macro": _cpu_macro,
    "cpu-macro-bug": _cpu_macro_bug,
    "cpu-micro": _cpu_micro,
    "smoke": _smoke,
}


def preset(name: str, **overrides: Any) -> Config:
    """Returns the named preset, with dotted-path `overrides` applied (see `Config.override`)."""
    if name not in PRESETS:
        raise ValueError(f"argument `preset`: expected one of {sorted(PRESETS)}, received {name!r}")
    cfg = PRESETS[name]()
    return cfg.override(**overrides) if overrides else cfg
