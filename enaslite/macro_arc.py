"""Macro architectures: one op per layer plus skip connections from earlier layers (spec 2.1, thesis 4.3).

Pure data (Python + numpy): building a Keras model from a `MacroArc` happens elsewhere, and importing this module
never imports Keras or TensorFlow.

Encoding (the reference code's `fixed_arc`): layer l of L (0-based) is `[op_l, skip_l_0, ..., skip_l_{l-1}]`, with
op ids `OPS`. The flat arc is those groups concatenated, L + L(L-1)/2 = L(L+1)/2 ints (78 for L=12, 300 for
L=24).

What a skip bit points at follows the reference code, not the papers' prose: the network keeps a list of stored
outputs that starts with the stem, and skip_l_j = 1 adds (search) or concatenates (final) stored output j to layer
l. Stored output 0 is the stem and stored output j >= 1 is layer j-1, so layer l can skip from the stem and layers
0..l-2; layer l-1 is its direct input anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enaslite.arc_text import (
    arc_error, as_ints, bracket_groups, check_int_arg, check_text, format_ints, make_rng, parse_ints)

OPS = ("conv3x3", "sepconv3x3", "conv5x5", "sepconv5x5", "avgpool3x3", "maxpool3x3")


def _check_layer(op: int, bits, where: str, op_arg: str, skip_arg: str) -> None:
    """Raises when op is not an op id or a skip bit is not 0/1 (`where` names the layer)."""
    if not 0 <= op < len(OPS):
        raise arc_error(where, f"an op id in [0, {len(OPS) - 1}]", op, op_arg)
    for j, bit in enumerate(bits):
        if bit not in (0, 1):
            raise arc_error(f"{where}, skip_{j}", "a skip bit 0 or 1", bit, skip_arg)


def _layers_from_flat(flat: tuple[int, ...], arg: str = "arc"):
    """Splits a flat arc into (ops, skips), validating layer by layer so the first faulty layer is named."""
    n, num_layers = len(flat), 0
    while num_layers * (num_layers + 1) // 2 < n:
        num_layers += 1
    if n == 0 or num_layers * (num_layers + 1) // 2 != n:
        raise arc_error("", "a flat arc of L(L+1)/2 ints for some L >= 1 (1, 3, 6, 10, 15, ...)",
                        f"{n} ints", arg)
    ops, skips = [], []
    for layer in range(num_layers):
        start = layer * (layer + 1) // 2
        group = flat[start:start + layer + 1]
        span = f"ints {start}-{start + layer}" if layer else f"int {start}"
        _check_layer(group[0], group[1:], f"layer {layer} ({span})", arg, arg)
        ops.append(group[0])
        skips.append(group[1:])
    return ops, skips


@dataclass(frozen=True)
class MacroArc:
    """A macro architecture: `ops[l]` is layer l's op id, `skips[l]` its l skip bits (from the stem and layers
    0..l-2, see the module docstring).

    Validated on construction; lists and numpy ints are converted to tuples of python ints, so arcs are immutable,
    hashable and compare by value. Any op id in [0, 5] is accepted; a space with fewer ops (`num_branches=4`)
    simply never samples the rest.

    Args:
        ops: L op ids (see `OPS`), L >= 1.
        skips: L rows; row l holds l bits (0/1), so `skips[0] == ()`.
    """

    ops: tuple[int, ...]
    skips: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        ops = as_ints(self.ops, "", "ops", label=lambda k: f"layer {k}")
        if not ops:
            raise arc_error("", "at least one layer", "0 ops", "ops")
        if isinstance(self.skips, (str, bytes)) or not hasattr(self.skips, "__len__"):
            raise arc_error("", f"{len(ops)} rows of skip bits", repr(self.skips), "skips")
        if len(self.skips) != len(ops):
            raise arc_error("", f"{len(ops)} rows of skip bits (one per layer)", f"{len(self.skips)} rows", "skips")
        skips = []
        for layer, row in enumerate(self.skips):
            bits = as_ints(row, f"layer {layer}", "skips", label=lambda j, l=layer: f"layer {l}, skip_{j}")
            if len(bits) != layer:
                raise arc_error(f"layer {layer}", f"{layer} skip bits", f"{len(bits)}: {format_ints(bits)}",
                                "skips")
            skips.append(bits)
        for layer, (op, bits) in enumerate(zip(ops, skips)):
            _check_layer(op, bits, f"layer {layer}", "ops", "skips")
        object.__setattr__(self, "ops", ops)
        object.__setattr__(self, "skips", tuple(skips))

    # ---- sizes ---------------------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return len(self.ops)

    @property
    def skip_rate(self) -> float:
        """Total skips / (L(L-1)/2), as the reference controller logs it; 0.0 for one layer."""
        possible = self.num_layers * (self.num_layers - 1) // 2
        return sum(map(sum, self.skips)) / possible if possible else 0.0

    @staticmethod
    def search_space_size(num_layers: int, num_ops: int = len(OPS)) -> int:
        """6^L * 2^(L(L-1)/2) exactly (paper and thesis 4.3); about 1.6e29 for L=12."""
        num_layers = check_int_arg(num_layers, "num_layers")
        num_ops = check_int_arg(num_ops, "num_ops", 1, len(OPS))
        return num_ops ** num_layers * 2 ** (num_layers * (num_layers - 1) // 2)

    # ---- flat / text / dict forms --------------------------------------------------------------------------
    def to_flat(self) -> np.ndarray:
        """The reference flat arc (int32, length L(L+1)/2)."""
        return np.array([v for op, bits in zip(self.ops, self.skips) for v in (op, *bits)], dtype=np.int32)

    @classmethod
    def from_flat(cls, seq) -> "MacroArc":
        """Inverse of `to_flat`; L is inferred from the length, which must be triangular."""
        return cls(*_layers_from_flat(as_ints(seq, "", "arc", label=lambda k: f"int {k}")))

    def to_string(self) -> str:
        """Canonical form: the flat arc, space separated ("2 5 0 1 0 0")."""
        return " ".join(str(v) for v in self.to_flat())

    def to_rows(self) -> str:
        """The reference code's printout: one numpy-style row per layer ("[2]\\n[5 0]\\n[1 0 0]")."""
        return "\n".join(format_ints((op, *bits)) for op, bits in zip(self.ops, self.skips))

    @classmethod
    def from_string(cls, s: str) -> "MacroArc":
        """Parses `to_string`/`to_rows` output, a python list, or the reference printout.

        Two or more bracketed groups are read as one row per layer (row r, 1-based, is layer r-1 and must hold r
        ints); otherwise the text is one flat arc (whitespace and commas separate ints).
        """
        rows = bracket_groups(check_text(s))
        if rows is None or len(rows) == 1:
            return cls(*_layers_from_flat(parse_ints(rows[0] if rows else s)))
        ops, skips = [], []
        for layer, row in enumerate(rows):
            where = f"row {layer + 1} (layer {layer})"
            ints = parse_ints(row, where)
            if len(ints) != layer + 1:
                raise arc_error(where, f"{layer + 1} ints (op + {layer} skip bits)",
                                f"{len(ints)}: {format_ints(ints)}")
            _check_layer(ints[0], ints[1:], where, "arc", "arc")
            ops.append(ints[0])
            skips.append(ints[1:])
        return cls(ops, skips)

    def to_dict(self) -> dict:
        return {"space": "macro", "ops": list(self.ops), "skips": [list(row) for row in self.skips]}

    @classmethod
    def from_dict(cls, d) -> "MacroArc":
        """Inverse of `to_dict` (e.g. after a JSON round trip); the keys must be exactly space, ops, skips."""
        keys = ["ops", "skips", "space"]
        if not hasattr(d, "keys") or sorted(d.keys()) != keys:
            received = sorted(d.keys()) if hasattr(d, "keys") else repr(d)
            raise arc_error("", f"a mapping with keys {keys}", received, "d")
        if d["space"] != "macro":
            raise arc_error("key 'space'", "'macro'", repr(d["space"]), "d")
        return cls(d["ops"], d["skips"])

    @classmethod
    def random(cls, rng, num_layers: int, num_ops: int = len(OPS)) -> "MacroArc":
        """Uniform over the space: each op uniform in [0, num_ops), each skip bit Bernoulli(0.5).

        `rng` is a numpy Generator (advanced in place) or an int seed.
        """
        num_layers = check_int_arg(num_layers, "num_layers")
        num_ops = check_int_arg(num_ops, "num_ops", 1, len(OPS))
        rng = make_rng(rng)
        ops = rng.integers(0, num_ops, size=num_layers)
        skips = [rng.integers(0, 2, size=layer) for layer in range(num_layers)]
        return cls(ops, skips)

    # ---- reading and drawing -------------------------------------------------------------------------------
    def describe(self) -> str:
        """Multi-line summary: one line per layer with its op and skip inputs."""
        lines = [f"MacroArc: {self.num_layers} layers, skip rate {self.skip_rate:.2f}"]
        for layer, (op, bits) in enumerate(zip(self.ops, self.skips)):
            sources = [_source_name(j) for j, bit in enumerate(bits) if bit]
            inputs = f"skips from {', '.join(sources)}" if sources else "no skips"
            lines.append(f"  layer {layer}: {OPS[op]}, {inputs}")
        return "\n".join(lines)

    def node_labels(self) -> dict[str, str]:
        """Node name -> label for drawing: "stem", "L0".."L{L-1}" (their op names), "head"."""
        return {"stem": "stem", **{f"L{l}": OPS[op] for l, op in enumerate(self.ops)}, "head": "head"}

    def edges(self) -> list[tuple[str, str, str]]:
        """(src, dst, kind) edges: the chain stem -> L0 -> ... -> head, plus (source, "Ll", "skip") per skip bit,
        where skip bit j of layer l comes from the stem (j = 0) or layer j-1."""
        names = ["stem"] + [f"L{l}" for l in range(self.num_layers)] + ["head"]
        edges = [(a, b, "chain") for a, b in zip(names, names[1:])]
        for layer, bits in enumerate(self.skips):
            edges += [(names[j], f"L{layer}", "skip") for j, bit in enumerate(bits) if bit]
        return edges


def _source_name(j: int) -> str:
    """The stored output that skip bit j reads: the stem, then layer 0, 1, ..."""
    return "stem" if j == 0 else f"layer {j - 1}"


search_space_size = MacroArc.search_space_size
