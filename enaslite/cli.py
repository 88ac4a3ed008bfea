"""Command line: `python -m enaslite <command> --help`.

Commands:
    retrain   train one architecture from scratch
    params    build a child model and print its parameter count
    search    run ENAS (or a baseline controller) with weight sharing
    sample    reload a saved controller and print sampled architectures
    bench     benchmark supernet and controller speed, or enaslite against NNI 2.8 (--peer nni)
    tensorboard  write a run's TensorBoard event files from its metrics
    results   a table of every run directory under a folder
Only this module parses flags; library code takes a `Config`.

A user error is one line on stderr, "error: argument `X`: expected ..., received ...", and exit status 2, found
before any training starts; Ctrl-C prints one line and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from pathlib import Path

from enaslite.config import PRESETS, preset
from enaslite.peer import PEERS
from enaslite.runs import RunDir, finished_message

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as one-line `ValueError`s in the house style instead of usage + exit."""

    def error(self, message):
        message = re.sub(r"^argument ([^:]+): invalid choice: (.*) \(choose from (.*)\)$",
                         r"argument \1: expected one of \3, received \2", message)
        message = re.sub(r"^the following arguments are required: (.*)$",
                         r"argument \1: expected a value (required), received none", message)
        message = re.sub(r"^(argument [^:]+: expected one argument)$", r"\1, received none", message)
        message = re.sub(r"^(argument [^:]+: expected \d+ arguments)$", r"\1, received fewer", message)
        message = re.sub(r"^unrecognized arguments: (.*)$",
                         r"argument \1: expected an option of this command (see --help), received an unknown one",
                         message)
        message = re.sub(r"^argument ([^:]+):", r"argument `\1`:", message)
        raise ValueError(message)


