"""Diagrams of architectures: a `MacroArc` or `MicroArc` drawn by Graphviz.

This module writes the DOT text from the architecture's own `edges()` and hands it to Graphviz's `dot` program
(Debian package `graphviz`) in a subprocess; no Python binding is needed. Like the architectures, it never imports
Keras.

- Macro (thesis 4.3-4.4, its figure 7): the chain stem -> layer 0 -> ... -> head, each layer labelled with its op and
  coloured by op family, and one red arc per skip connection. The layout is computed here (arcs nest by span, so
  even 24 dense layers stay narrow) and Graphviz only draws it (`dot -Kneato -n2`).
- Micro (thesis 4.5-4.6, its figures 11-12): one box per cell; inside, the two cell inputs c(k-2) and c(k-1), each
  node n_i as the sum of two op boxes, and the loose ends concatenated into the cell's output.

    >>> from enaslite.macro_arc import MacroArc
    >>> svg = draw(MacroArc.from_string("[2] [5 0] [1 0 1]"))   # an InlineSVG; a notebook displays it
    >>> save(MacroArc.from_string("0 3 1 0 2 1"), "arc.svg")    # or .png, .pdf, .dot
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import CELLS, MicroArc

FORMATS = ("svg", "png", "pdf", "dot")

# Op family -> fill colour (ColorBrewer blues, greens, oranges); the family is the op name without its size.
_FILL = {"conv": "#c6dbef", "sepconv": "#c7e9c0", "avgpool": "#fdd0a2", "maxpool": "#fdae6b", "identity": "#eeeeee"}
_SKIP_COLOR = "#c0392b"
_GRAPH = ('  graph [fontname="Helvetica", fontsize=12, labelloc=t, nodesep=0.25, ranksep=0.3];\n'
          '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor=white, '
          'height=0.3, margin="0.1,0.04"];\n'
          '  edge [arrowsize=0.6, color="#444444"];\n')


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's `dot` program is not installed."""


