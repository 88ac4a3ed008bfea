"""Tests for enaslite.macro_arc: the macro architecture encoding."""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from enaslite.macro_arc import OPS, MacroArc, search_space_size

# The 24-layer arc printed in the thesis, section 4.3, verbatim.
THESIS_MACRO = """\
[2]
[5 0]
[1 0 0]
[3 1 1 0]
[3 0 0 1 1]
[1 0 0 0 0 1]
[0 0 0 0 0 0]
[3 0 0 0 0 0 1]
[4 0 0 0 0 1 0 0 0]
[4 1 0 1 0 1 0 1 0 1]
[1 1 1 0 0 1 0 1 1 1 1]
[5 1 0 1 0 1 0 1 0 0 0 1]
[1 0 0 1 1 0 0 1 0 1 0 0 0]
[2 1 0 1 0 1 0 0 0 1 1 0 0 0]
[3 0 0 1 1 0 0 0 1 0 1 1 0 0 1]
[2 0 0 1 0 1 1 0 1 0 0 1 1 0 1 1]
[4 0 0 1 1 0 1 0 0 0 0 1 1 0 1 0 1]
[5 0 0 0 1 1 0 1 0 1 1 1 1 1 0 0 0 0]
[1 0 1 0 0 0 1 1 0 1 0 0 1 0 0 0 0 0 0]
[1 0 0 0 0 1 1 1 0 0 0 0 1 0 0 0 1 1 1 1]
[4 1 1 0 1 1 0 1 1 0 0 1 1 0 0 0 0 0 0 1 1]
[5 1 0 1 0 0 1 0 1 0 1 0 0 0 1 0 1 0 1 0 1 0]
[5 1 1 1 1 0 1 1 0 0 0 1 1 1 1 1 1 1 1 0 1 1 1 1]
[1 1 1 1 0 1 1 0 0 0 0 0 1 0 1 1 1 0 0 0 0 1 0 1]
"""

RELEASED_OPS = (0, 3, 0, 2, 2, 3, 2, 2, 1, 0, 2, 0, 2, 1, 0, 2, 2, 2, 3, 3, 0, 3, 0, 0)
SMALL = MacroArc([2, 5, 1], [[], [0], [0, 1]])


def test_construction_normalises_to_python_int_tuples():
    """Lists and numpy ints become tuples of python ints; equal arcs compare and hash equal."""
    arc = MacroArc(np.array([2, 5, 1]), [np.array([], int), [np.int64(0)], (0, 1)])
    assert arc.ops == (2, 5, 1) and arc.skips == ((), (0,), (0, 1))
    assert all(type(v) is int for v in arc.ops + arc.skips[2])
    assert arc == SMALL and len({arc, SMALL}) == 1 and {SMALL: "x"}[arc] == "x"
    assert arc != MacroArc([2, 5, 1], [[], [1], [0, 1]])
    with pytest.raises(AttributeError):
        arc.ops = (0, 0, 0)


def test_properties():
    """num_layers and skip_rate follow the reference definitions."""
    assert SMALL.num_layers == 3
    assert SMALL.skip_rate == pytest.approx(1 / 3)
    assert MacroArc([0], [[]]).skip_rate == 0.0


@pytest.mark.parametrize("ops, skips, message", [
    ([0, 7], [[], [0]], "argument `ops`: layer 1: expected an op id in [0, 5], received 7"),
    ([0, -1], [[], [0]], "argument `ops`: layer 1: expected an op id in [0, 5], received -1"),
    ([0, 1], [[], [2]], "argument `skips`: layer 1, skip_0: expected a skip bit 0 or 1, received 2"),
    ([0, 1], [[], [0, 1]], "argument `skips`: layer 1: expected 1 skip bits, received 2: [0 1]"),
    ([True], [[]], "argument `ops`: layer 0: expected an integer, received True"),
    ([2.0], [[]], "argument `ops`: layer 0: expected an integer, received 2.0"),
    ([], [], "argument `ops`: expected at least one layer, received 0 ops"),
    ([0], [], "argument `skips`: expected 1 rows of skip bits (one per layer), received 0 rows"),
])
def test_constructor_errors(ops, skips, message):
    """Invalid ops / skips raise ValueError naming the argument, the layer, expected and received."""
    with pytest.raises(ValueError) as info:
        MacroArc(ops, skips)
    assert str(info.value) == message


