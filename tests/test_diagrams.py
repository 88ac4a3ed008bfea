"""Tests for enaslite.diagrams and the `show` command: architectures drawn by Graphviz."""

import re
import shutil

import pytest

from enaslite import cli, diagrams
from enaslite.charts import FIGURE_CLASS
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's `dot` is not installed (Debian package `graphviz`)")

MACRO = MacroArc.from_string("[2] [5 0] [1 1 0] [3 1 1 0]")  # skips: layer 2 <- stem; layer 3 <- stem, layer 0
# The micro arc printed in the thesis (section 4.5): its normal row verbatim, and its reduce row, which has 21 ints,
# cut to the first 20 (B = 5 nodes of 4 ints).
MICRO = MicroArc.from_string("[0 3 1 0 2 1 0 0 2 1 3 1 0 0 1 3 0 1 5 1] [1 0 1 0 1 1 1 1 0 1 0 2 0 3 2 2 1 3 4 4]")


def test_macro_dot_has_a_node_per_layer_and_an_edge_per_skip():
    """The macro DOT holds stem, every layer with its op, head, the chain, and one red edge per skip bit."""
    dot = diagrams.macro_dot(MACRO, title="four layers")
    for label in ("stem (conv 3×3)", "layer 0: conv 5×5", "layer 1: max pool 3×3", "layer 2: sep conv 3×3",
                  "layer 3: sep conv 5×5", "head (pool, dense)", 'label="four layers"'):
        assert label in dot
    chain = re.findall(r'^  "(\w+)" -> "(\w+)";$', dot, re.M)
    assert chain == [(s, d) for s, d, kind in MACRO.edges() if kind == "chain"]
    skips = re.findall(r'"(\w+)" -> "(\w+)" \[color="#c0392b"', dot)
    assert sorted(skips) == sorted((s, d) for s, d, kind in MACRO.edges() if kind == "skip")
    assert len(skips) == sum(map(sum, MACRO.skips)) == 3


def test_macro_arcs_reach_further_the_more_layers_they_span():
    """Skip arcs nest: an arc spanning more layers bulges further right; every box shares one column."""
    dot = diagrams.macro_dot(MACRO)
    reach = {(s, d): float(pos.split()[2].split(",")[0])  # "e,x,y start control1 control2 end"
             for s, d, pos in re.findall(r'"(\w+)" -> "(\w+)" \[color="#c0392b", penwidth=0.8, pos="([^"]+)"', dot)}
    assert reach[("stem", "L3")] > reach[("stem", "L2")] == reach[("L0", "L3")]  # spans 4, 3 and 3
    assert len(set(re.findall(r'pos="([\d.]+),[\d.]+"\]', dot))) == 1
    assert dot.startswith("// Positions are fixed: render with `dot -Kneato -n2 -Tsvg`.")
    assert diagrams.layout_args(MACRO) == ("-Kneato", "-n2") and diagrams.layout_args(MICRO) == ()


def test_micro_dot_has_two_op_boxes_per_node_and_concat_edges():
    """Each cell is a cluster; each node gets two op boxes; each loose end feeds the concat output."""
    dot = diagrams.micro_dot(MICRO)
    assert "subgraph cluster_normal" in dot and "subgraph cluster_reduce" in dot
    assert len(re.findall(r'_op[12]" \[label=', dot)) == 2 * 2 * MICRO.num_nodes
    concat = re.findall(r'"(normal|reduce)_(\w+)" -> "\1_out" \[style=dashed\]', dot)
    expected = [(cell, f"n{i}") for cell in ("normal", "reduce") for i in MICRO.loose_ends(cell)]
    assert sorted(concat) == sorted(expected)
    assert "<c<SUB>k-2</SUB>>" in dot and "identity" in dot


def test_micro_dot_one_cell():
    """cells="reduce" draws only the reduction cell."""
    dot = diagrams.micro_dot(MICRO, cells="reduce")
    assert "cluster_reduce" in dot and "cluster_normal" not in dot


