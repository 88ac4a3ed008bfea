"""Micro (cell) architectures: a normal cell and a reduction cell of B nodes each (spec 3.1, thesis 4.5).

Pure data (Python + numpy): building a Keras model from a `MicroArc` happens elsewhere, and importing this module
never imports Keras or TensorFlow.

Encoding (the reference code's `fixed_arc`): indices 0 and 1 are the two cell inputs (the outputs of the cells two
back and one back, drawn as "c_{k-2}" and "c_{k-1}"). Node i = 2..B+1 is `[index1, op1, index2, op2]` with each
index in [0, i-1] and op ids `OPS`; its value is op1(h[index1]) + op2(h[index2]). A cell is 4B ints; the flat arc
is the normal cell followed by the reduction cell, 8B ints (40 for the reference B = 5).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from enaslite.arc_text import (
    arc_error, as_ints, bracket_groups, check_int_arg, check_text, format_ints, make_rng, parse_ints)

OPS = ("sepconv3x3", "sepconv5x5", "avgpool3x3", "maxpool3x3", "identity")
CELLS = ("normal", "reduce")
_FIELDS = ("index1", "op1", "index2", "op2")


def _check_cell(ints: tuple[int, ...], where: str, arg: str, offset: int = 0) -> None:
    """Raises at the first bad node of one cell; `offset` places the cell's ints within the text or flat arc."""
    if not ints or len(ints) % 4:
        raise arc_error(where, "a non-zero multiple of 4 ints (index1 op1 index2 op2 per node)",
                        f"{len(ints)}: {format_ints(ints)}", arg)
    for start in range(0, len(ints), 4):
        node = start // 4 + 2
        node_where = f"{where}, node {node} (ints {offset + start}-{offset + start + 3})"
        for field, value in zip(_FIELDS, ints[start:start + 4]):
            if field.startswith("index") and not 0 <= value < node:
                received = f"{value} (points forward)" if value >= node else value
                raise arc_error(node_where, f"{field} in [0, {node - 1}]", received, arg)
            if field.startswith("op") and not 0 <= value < len(OPS):
                raise arc_error(node_where, f"{field} (an op id) in [0, {len(OPS) - 1}]", value, arg)


def _node_name(index: int) -> str:
    return ("c_{k-2}", "c_{k-1}")[index] if index < 2 else f"n{index}"


def _count_tokens(text: str) -> int:
    return len([t for t in re.split(r"[\s,]+", text) if t])