def _int_at_least(low: int):
    """An argparse `type` accepting ints >= `low`; argparse prefixes the flag to the message."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}, received {text!r}")
        return value
    return parse


def _one_line(message) -> str:
    return " ".join(str(message).split("\n"))


def _arc_class(space: str):
    if space == "macro":
        from enaslite.macro_arc import MacroArc
        return MacroArc
    from enaslite.micro_arc import MicroArc
    return MicroArc


def _common(p: argparse.ArgumentParser, epochs_help: str) -> None:
    p.add_argument("--space", choices=("macro", "micro"), help="search space (default: the preset's)")
    p.add_argument("--preset", default="cpu-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--dataset", help="cifar10, cifar100, fashion_mnist, synthetic, or a path to an .npz with x_train, "
                                     "y_train, x_test, y_test (default: the preset's)")
    p.add_argument("--epochs", type=_int_at_least(1), help=epochs_help)
    p.add_argument("--seed", type=_int_at_least(0), help="seed for weights, data order, augmentation and the controller")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any config field by dotted path, e.g. --set final.out_filters=32 (repeatable)")
    p.add_argument("--run-dir", required=True, help="run directory (resumed if it holds a checkpoint; a finished "
                                                    "run is left as it is)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run already in --run-dir (even a finished one) and start again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _parse_value(text: str):
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
    config = preset(args.preset, **overrides)
    sets = []
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"argument `--set`: expected FIELD=VALUE, received {item!r}")
        key, value = item.split("=", 1)
        sets.append((item, key.strip(), _parse_value(value.strip())))
    try:
        return config.override(**{key: value for _, key, value in sets})
    except (ValueError, TypeError) as e:
        error = e
    # Name the item at fault: the first one that fails on its own (else all of them: a clash between fields).
    for item, key, value in sets:
        try:
            config.override(**{key: value})
        except (ValueError, TypeError) as e:
            raise _set_error(item, key, value, e) from None
    raise _set_error(" --set ".join(args.set), None, None, error) from None


def _set_error(item: str, key, value, error: Exception) -> ValueError:
    message = _one_line(error)
    inner = f"argument `{key}`: "
    if key is None or message.startswith(inner):  # the config's own house-style message
        return ValueError(f"argument `--set {item}`: {message.removeprefix(inner)}")
    return ValueError(f"argument `--set {item}`: expected a valid value for `{key}`, received {value!r} "
                      f"({type(error).__name__}: {message})")


def _read_arc(args, config):
    cls = _arc_class(config.space)
    sources = [s for s in (args.arc, args.arc_file, args.random) if s]
    if len(sources) != 1:
        raise ValueError("argument `--arc/--arc-file/--random`: expected exactly one of them, received "
                         f"{len(sources)}")
    if args.arc:
        return cls.from_string(args.arc)
    if args.arc_file:
        return _read_arc_file(cls, args.arc_file)
    from enaslite.retrain import random_final_arc
    return random_final_arc(config)


def _read_arc_file(cls, path: str):
    def fail(expected, received):
        return ValueError(f"argument `--arc-file`: expected {expected}, received {received}")

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("an existing file", f"{path!r}, which does not exist") from None
    except IsADirectoryError:
        raise fail("a file", f"the directory {path!r}") from None
    except UnicodeDecodeError as e:
        raise fail("a UTF-8 text file", f"{path!r} ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise fail("a readable file", f"{path!r} ({e.strerror or e})") from None
    if not text.lstrip().startswith("{"):
        return cls.from_string(text)
    try:
        d = json.loads(text)
    except ValueError as e:
        raise fail(f"a JSON architecture dict in {path}",
                   f"invalid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    return cls.from_dict(d)


def _load_data(config):
    """The dataset, loaded and validated here so a bad one is refused before the run directory is touched."""
    from enaslite.data import load_dataset_from_config
    return load_dataset_from_config(config.data)


def _check_init_controller(path) -> None:
    """Refuses a path that cannot be controller weights, before search() creates anything."""
    def fail(received):
        raise ValueError(f"argument `--init-controller`: expected a controller .weights.h5 file (as search saves "
                         f"them), received {received}")

    p = Path(path)
    if not p.exists():
        fail(f"{path!r}, which does not exist")
    if not p.is_file():
        fail(f"{path!r}, which is not a file")
    if not p.name.endswith(".weights.h5"):
        fail(f"{path!r}, whose name does not end in .weights.h5")  # keras' load_weights dispatches on the suffix
    if not os.access(p, os.R_OK):
        fail(f"{path!r}, which is not readable")
    import h5py
    if not h5py.is_hdf5(p):
        fail(f"{path!r}, which is not an HDF5 file")


def _add_arc_args(p):
    p.add_argument("--arc", help="architecture string (reference printout or flat ints)")
    p.add_argument("--arc-file", help="file holding an architecture string or its JSON dict")
    p.add_argument("--random", action="store_true", help="a uniformly random architecture (seeded by --seed)")


def cmd_retrain(args) -> int:
    config = _config(args, "final")
    arc = _read_arc(args, config)
    from enaslite.retrain import check_arc, retrain
    check_arc(arc, config)
    data = _load_data(config)
    print(f"retraining {config.space} arc {arc.to_string()}\n{arc.describe()}", flush=True)
    already = _finished(args.run_dir, config.final.epochs, args.overwrite, "final.epochs")
    acc = retrain(arc, config, args.run_dir, data, verbose=0 if args.quiet else 1, overwrite=args.overwrite)
    if already:
        print(finished_message(RunDir(args.run_dir), f"{already['epochs']} epochs, test accuracy {acc:.4f}"))
    print(f"final test accuracy: {acc:.4f}")
    return 0


def _finished(run_dir, epochs: int, overwrite: bool, field: str):
    """The stored summary when `run_dir` is a run finished with at least `epochs` epochs (it will not be touched)."""
    return None if overwrite else RunDir(run_dir).finished_for(epochs, field)


def cmd_params(args) -> int:
    config = _config(args, "final")
    arc = _read_arc(args, config)
    from enaslite.child import build_child
    from enaslite.retrain import check_arc
    check_arc(arc, config)
    c = config.final
    shape = tuple(args.input_shape)
    model = build_child(arc, shape, args.num_classes, num_layers=c.num_layers, out_filters=c.out_filters,
                        keep_prob=c.keep_prob, drop_path_keep_prob=c.drop_path_keep_prob,
                        aux_head=c.aux_weight > 0 and args.aux, aux_trainable=c.aux_trainable,
                        macro_sep_as_conv=c.macro_sep_as_conv)
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
    if args.init_controller is not None:
        _check_init_controller(args.init_controller)
    data = _load_data(config)
    from enaslite.search import search
    print(f"search: {config.space} space, {config.data.dataset}, preset {config.preset}, {config.search.epochs} "
          f"epochs, controller {config.controller.mode}", flush=True)
    already = _finished(args.run_dir, config.search.epochs, args.overwrite, "search.epochs")
    summary = search(config, args.run_dir, data, init_controller=args.init_controller,
                     verbose=0 if args.quiet else 1, overwrite=args.overwrite)
    if already:
        print(finished_message(RunDir(args.run_dir), f"{already['epochs']} search epochs"))
    print(f"done: last epoch {summary.get('epoch')}, logged shared-weight acc {summary.get('logged_acc_mean')}")
    return 0


def cmd_sample(args) -> int:
    from enaslite.sample import sample_from_run
    recs = sample_from_run(args.run_dir, args.epoch, args.n, seed=args.seed, num_valid=args.num_valid)
    scored = f"on {recs[0]['num_valid']} validation images" if recs[0]["valid_acc"] is not None else "unscored"
    print(f"{len(recs)} architectures from the controller of epoch {args.epoch} (seed {args.seed}); scored "
          f"{scored} with {recs[0]['weights']}")
    for rec in recs:
        acc = "n/a" if rec["valid_acc"] is None else f"{rec['valid_acc']:.4f}"
        print(f"{rec['arc']}\n  log_prob={rec['log_prob']:.3f} shared-weight valid_acc={acc}")
    return 0


def _check_bench_out(out: str, files, overwrite: bool) -> None:
    """Refuses, before the benchmark runs, an --out that cannot take the results or would overwrite some."""
    def fail(expected, received):
        raise ValueError(f"argument `--out`: expected {expected}, received {received}")

    p = Path(out)
    if p.exists() and not p.is_dir():
        fail("a directory", f"the file {out!r}")
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        fail("a directory path", f"{out!r}, which lies under the file {str(probe)!r}")
    if not os.access(probe, os.W_OK | os.X_OK):
        fail("a writable directory", f"{out!r} ({str(probe)!r} is not writable)")
    existing = [f.name for f in files if f.exists()]
    if existing and not overwrite:
        fail("a directory without this benchmark's results (pass --overwrite to replace them)",
             f"{out!r} holding {existing}")


def cmd_bench(args) -> int:
    config = _config(args, "search")
    if args.peer is None:
        for flag, value in (("--peer-python", args.peer_python), ("--peer-example", args.peer_example),
                            ("--rounds", args.rounds)):
            if value is not None:
                raise ValueError(f"argument `{flag}`: expected it only with --peer nni, received {value!r} without "
                                 f"--peer")
        from enaslite.bench import output_paths, run_bench
        _check_bench_out(args.out, output_paths(config, args.out), args.overwrite)
        run_bench(config, args.out, steps=args.steps or 30, repeats=args.repeats or 5, num_arcs=args.num_arcs or 3,
                  retrain=args.retrain)
        return 0
    for flag, value in (("--repeats", args.repeats), ("--num-arcs", args.num_arcs)):
        if value is not None:
            raise ValueError(f"argument `{flag}`: expected it only without --peer (use --rounds), received {value!r} "
                             f"with --peer {args.peer}")
    if args.retrain:
        raise ValueError(f"argument `--retrain`: expected it only without --peer, received it with --peer {args.peer}")
    from enaslite import peer
    _check_bench_out(args.out, peer.output_paths(config, args.out, args.peer), args.overwrite)
    peer.run_peer_bench(config, peer=args.peer, peer_python=args.peer_python, example_dir=args.peer_example,
                        rounds=args.rounds or 5, steps=args.steps or 30, out_dir=args.out)
    return 0


def cmd_show(args) -> int:
    from enaslite import diagrams
    arc = _arc_class(args.space).from_string(args.arc)
    if args.cell is not None and args.space != "micro":
        raise ValueError(f"argument `--cell`: expected it only with --space micro, received {args.cell!r} with "
                         f"--space {args.space}")
    cells = {"normal": ("normal",), "reduce": ("reduce",)}.get(args.cell, ("normal", "reduce"))
    options = {"cells": cells} if args.space == "micro" else {}
    if args.output is not None and Path(args.output).suffix.lstrip(".").lower() not in diagrams.FORMATS:
        raise ValueError(f"argument `-o`: expected a file ending in one of "
                         f"{['.' + f for f in diagrams.FORMATS]}, received {args.output!r}")
    print(arc.describe())
    if args.output is None:
        print(diagrams.to_dot(arc, title=args.title, **options), end="")
        return 0
    path = diagrams.save(arc, args.output, title=args.title, **options)
    print(f"wrote {path}")
    return 0


def cmd_tensorboard(args) -> int:
    from enaslite import tensorboard
    tensorboard.check_run_dir(args.run_dir)
    reason = tensorboard.unavailable()
    if reason is not None:
        raise RuntimeError(f"cannot write TensorBoard event files: {reason}")
    files = tensorboard.write_from_metrics(args.run_dir)
    logdir = tensorboard.log_dir(args.run_dir)
    print(f"wrote {len(files)} event files (one per epoch) under {logdir}")
    print(f"open them with: tensorboard --logdir {shlex.quote(str(logdir))}")
    return 0


def cmd_results(args) -> int:
    from enaslite.summary import format_table, summarize_all
    rows = summarize_all(args.runs_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(format_table(rows))
    else:
        print(f"no run directories under {args.runs_dir}")
    return 0


def cmd_reproduce(args) -> int:
    from enaslite.study.reproduce import check, reproduce
    if args.check:
        missing = check(args.scale, args.dataset, args.runs_dir, args.seeds)
        where = args.runs_dir or "runs"
        if missing:
            shown = "\n  ".join(missing[:20]) + (f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else "")
            print(f"{len(missing)} run(s) of the book at scale {args.scale} are not finished in {where} (reproduce "
                  f"would compute them):\n  {shown}")
            return 1
        print(f"every run of the book at scale {args.scale} is finished in {where}: reproduce computes nothing")
        return 0
    reproduce(args.scale, args.dataset, args.runs_dir, args.out, args.seeds, ray=args.ray,
              ray_address=args.ray_address, ray_threads_per_job=args.ray_threads_per_job)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m enaslite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("retrain", help="train one architecture from scratch")
    _common(p, "number of retraining epochs (final.epochs)")
    _add_arc_args(p)
    p.set_defaults(func=cmd_retrain)

    p = sub.add_parser("params", help="print a child model's parameter count")
    p.add_argument("--space", choices=("macro", "micro"))
    p.add_argument("--preset", default="enas-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--seed", type=_int_at_least(0), default=None)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--input-shape", type=_int_at_least(1), nargs=3, default=(32, 32, 3), metavar=("H", "W", "C"))
    p.add_argument("--num-classes", type=_int_at_least(1), default=10)
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
    p.add_argument("--epoch", type=_int_at_least(1), required=True,
                   help="epoch (1-based) whose saved controller weights to load")
    p.add_argument("-n", type=_int_at_least(1), default=10, help="number of architectures")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="sampling seed")
    p.add_argument("--num-valid", type=_int_at_least(1), default=None,
                   help="score on the first N validation images (default: all)")
    p.add_argument("--preset", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("bench", help="benchmark supernet and controller speed (ratios within one run), or, with "
                                     "--peer nni, enaslite's search against NNI 2.8's in alternating processes")
    p.add_argument("--preset", default="cpu-macro", help=f"named config, one of {sorted(PRESETS)}")
    p.add_argument("--space", choices=("macro", "micro"), help="search space (default: the preset's)")
    p.add_argument("--dataset", help="cifar10, cifar100, fashion_mnist, synthetic (random 32x32x3 images, 10 "
                                     "classes) or an .npz path (default: the preset's)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any config field by dotted path, e.g. --set search.out_filters=24 (repeatable)")
    p.add_argument("--steps", type=_int_at_least(1),
                   help="timed training steps per measurement (default 30; a multiple of --num-arcs, or >= 2 with "
                        "--peer)")
    p.add_argument("--repeats", type=_int_at_least(1), help="timed rounds; the fastest counts (default 5)")
    p.add_argument("--num-arcs", type=_int_at_least(2),
                   help="sampled architectures shared by both sides of (a) (default 3)")
    p.add_argument("--retrain", action="store_true",
                   help="also time (e): retrain's epoch loop against its own model's train steps, at the preset's "
                        "final settings (a random architecture of the config's seed), and its valid + test passes")
    p.add_argument("--peer", choices=PEERS,
                   help="instead, time the config's macro search against this peer's, each side in fresh processes, "
                        "alternating (nni: NNI 2.8's v1 ENAS trainer on its example's macro space)")
    p.add_argument("--peer-python", metavar="PYTHON",
                   help="with --peer: the interpreter with the peer installed, e.g. a virtualenv's bin/python "
                        "(default: this one)")
    p.add_argument("--peer-example", metavar="DIR",
                   help="with --peer nni: folder for NNI v2.8's examples/nas/oneshot/enas/macro.py and ops.py, "
                        "downloaded there when absent (default: ~/.cache/enaslite/nni-2.8-enas-example)")
    p.add_argument("--rounds", type=_int_at_least(1),
                   help="with --peer: processes per side, alternating (default 5); min / median / max are reported")
    p.add_argument("--out", default="bench-out", help="directory for the saved table (<preset>-<space>.md, .json; "
                                                      "<preset>-<space>-vs-nni.md, .json with --peer)")
    p.add_argument("--overwrite", action="store_true", help="replace results already saved in --out")
    p.set_defaults(func=cmd_bench, epochs=None, seed=None)

    p = sub.add_parser("show", help="describe an architecture and draw it with Graphviz (svg, png, pdf or dot)")
    p.add_argument("arc", help="architecture string (reference printout or flat ints)")
    p.add_argument("--space", choices=("macro", "micro"), default="macro", help="search space (default: macro)")
    p.add_argument("-o", "--output", help="diagram file; its suffix picks the format (.svg, .png, .pdf, .dot); "
                                          "without it the DOT text is printed")
    p.add_argument("--cell", choices=("normal", "reduce", "both"), help="micro only: which cell to draw "
                                                                          "(default: both)")
    p.add_argument("--title", help="title drawn above the diagram")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("tensorboard", help="(re)write a run's TensorBoard event files from its metrics and print "
                                           "the command that opens them")
    p.add_argument("run_dir", help="a search or retrain run directory (its event files go to RUN_DIR/tensorboard)")
    p.set_defaults(func=cmd_tensorboard)

    p = sub.add_parser("results", help="a table of every run directory under a folder (read only)")
    p.add_argument("runs_dir", help="folder searched recursively for run directories, e.g. runs")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list instead of a table")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("reproduce", help="execute every notebook of a copy of the book (computing missing runs) and "
                                         "build its HTML with jupyter-book -W")
    p.add_argument("--scale", choices=("auto", "smoke", "cpu", "thesis"), default="auto",
                   help="auto: thesis with a GPU and CIFAR-10/100, else cpu (default: auto)")
    p.add_argument("--dataset", help="dataset of every experiment (default: the scale's)")
    p.add_argument("--runs-dir", help="run directories: finished ones are reused, missing ones computed there "
                                      "(default: runs, or OUT/runs-smoke at the smoke scale)")
    p.add_argument("--out", help="build folder: the book's copy and its HTML, OUT/_build/html "
                                 "(default: book/_build/reproduce, ignored by git)")
    p.add_argument("--seeds", type=_int_at_least(0), nargs="+", help="search seeds (default: 0 1 2)")
    p.add_argument("--check", action="store_true",
                   help="execute nothing: list the runs the book at this scale still needs (exit 1 if any)")
    p.add_argument("--ray", action="store_true",
                   help="run the jobs on a local Ray instance on this machine's cores, several at a time")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="run the jobs on the Ray cluster at ADDR (e.g. head:6379); --runs-dir must be on storage "
                        "every node sees at the same path")
    p.add_argument("--ray-threads-per-job", type=_int_at_least(1), default=None, metavar="N",
                   help="with --ray or --ray-address: Ray CPUs and TensorFlow threads per job (default: this "
                        "machine's cores, with which each job computes what an in-process run here computes; "
                        "fewer run more jobs at once, with numbers that differ from an in-process run's: on 2 cores, 1 "
                        "runs the cpu study about 1.2 times as fast)")
    p.set_defaults(func=cmd_reproduce)
    return parser


def _os_error(e: OSError) -> str:
    if e.filename is None:  # raised by our own code with a full message
        return _one_line(e)
    paths = repr(str(e.filename)) + (f" -> {str(e.filename2)!r}" if e.filename2 is not None else "")
    return f"cannot use {paths}: {e.strerror or type(e).__name__}"


def _interrupted(args) -> str:
    if getattr(args, "command", None) in ("search", "retrain"):
        return (f"interrupted: {args.command} stopped; rerun the same command to resume from the last complete "
                f"epoch in {args.run_dir}")
    return "interrupted"


def main(argv=None) -> int:
    """Runs one command; returns the exit status (0, 2 for a user error, 130 for Ctrl-C)."""
    args = None
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    except OSError as e:
        print(f"error: {_os_error(e)}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
