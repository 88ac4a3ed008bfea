"""Command line: `python -m enaslite <command> --help`.

Commands:
    retrain   train one architecture from scratch
    params    build a child model and print its parameter count
    search    run ENAS (or a baseline controller) with weight sharing
    sample    reload a saved controller and print sampled architectures
    bench     benchmark supernet and controller speed
Only this module parses flags; library code takes a `Config`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from enaslite.config import PRESETS, preset

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _arc_class(space: str):
    if space == "macro":
        from enaslite.macro_arc import MacroArc
        return MacroArc
    from enaslite.micro_arc import MicroArc
    return MicroArc


def _common(p: argparse.ArgumentParser, epochs_help: str) -> None:
    p.add_argument("--space", choices=("macro", "micro"), help="search space (default: the preset's)")
    p.add_argument("--preset", default="cpu-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--dataset", help="cifar10, cifar100, fashion_mnist, or a path to an .npz with x_train, y_train, "
                                     "x_test, y_test (default: the preset's)")
    p.add_argument("--epochs", type=int, help=epochs_help)
    p.add_argument("--seed", type=int, help="seed for weights, data order, augmentation and the controller")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any config field by dotted path, e.g. --set final.out_filters=32 (repeatable)")
    p.add_argument("--run-dir", required=True, help="run directory (resumed if it holds a checkpoint)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _parse_value(text: str):
    import json
    try:
        return json.loads(text)
    except ValueError:
        return text


def _config(args, phase: str):
    overrides = {}
    if args.space:
        overrides["space"] = args.space
    if args.dataset:
        overrides["data.dataset"] = args.dataset
    if args.epochs is not None:
        overrides[f"{phase}.epochs"] = args.epochs
    if args.seed is not None:
        overrides["seed"] = args.seed
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"argument `--set`: expected FIELD=VALUE, received {item!r}")
        key, value = item.split("=", 1)
        overrides[key.strip()] = _parse_value(value.strip())
    return preset(args.preset, **overrides)


def _read_arc(args, config):
    cls = _arc_class(config.space)
    sources = [s for s in (args.arc, args.arc_file, args.random) if s]
    if len(sources) != 1:
        raise ValueError("argument `--arc/--arc-file/--random`: expected exactly one of them, received "
                         f"{len(sources)}")
    if args.arc:
        return cls.from_string(args.arc)
    if args.arc_file:
        text = Path(args.arc_file).read_text()
        if text.lstrip().startswith("{"):
            import json
            return cls.from_dict(json.loads(text))
        return cls.from_string(text)
    import numpy as np
    rng = np.random.default_rng(config.seed)
    c = config.final
    if config.space == "macro":
        return cls.random(rng, c.num_layers, num_ops=c.num_branches or 6)
    return cls.random(rng, num_nodes=c.num_cells, num_ops=c.num_branches or 5)


def _add_arc_args(p):
    p.add_argument("--arc", help="architecture string (reference printout or flat ints)")
    p.add_argument("--arc-file", help="file holding an architecture string or its JSON dict")
    p.add_argument("--random", action="store_true", help="a uniformly random architecture (seeded by --seed)")


def cmd_retrain(args) -> int:
    config = _config(args, "final")
    arc = _read_arc(args, config)
    from enaslite.retrain import retrain
    print(f"retraining {config.space} arc {arc.to_string()}\n{arc.describe()}", flush=True)
    acc = retrain(arc, config, args.run_dir, verbose=0 if args.quiet else 1)
    print(f"final test accuracy: {acc:.4f}")
    return 0


def cmd_params(args) -> int:
    config = _config(args, "final")
    arc = _read_arc(args, config)
    from enaslite.child import build_child
    c = config.final
    shape = tuple(args.input_shape)
    model = build_child(arc, shape, args.num_classes, num_layers=c.num_layers, out_filters=c.out_filters,
                        keep_prob=c.keep_prob, drop_path_keep_prob=c.drop_path_keep_prob,
                        aux_head=c.aux_weight > 0 and args.aux)
    import numpy as np
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_variables))
    print(f"{config.space} child, {c.num_layers if config.space == 'micro' else arc.num_layers} layers, "
          f"{c.out_filters} filters, input {shape}, {args.num_classes} classes: {model.count_params():,} parameters "
          f"({trainable:,} trainable; the rest are BatchNorm moving statistics)")
    return 0


def cmd_search(args) -> int:
    overrides = {"controller.mode": args.controller}
    if args.reference_macro_bug:
        overrides["reference_macro_bug"] = True
    config = _config(args, "search").override(**overrides)
    from enaslite.search import search
    print(f"search: {config.space} space, {config.data.dataset}, preset {config.preset}, {config.search.epochs} "
          f"epochs, controller {config.controller.mode}", flush=True)
    summary = search(config, args.run_dir, init_controller=args.init_controller, verbose=0 if args.quiet else 1)
    print(f"done: last epoch {summary.get('epoch')}, logged shared-weight acc {summary.get('logged_acc_mean')}")
    return 0


def cmd_sample(args) -> int:
    from enaslite.sample import sample_from_run
    for rec in sample_from_run(args.run_dir, args.epoch, args.n, seed=args.seed):
        acc = "n/a (no supernet checkpoint)" if rec["valid_acc"] is None else f"{rec['valid_acc']:.4f}"
        print(f"{rec['arc']}\n  log_prob={rec['log_prob']:.3f} shared-weight valid_acc={acc}")
    return 0


def cmd_bench(args) -> int:
    from enaslite.bench import run_bench
    overrides = {"space": args.space} if args.space else {}
    run_bench(preset(args.preset, **overrides), args.out, steps=args.steps, repeats=args.repeats,
              num_arcs=args.num_arcs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m enaslite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("retrain", help="train one architecture from scratch")
    _common(p, "number of retraining epochs (final.epochs)")
    _add_arc_args(p)
    p.set_defaults(func=cmd_retrain)

    p = sub.add_parser("params", help="print a child model's parameter count")
    p.add_argument("--space", choices=("macro", "micro"))
    p.add_argument("--preset", default="enas-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--input-shape", type=int, nargs=3, default=(32, 32, 3), metavar=("H", "W", "C"))
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--aux", action="store_true", help="count the auxiliary head too (micro)")
    _add_arc_args(p)
    p.set_defaults(func=cmd_params, dataset=None, epochs=None)

    p = sub.add_parser("search", help="run ENAS (or a baseline controller) with weight sharing")
    _common(p, "number of search epochs (search.epochs)")
    p.add_argument("--controller", choices=("reinforce", "frozen", "uniform"), default="reinforce",
                   help="reinforce: ENAS; frozen: the untrained controller's policy; uniform: random search with "
                        "weight sharing")
    p.add_argument("--init-controller", help="start from these controller weights (.weights.h5), e.g. transfer")
    p.add_argument("--reference-macro-bug", action="store_true",
                   help="reproduce the reference macro search, where the sampled op is inert (spec 2.3)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("sample", help="reload a saved controller and print sampled architectures")
    p.add_argument("--run-dir", required=True, help="a search run directory")
    p.add_argument("--epoch", type=int, required=True, help="epoch whose saved controller weights to load")
    p.add_argument("-n", type=int, default=10, help="number of architectures")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--preset", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("bench", help="benchmark supernet and controller speed (ratios within one run)")
    p.add_argument("--preset", default="cpu-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--space", choices=("macro", "micro"), help="search space (default: the preset's)")
    p.add_argument("--steps", type=int, default=30,
                   help="timed training steps per measurement (a multiple of --num-arcs)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds; the fastest counts")
    p.add_argument("--num-arcs", type=int, default=3, help="sampled architectures shared by both sides of (a)")
    p.add_argument("--out", default="runs/bench", help="directory for the saved table")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