def test_flat_layout_and_round_trip():
    """to_flat concatenates [op, skips...] per layer as int32; from_flat inverts it."""
    flat = SMALL.to_flat()
    assert flat.dtype == np.int32 and flat.tolist() == [2, 5, 0, 1, 0, 1]
    assert MacroArc.from_flat(flat) == SMALL
    assert MacroArc.from_flat([3]) == MacroArc([3], [[]])


@pytest.mark.parametrize("num_layers, length", [(12, 78), (24, 300)])
def test_flat_lengths_match_reference(num_layers, length):
    """The flat arc has L + L(L-1)/2 ints: 78 for L=12, 300 for L=24."""
    assert MacroArc.random(0, num_layers).to_flat().shape == (length,)


def test_from_flat_errors():
    """A non-triangular length or a bad int is reported with its layer and flat positions."""
    with pytest.raises(ValueError, match=re.escape(
            "argument `arc`: expected a flat arc of L(L+1)/2 ints for some L >= 1 (1, 3, 6, 10, 15, ...), "
            "received 5 ints")):
        MacroArc.from_flat([2, 5, 0, 1, 0])
    with pytest.raises(ValueError, match=re.escape("received 0 ints")):
        MacroArc.from_flat([])
    with pytest.raises(ValueError, match=re.escape(
            "argument `arc`: layer 2 (ints 3-5), skip_1: expected a skip bit 0 or 1, received 3")):
        MacroArc.from_flat([2, 5, 0, 1, 0, 3])
    with pytest.raises(ValueError, match=re.escape(
            "argument `arc`: layer 0 (int 0): expected an op id in [0, 5], received 8")):
        MacroArc.from_flat([8])
    with pytest.raises(ValueError, match=re.escape("argument `arc`: int 1: expected an integer, received 0.5")):
        MacroArc.from_flat([1, 0.5, 0])


@pytest.mark.parametrize("text", [
    "2 5 0 1 0 1", "[2, 5, 0, 1, 0, 1]", "2,5,0,1,0,1", "[2 5 0\n 1 0 1]",
    "[2]\n[5 0]\n[1 0 1]", "[2] [5 0] [1 0 1]", "[2], [5, 0], [1, 0, 1]", "[[2], [5, 0], [1, 0, 1]]",
    "  [2]\n\n [5 0]\n [1 0 1]  \n",
])
def test_from_string_accepts_reference_printouts(text):
    """Flat lists (spaces, commas, python or numpy brackets) and one-row-per-layer printouts all parse."""
    assert MacroArc.from_string(text) == MacroArc([2, 5, 1], [[], [0], [0, 1]])


def test_to_string_and_to_rows():
    """to_string is the canonical flat form; to_rows is the reference per-layer printout; both round-trip."""
    assert SMALL.to_string() == "2 5 0 1 0 1"
    assert SMALL.to_rows() == "[2]\n[5 0]\n[1 0 1]"
    assert MacroArc.from_string(SMALL.to_string()) == SMALL
    assert MacroArc.from_string(SMALL.to_rows()) == SMALL


@pytest.mark.parametrize("text, message", [
    ("", "argument `arc`: expected a non-empty architecture string, received ''"),
    ("2 5 2.5", "argument `arc`: item 3: expected an integer, received '2.5'"),
    ("x", "argument `arc`: item 1: expected an integer, received 'x'"),
    ("[2]\n[5 x]", "argument `arc`: row 2 (layer 1), item 2: expected an integer, received 'x'"),
    ("2 5 0 1 0", "argument `arc`: expected a flat arc of L(L+1)/2 ints for some L >= 1 (1, 3, 6, 10, 15, ...), "
                  "received 5 ints"),
    ("[2]\n[5 0]\n[7 0 0]", "argument `arc`: row 3 (layer 2): expected an op id in [0, 5], received 7"),
    ("[2]\n[5 2]", "argument `arc`: row 2 (layer 1), skip_0: expected a skip bit 0 or 1, received 2"),
    ("[2]\n[5 0 1]", "argument `arc`: row 2 (layer 1): expected 2 ints (op + 1 skip bits), received 3: [5 0 1]"),
    ("[2] x [5 0]", "argument `arc`: expected every row inside matching brackets, received text outside "
                    "brackets: 'x'"),
])
def test_from_string_errors(text, message):
    """Bad text raises ValueError naming the row (1-based) / layer (0-based), expected and received."""
    with pytest.raises(ValueError) as info:
        MacroArc.from_string(text)
    assert str(info.value) == message