@dataclass(frozen=True)
class MicroArc:
    """A micro architecture: the normal cell's and the reduction cell's 4B ints.

    Validated on construction; lists and numpy ints are converted to tuples of python ints, so arcs are immutable,
    hashable and compare by value.

    Args:
        normal: 4B ints, node i = 2..B+1 being `[index1, op1, index2, op2]` with indices in [0, i-1]; B >= 1.
        reduce: the reduction cell, same layout and the same B.
    """

    normal: tuple[int, ...]
    reduce: tuple[int, ...]

    def __post_init__(self):
        cells = {}
        for cell in CELLS:
            ints = as_ints(getattr(self, cell), "", cell, label=lambda k, c=cell: f"{c} cell, int {k}")
            _check_cell(ints, f"{cell} cell", cell)
            cells[cell] = ints
        if len(cells["reduce"]) != len(cells["normal"]):
            n = len(cells["normal"])
            raise arc_error("", f"{n} ints ({n // 4} nodes, as in the normal cell)", f"{len(cells['reduce'])} ints",
                            "reduce")
        for cell, ints in cells.items():
            object.__setattr__(self, cell, ints)

    # ---- sizes ---------------------------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        """B, the computed nodes per cell (the two inputs not counted)."""
        return len(self.normal) // 4

    @staticmethod
    def search_space_size(num_nodes: int = 5, num_ops: int = len(OPS), exact: bool = False) -> int:
        """Size of the micro search space.

        `exact=False` gives the paper's and thesis' formula (num_ops * B!)^4 with B = `num_nodes` (they write
        (5 x (B-2)!)^4 with B = 7 counting the two inputs): 600^4 ~ 1.3e11 for the defaults. That formula is not a
        count of arcs. `exact=True` counts the distinct (normal, reduce) pairs: node i picks each of its two
        indices from i choices and each op from num_ops, so a cell has prod_{i=2}^{B+1} (i * num_ops)^2 encodings
        and a pair the square of that (~2.6e25 for the defaults; symmetric nodes are counted twice, as the
        controller samples them).
        """
        num_nodes = check_int_arg(num_nodes, "num_nodes")
        num_ops = check_int_arg(num_ops, "num_ops", 1, len(OPS))
        if exact:
            return math.prod((i * num_ops) ** 2 for i in range(2, num_nodes + 2)) ** 2
        return (num_ops * math.factorial(num_nodes)) ** 4

    # ---- flat / text / dict forms --------------------------------------------------------------------------
    def to_flat(self) -> np.ndarray:
        """normal + reduce as one int32 array of 8B ints (the reference `fixed_arc`)."""
        return np.array(self.normal + self.reduce, dtype=np.int32)

    @classmethod
    def from_flat(cls, seq) -> "MicroArc":
        """Inverse of `to_flat`: the first half is the normal cell, the second the reduction cell."""
        flat = as_ints(seq, "", "arc", label=lambda k: f"int {k}")
        if not flat or len(flat) % 8:
            raise arc_error("", "a flat arc of 8*B ints (normal + reduce cell, 4 ints per node, B >= 1)",
                            f"{len(flat)} ints")
        half = len(flat) // 2
        _check_cell(flat[:half], "normal cell", "arc")
        _check_cell(flat[half:], "reduce cell", "arc", offset=half)
        return cls(flat[:half], flat[half:])

    def to_string(self) -> str:
        """Canonical form: all 8B ints, space separated, normal cell first."""
        return " ".join(str(v) for v in self.normal + self.reduce)

    def to_rows(self) -> str:
        """The reference code's printout: two numpy-style rows, normal then reduce."""
        return f"{format_ints(self.normal)}\n{format_ints(self.reduce)}"

    @classmethod
    def from_string(cls, s: str) -> "MicroArc":
        """Parses `to_string`/`to_rows` output, the reference printout, or the spec's node-grouped form.

        Rows are bracketed groups or, without brackets, lines / ';'-separated parts. Two rows are the normal and
        reduction cells; one row is a flat arc split in halves. Inside a row, '|' and ',' separate like spaces
        ("0 2 0 0 | 0 4 0 1 | ..."). On a single unbracketed line, '|' separates the two cells unless every
        '|'-group has exactly 4 ints (then they are node groups).
        """
        text = check_text(s)
        rows = bracket_groups(text)
        if rows is None:
            rows = [r for r in re.split(r"[\n;]", text) if r.strip()]
            if len(rows) == 1 and "|" in text:
                groups = [g for g in text.split("|") if g.strip()]
                if any(_count_tokens(g) != 4 for g in groups):
                    rows = groups
        if len(rows) == 1:
            return cls.from_flat(parse_ints(rows[0], separators=",|"))
        if len(rows) != 2:
            raise arc_error("", "1 flat row or 2 rows (normal cell, reduce cell)", f"{len(rows)} rows")
        cells = []
        for number, (row, cell) in enumerate(zip(rows, CELLS), start=1):
            where = f"row {number} ({cell} cell)"
            ints = parse_ints(row, where, separators=",|")
            _check_cell(ints, where, "arc")
            cells.append(ints)
        if len(cells[1]) != len(cells[0]):
            n = len(cells[0])
            raise arc_error("row 2 (reduce cell)", f"{n} ints ({n // 4} nodes, as in row 1)", f"{len(cells[1])}")
        return cls(*cells)

    def to_dict(self) -> dict:
        return {"space": "micro", "normal": list(self.normal), "reduce": list(self.reduce)}

    @classmethod
    def from_dict(cls, d) -> "MicroArc":
        """Inverse of `to_dict` (e.g. after a JSON round trip); the keys must be exactly space, normal, reduce."""
        keys = ["normal", "reduce", "space"]
        if not hasattr(d, "keys") or sorted(d.keys()) != keys:
            received = sorted(d.keys()) if hasattr(d, "keys") else repr(d)
            raise arc_error("", f"a mapping with keys {keys}", received, "d")
        if d["space"] != "micro":
            raise arc_error("key 'space'", "'micro'", repr(d["space"]), "d")
        return cls(d["normal"], d["reduce"])

    @classmethod
    def random(cls, rng, num_nodes: int = 5, num_ops: int = len(OPS)) -> "MicroArc":
        """Uniform over the space: node i's indices uniform in [0, i-1], ops uniform in [0, num_ops).

        `rng` is a numpy Generator (advanced in place) or an int seed.
        """
        num_nodes = check_int_arg(num_nodes, "num_nodes")
        num_ops = check_int_arg(num_ops, "num_ops", 1, len(OPS))
        rng = make_rng(rng)

        def cell():
            return [int(rng.integers(0, i if f.startswith("index") else num_ops))
                    for i in range(2, num_nodes + 2) for f in _FIELDS]

        return cls(cell(), cell())

    # ---- reading and drawing -------------------------------------------------------------------------------
    def _cell(self, cell: str) -> tuple[int, ...]:
        if cell not in CELLS:
            raise arc_error("", "'normal' or 'reduce'", repr(cell), "cell")
        return getattr(self, cell)

    def loose_ends(self, cell: str) -> tuple[int, ...]:
        """Indices (inputs 0/1 included) that no node uses; the cell output concatenates them."""
        ints = self._cell(cell)
        used = set(ints[0::4]) | set(ints[2::4])
        return tuple(i for i in range(self.num_nodes + 2) if i not in used)

    def describe(self) -> str:
        """Multi-line summary: each node as an expression of its inputs, per cell, with the loose ends."""
        lines = [f"MicroArc: {self.num_nodes} nodes per cell"]
        for cell in CELLS:
            ints = self._cell(cell)
            outputs = ", ".join(_node_name(i) for i in self.loose_ends(cell))
            lines.append(f"{cell} cell (output = concat of {outputs}):")
            for start in range(0, len(ints), 4):
                i1, o1, i2, o2 = ints[start:start + 4]
                lines.append(f"  n{start // 4 + 2} = {OPS[o1]}({_node_name(i1)}) + {OPS[o2]}({_node_name(i2)})")
        return "\n".join(lines)

    def edges(self) -> dict[str, list[tuple[str, str, str]]]:
        """Per cell, (src, dst, op name) edges; each loose end also gets an edge (src, "out", "concat")."""
        result = {}
        for cell in CELLS:
            ints = self._cell(cell)
            edges = []
            for start in range(0, len(ints), 4):
                dst = f"n{start // 4 + 2}"
                i1, o1, i2, o2 = ints[start:start + 4]
                edges += [(_node_name(i1), dst, OPS[o1]), (_node_name(i2), dst, OPS[o2])]
            edges += [(_node_name(i), "out", "concat") for i in self.loose_ends(cell)]
            result[cell] = edges
        return result


search_space_size = MicroArc.search_space_size