def find_dot() -> str:
    """Path of Graphviz's `dot`; raises `GraphvizNotFoundError` naming the Debian package when it is absent."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError("drawing an architecture needs Graphviz's `dot` program, which is not on PATH: "
                                    "install the Debian package `graphviz` (apt-get install graphviz)")
    return path


def op_label(name: str) -> str:
    """A readable op name: "sepconv3x3" -> "sep conv 3×3", "maxpool3x3" -> "max pool 3×3"."""
    name = re.sub(r"(\d)x(\d)", r" \1×\2", name)
    return name.replace("sepconv", "sep conv").replace("avgpool", "avg pool").replace("maxpool", "max pool")


def _fill(name: str) -> str:
    family = re.sub(r"\d.*$", "", name)
    return _FILL.get(family, "white")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _title(title: str | None) -> str:
    return f"  label={_quote(title)};\n" if title else ""


# -- macro ------------------------------------------------------------------------------------------------------------

# Macro layout, in points: the chain is one column of equal boxes, and each skip is an arc on its right whose reach
# grows with the number of layers it spans, so arcs nest instead of crossing the chain (an arc diagram).
_ROW, _BOX_W, _BOX_H = 32.0, 150.0, 20.0
MACRO_LAYOUT_ARGS = ("-Kneato", "-n2")
"""Graphviz options for macro DOT: keep the positions it gives (`dot -Kneato -n2 -Tsvg arc.dot`)."""


def _macro_box(name: str, op: str) -> tuple[str, str]:
    if name == "stem":
        return "stem (conv 3×3)", "#f0f0f0"
    if name == "head":
        return "head (pool, dense)", "#f0f0f0"
    return f"layer {name[1:]}: {op_label(op)}", _fill(op)


def macro_dot(arc: MacroArc, title: str | None = None) -> str:
    """DOT text of a macro architecture: the layer chain top to bottom and one red arc per skip connection.

    Every position is fixed in the text, so it must be rendered with `MACRO_LAYOUT_ARGS` (`render` does this).
    """
    if not isinstance(arc, MacroArc):
        raise ValueError(f"argument `arc`: expected a MacroArc, received {type(arc).__name__}")
    labels = arc.node_labels()
    names = list(labels)  # stem, L0 .. L{L-1}, head: top to bottom
    y = {name: (len(names) - 1 - i) * _ROW + _BOX_H for i, name in enumerate(names)}
    cx = _BOX_W / 2 + 4
    right = cx + _BOX_W / 2
    lines = ["// Positions are fixed: render with `dot -Kneato -n2 -Tsvg`.\n", "digraph macro {\n", _GRAPH,
             _title(title),
             f"  node [fixedsize=true, width={_BOX_W / 72:.4f}, height={_BOX_H / 72:.4f}];\n"]
    for name in names:
        text, fill = _macro_box(name, labels[name])
        lines.append(f"  {_quote(name)} [label={_quote(text)}, fillcolor=\"{fill}\", "
                     f"pos=\"{cx:.1f},{y[name]:.1f}\"];\n")
    for src, dst, kind in arc.edges():
        if kind == "chain":
            lines.append(f"  {_quote(src)} -> {_quote(dst)};\n")
            continue
        # A cubic Bezier from the source's right side (a little above centre) out to `reach` and back to the
        # target's right side (a little below), where the arrow points left into the box.
        reach = right + 8 + 10 * (names.index(dst) - names.index(src))
        y0, y1 = y[src] + 4, y[dst] - 4
        pos = (f"e,{right:.1f},{y1:.1f} {right:.1f},{y0:.1f} {reach:.1f},{y0:.1f} {reach:.1f},{y1:.1f} "
               f"{right + 5:.1f},{y1:.1f}")
        lines.append(f"  {_quote(src)} -> {_quote(dst)} [color=\"{_SKIP_COLOR}\", penwidth=0.8, pos=\"{pos}\"];\n")
    lines.append("}\n")
    return "".join(lines)


# -- micro ------------------------------------------------------------------------------------------------------------

def _micro_node_label(name: str) -> str:
    """HTML-like label: c_{k-2} -> c<SUB>k-2</SUB>, n3 -> n<SUB>3</SUB>."""
    m = re.fullmatch(r"c_\{(k-\d)\}", name)
    if m:
        return f"<c<SUB>{m.group(1)}</SUB>>"
    m = re.fullmatch(r"n(\d+)", name)
    return f"<n<SUB>{m.group(1)}</SUB>>" if m else _quote(name)


def _cell_dot(arc: MicroArc, cell: str) -> list[str]:
    """The DOT lines of one cell as a cluster; node ids are prefixed with the cell name."""
    edges = arc.edges()[cell]
    p = f"{cell}_"
    title = "normal cell" if cell == "normal" else "reduction cell (ops on the inputs use stride 2)"
    lines = [f"  subgraph cluster_{cell} {{\n", f"    label={_quote(title)}; style=rounded; color=\"#999999\";\n"]
    lines += [f"    {_quote(p + n)} [label={_micro_node_label(n)}, shape=ellipse, fillcolor=\"#f0f0f0\"];\n"
              for n in ("c_{k-2}", "c_{k-1}")]
    # The two inputs side by side, c(k-2) on the left.
    lines.append(f"    {{rank=same; {_quote(p + 'c_{k-2}')} -> {_quote(p + 'c_{k-1}')} [style=invis];}}\n")
    for i in range(2, arc.num_nodes + 2):
        lines.append(f"    {_quote(p + f'n{i}')} [label={_micro_node_label(f'n{i}')}, shape=circle, width=0.35, "
                     f"fixedsize=true, fillcolor=white];\n")
    lines.append(f"    {_quote(p + 'out')} [label=\"concat (cell output)\", fillcolor=\"#f0f0f0\"];\n")
    op_edges = [e for e in edges if e[2] != "concat"]
    for k, (src, dst, op) in enumerate(op_edges):
        box = f"{p}{dst}_op{k % 2 + 1}"
        lines.append(f"    {_quote(box)} [label={_quote(op_label(op))}, fillcolor=\"{_fill(op)}\", fontsize=10];\n")
        lines.append(f"    {_quote(p + src)} -> {_quote(box)};\n")
        lines.append(f"    {_quote(box)} -> {_quote(p + dst)};\n")
    for src, _, _ in (e for e in edges if e[2] == "concat"):
        lines.append(f"    {_quote(p + src)} -> {_quote(p + 'out')} [style=dashed];\n")
    lines.append("  }\n")
    return lines


def micro_dot(arc: MicroArc, cells=CELLS, title: str | None = None) -> str:
    """DOT text of a micro architecture: each cell in `cells` ("normal", "reduce") as one box, side by side."""
    if not isinstance(arc, MicroArc):
        raise ValueError(f"argument `arc`: expected a MicroArc, received {type(arc).__name__}")
    cells = (cells,) if isinstance(cells, str) else tuple(cells)
    if not cells or any(c not in CELLS for c in cells):
        raise ValueError(f"argument `cells`: expected some of {list(CELLS)}, received {cells!r}")
    lines = ["digraph micro {\n", _GRAPH, _title(title), "  rankdir=TB; compound=true;\n"]
    for cell in cells:
        lines += _cell_dot(arc, cell)
    lines.append("}\n")
    return "".join(lines)


# -- rendering --------------------------------------------------------------------------------------------------------

def to_dot(arc, title: str | None = None, **kwargs) -> str:
    """DOT text of a `MacroArc` or `MicroArc` (`cells=` selects micro cells)."""
    if isinstance(arc, MacroArc):
        if kwargs:
            raise ValueError(f"argument `{next(iter(kwargs))}`: expected no cell options for a MacroArc, "
                             f"received {kwargs}")
        return macro_dot(arc, title=title)
    if isinstance(arc, MicroArc):
        return micro_dot(arc, title=title, **kwargs)
    raise ValueError(f"argument `arc`: expected a MacroArc or a MicroArc, received {type(arc).__name__}")


def layout_args(arc) -> tuple[str, ...]:
    """The Graphviz options the architecture's DOT text needs (`MACRO_LAYOUT_ARGS` for macro, none for micro)."""
    return MACRO_LAYOUT_ARGS if isinstance(arc, MacroArc) else ()