def test_thesis_macro_arc_has_a_transcription_error_at_layer_6():
    """The thesis' 24-row arc fails at row 7 (layer 6), which has 6 ints instead of 7."""
    with pytest.raises(ValueError) as info:
        MacroArc.from_string(THESIS_MACRO)
    assert str(info.value) == ("argument `arc`: row 7 (layer 6): expected 7 ints (op + 6 skip bits), "
                               "received 6: [0 0 0 0 0 0]")


def test_released_reference_arc_parses():
    """A 24-layer arc with the reference code's released ops round-trips through its printouts."""
    skips = [np.random.default_rng(1).integers(0, 2, size=layer) for layer in range(24)]
    arc = MacroArc(RELEASED_OPS, skips)
    assert arc.num_layers == 24 and arc.ops == RELEASED_OPS
    assert MacroArc.from_string(arc.to_rows()) == arc
    assert MacroArc.from_string(str(arc.to_flat())) == arc  # numpy's wrapped printout of the 300-int array
    assert MacroArc.from_flat(arc.to_flat()) == arc


@pytest.mark.parametrize("num_layers", [1, 2, 5, 12, 24])
def test_random_arcs_round_trip(num_layers):
    """Random arcs survive string, rows, flat and JSON round trips."""
    rng = np.random.default_rng(num_layers)
    for _ in range(5):
        arc = MacroArc.random(rng, num_layers)
        assert arc.num_layers == num_layers
        assert MacroArc.from_string(arc.to_string()) == arc
        assert MacroArc.from_string(arc.to_rows()) == arc
        assert MacroArc.from_flat(arc.to_flat()) == arc
        assert MacroArc.from_dict(json.loads(json.dumps(arc.to_dict()))) == arc


def test_random_is_seeded_and_respects_num_ops():
    """Equal seeds give equal arcs, num_ops bounds the op ids, and ops/skips cover their ranges."""
    assert MacroArc.random(7, 12) == MacroArc.random(7, 12)
    assert MacroArc.random(7, 12) != MacroArc.random(8, 12)
    arcs = [MacroArc.random(np.random.default_rng(s), 12, num_ops=4) for s in range(20)]
    ops = {op for arc in arcs for op in arc.ops}
    assert ops == {0, 1, 2, 3}
    rate = np.mean([arc.skip_rate for arc in arcs])
    assert 0.4 < rate < 0.6
    with pytest.raises(ValueError, match=re.escape("argument `num_ops`: expected an integer in [1, 6], received 7")):
        MacroArc.random(0, 3, num_ops=7)


def test_dict_form_and_validation():
    """to_dict names the space; from_dict checks keys and space."""
    assert SMALL.to_dict() == {"space": "macro", "ops": [2, 5, 1], "skips": [[], [0], [0, 1]]}
    with pytest.raises(ValueError, match=re.escape("argument `d`: key 'space': expected 'macro', received 'micro'")):
        MacroArc.from_dict({"space": "micro", "ops": [0], "skips": [[]]})
    with pytest.raises(ValueError, match=re.escape(
            "argument `d`: expected a mapping with keys ['ops', 'skips', 'space'], received ['ops', 'space']")):
        MacroArc.from_dict({"space": "macro", "ops": [0]})


def test_search_space_size():
    """6^L * 2^(L(L-1)/2) exactly; about 1.6e29 for L=12."""
    assert search_space_size(1) == 6 and search_space_size(2) == 72
    assert MacroArc.search_space_size(12) == 6 ** 12 * 2 ** 66
    assert f"{float(search_space_size(12)):.1e}" == "1.6e+29"
    assert search_space_size(3, num_ops=4) == 4 ** 3 * 2 ** 3


def test_describe_edges_and_labels():
    """describe and edges read skip bit j as the stem (j = 0) or layer j-1, as the reference code wires it."""
    text = SMALL.describe()
    assert "layer 0: conv5x5, no skips" in text and "layer 2: sepconv3x3, skips from layer 0" in text
    assert SMALL.edges() == [("stem", "L0", "chain"), ("L0", "L1", "chain"), ("L1", "L2", "chain"),
                             ("L2", "head", "chain"), ("L0", "L2", "skip")]
    assert "layer 1: maxpool3x3, skips from stem" in MacroArc((2, 5), ((), (1,))).describe()
    assert SMALL.node_labels() == {"stem": "stem", "L0": OPS[2], "L1": OPS[5], "L2": OPS[1], "head": "head"}


def test_import_does_not_pull_in_keras_or_tensorflow():
    """Importing the arc modules leaves keras and tensorflow unimported."""
    code = ("import enaslite.macro_arc, enaslite.micro_arc, sys; "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules")
    repo_root = pathlib.Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo_root)