@pytest.mark.parametrize("call, message", [
    (lambda: diagrams.to_dot(42), "argument `arc`: expected a MacroArc or a MicroArc, received int"),
    (lambda: diagrams.macro_dot(MICRO), "argument `arc`: expected a MacroArc, received MicroArc"),
    (lambda: diagrams.micro_dot(MICRO, cells=("middle",)), "argument `cells`: expected some of"),
    (lambda: diagrams.to_dot(MACRO, cells="normal"), "argument `cells`: expected no cell options for a MacroArc"),
    (lambda: diagrams.save(MACRO, "arc.txt"), "argument `path`: expected a file ending in one of"),
    (lambda: diagrams.render("digraph {}", "gif"), "argument `fmt`: expected one of"),
])
def test_bad_arguments_name_the_argument(call, message):
    """Wrong inputs raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_save_dot_needs_no_graphviz(tmp_path, monkeypatch):
    """Saving .dot writes the DOT text even where Graphviz is absent."""
    monkeypatch.setenv("PATH", str(tmp_path))
    path = diagrams.save(MACRO, tmp_path / "arc.dot")
    assert path.read_text(encoding="utf-8") == diagrams.macro_dot(MACRO)


def test_missing_dot_names_the_debian_package(tmp_path, monkeypatch):
    """Without `dot` on PATH, drawing fails naming the Debian package, and writes no file."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(diagrams.GraphvizNotFoundError, match=r"Debian package `graphviz` \(apt-get install graphviz\)"):
        diagrams.save(MACRO, tmp_path / "arc.svg")
    assert not (tmp_path / "arc.svg").exists()


@needs_dot
def test_draw_macro_renders_svg_with_every_layer():
    """draw() returns an inline figure whose SVG names every layer's op and has no XML prolog."""
    figure = diagrams.draw(MACRO)
    assert figure.text.startswith("<svg")
    for layer in range(MACRO.num_layers):
        assert f"layer {layer}:" in figure.text
    assert figure._repr_html_().startswith(f'<div class="{FIGURE_CLASS}"')


@needs_dot
def test_draw_micro_renders_both_cells():
    """The micro SVG shows both cells' titles and every op used."""
    svg = diagrams.to_svg(MICRO)
    assert "normal cell" in svg and "reduction cell" in svg
    for op in ("sep conv 3×3", "sep conv 5×5", "avg pool 3×3", "max pool 3×3", "identity"):
        assert op in svg


@needs_dot
@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_save_formats(tmp_path, suffix, magic):
    """The suffix picks the format."""
    path = diagrams.save(MICRO, tmp_path / f"arc.{suffix}")
    assert path.read_bytes().startswith(magic)


@needs_dot
def test_show_command_writes_the_diagram(tmp_path, capsys):
    """`show ARC -o arc.svg` prints the description and writes the SVG."""
    out = tmp_path / "arc.svg"
    assert cli.main(["show", MACRO.to_rows(), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert MACRO.describe() in printed and f"wrote {out}" in printed
    assert "<svg" in out.read_text(encoding="utf-8")


@needs_dot
def test_show_command_micro_one_cell(tmp_path, capsys):
    """`show --space micro --cell normal` draws only the normal cell."""
    out = tmp_path / "cell.svg"
    assert cli.main(["show", MICRO.to_string(), "--space", "micro", "--cell", "normal", "-o", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "normal cell" in svg and "reduction cell" not in svg


def test_show_command_without_output_prints_dot(capsys):
    """Without -o, `show` prints the description and then the DOT text."""
    assert cli.main(["show", MICRO.to_string(), "--space", "micro"]) == 0
    assert capsys.readouterr().out == MICRO.describe() + "\n" + diagrams.micro_dot(MICRO)


@pytest.mark.parametrize("argv, message", [
    (["show", "1 2"], "error: argument `arc`: expected a flat arc of L(L+1)/2 ints"),
    (["show", "[2] [5 0]", "-o", "OUT/arc.txt"], "error: argument `-o`: expected a file ending in one of"),
    (["show", "[2] [5 0]", "--cell", "normal"], "error: argument `--cell`: expected it only with --space micro"),
    (["show", "[2] [5 0]", "--space", "meso"], "error: argument `--space`: expected one of"),
])
def test_show_command_errors(tmp_path, capsys, argv, message):
    """Bad input is one line naming the argument, exit 2, and no file."""
    argv = [a.replace("OUT", str(tmp_path)) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_show_command_without_graphviz(tmp_path, capsys, monkeypatch):
    """Without `dot`, `show -o arc.svg` exits 2 naming the Debian package, and writes nothing."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli.main(["show", "[2] [5 0]", "-o", str(tmp_path / "arc.svg")]) == 2
    assert "install the Debian package `graphviz`" in capsys.readouterr().err
    assert not (tmp_path / "arc.svg").exists()