def render(dot_text: str, fmt: str = "svg", args=()) -> bytes:
    """Runs `dot [args] -T<fmt>` on DOT text and returns its output (SVG is UTF-8 text as bytes)."""
    if fmt not in FORMATS[:-1]:
        raise ValueError(f"argument `fmt`: expected one of {list(FORMATS[:-1])}, received {fmt!r}")
    command = [find_dot(), *args, f"-T{fmt}"]
    result = subprocess.run(command, input=dot_text.encode("utf-8"), capture_output=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"graphviz `{' '.join(['dot', *command[1:]])}` failed (exit {result.returncode}): "
                           f"{result.stderr.decode('utf-8', 'replace').strip()}")
    return result.stdout


def to_svg(arc, title: str | None = None, **kwargs) -> str:
    """The architecture's diagram as SVG text."""
    return render(to_dot(arc, title=title, **kwargs), "svg", layout_args(arc)).decode("utf-8")


def draw(arc, title: str | None = None, **kwargs):
    """The architecture's diagram as an `enaslite.charts.InlineSVG`, which notebooks and the book show inline."""
    from enaslite.charts import InlineSVG
    return InlineSVG(to_svg(arc, title=title, **kwargs), title=title or f"{type(arc).__name__} diagram")


def save(arc, path, fmt: str | None = None, title: str | None = None, **kwargs) -> Path:
    """Writes the diagram to `path`; the format is `fmt` or the file suffix (svg, png, pdf, or dot for the DOT
    text, which needs no Graphviz). Returns the path."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"argument `path`: expected a file ending in one of "
                         f"{['.' + f for f in FORMATS]} (or pass fmt), received {str(path)!r}")
    dot_text = to_dot(arc, title=title, **kwargs)
    data = dot_text.encode("utf-8") if fmt == "dot" else render(dot_text, fmt, layout_args(arc))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
