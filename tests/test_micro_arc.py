"""Tests for enaslite.micro_arc: the micro (cell) architecture encoding."""

import json
import math
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from enaslite.micro_arc import OPS, MicroArc, search_space_size

# The two rows printed in the thesis, section 4.5, verbatim.
THESIS_MICRO = """\
[0 3 1 0 2 1 0 0 2 1 3 1 0 0 1 3 0 1 5 1]
[1 0 1 0 1 1 1 1 0 1 0 2 0 3 2 2 1 3 4 4 0]
"""

# The reference code's released final arc (spec 3.6).
NORMAL = "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1"
REDUCE = "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
RELEASED = MicroArc([int(v) for v in NORMAL.split()], [int(v) for v in REDUCE.split()])
TINY = MicroArc([0, 2, 1, 4], [1, 0, 1, 3])


def test_construction_normalises_and_hashes():
    """Arrays and numpy ints become python-int tuples; equal arcs compare and hash equal."""
    arc = MicroArc(np.array([0, 2, 1, 4]), (np.int32(1), 0, 1, 3))
    assert arc.normal == (0, 2, 1, 4) and arc.reduce == (1, 0, 1, 3)
    assert all(type(v) is int for v in arc.normal + arc.reduce)
    assert arc == TINY and len({arc, TINY}) == 1 and {TINY: 1}[arc] == 1
    assert arc != MicroArc([0, 2, 1, 4], [1, 0, 1, 2])
    assert arc.num_nodes == 1 and RELEASED.num_nodes == 5


@pytest.mark.parametrize("normal, reduce, message", [
    ([2, 0, 0, 0], [0, 0, 0, 0],
     "argument `normal`: normal cell, node 2 (ints 0-3): expected index1 in [0, 1], received 2 (points forward)"),
    ([0, 0, 0, 0], [0, 0, -1, 0], "argument `reduce`: reduce cell, node 2 (ints 0-3): expected index2 in [0, 1], "
                                  "received -1"),
    ([0, 5, 0, 0], [0, 0, 0, 0],
     "argument `normal`: normal cell, node 2 (ints 0-3): expected op1 (an op id) in [0, 4], received 5"),
    ([0, 0, 0], [0, 0, 0, 0], "argument `normal`: normal cell: expected a non-zero multiple of 4 ints "
                              "(index1 op1 index2 op2 per node), received 3: [0 0 0]"),
    ([], [], "argument `normal`: normal cell: expected a non-zero multiple of 4 ints "
             "(index1 op1 index2 op2 per node), received 0: []"),
    ([0, 0, 0, 0], [0] * 8, "argument `reduce`: expected 4 ints (1 nodes, as in the normal cell), received 8 ints"),
    ([0, True, 0, 0], [0] * 4, "argument `normal`: normal cell, int 1: expected an integer, received True"),
])
def test_constructor_errors(normal, reduce, message):
    """Invalid cells raise ValueError naming the cell, node, flat positions, expected and received."""
    with pytest.raises(ValueError) as info:
        MicroArc(normal, reduce)
    assert str(info.value) == message


def test_node_may_use_every_earlier_index():
    """Node i accepts indices up to i-1 and rejects i."""
    cell = [0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 2, 0]  # node 4 uses node 3 and node 2
    assert MicroArc(cell, cell).num_nodes == 3
    bad = cell[:8] + [4, 0, 0, 0]
    with pytest.raises(ValueError, match=re.escape("node 4 (ints 8-11): expected index1 in [0, 3], "
                                                   "received 4 (points forward)")):
        MicroArc(cell, bad)


def test_flat_layout_and_errors():
    """to_flat is normal + reduce as int32; from_flat splits in halves and names bad positions in the flat arc."""
    flat = RELEASED.to_flat()
    assert flat.dtype == np.int32 and flat.shape == (40,)
    assert flat[:20].tolist() == list(RELEASED.normal) and MicroArc.from_flat(flat) == RELEASED
    with pytest.raises(ValueError, match=re.escape(
            "argument `arc`: expected a flat arc of 8*B ints (normal + reduce cell, 4 ints per node, B >= 1), "
            "received 12 ints")):
        MicroArc.from_flat([0] * 12)
    with pytest.raises(ValueError, match=re.escape(
            "argument `arc`: reduce cell, node 2 (ints 4-7): expected op2 (an op id) in [0, 4], received 9")):
        MicroArc.from_flat([0, 0, 0, 0, 0, 0, 0, 9])


def test_from_string_reference_forms():
    """Two rows (brackets, lines, ';', '|'), one flat list, and node-grouped '|' forms all parse."""
    nodes = lambda text: " | ".join(re.findall(r"\d \d \d \d", text))  # noqa: E731
    texts = [
        f"{NORMAL}\n{REDUCE}", f"[{NORMAL}]\n[{REDUCE}]", f"[{NORMAL}] [{REDUCE}]", f"{NORMAL} | {REDUCE}",
        f"{NORMAL}; {REDUCE}", f"{NORMAL} {REDUCE}", f"[{NORMAL} {REDUCE}]", ", ".join((NORMAL + " " + REDUCE).split()),
        f"{nodes(NORMAL)}\n{nodes(REDUCE)}", nodes(NORMAL + " " + REDUCE), f"[{nodes(NORMAL)}]\n[{nodes(REDUCE)}]",
    ]
    for text in texts:
        assert MicroArc.from_string(text) == RELEASED, text


def test_to_string_and_to_rows():
    """to_string is all 8B ints space separated; to_rows is the two-row printout; both round-trip."""
    assert TINY.to_string() == "0 2 1 4 1 0 1 3"
    assert TINY.to_rows() == "[0 2 1 4]\n[1 0 1 3]"
    assert MicroArc.from_string(RELEASED.to_string()) == RELEASED
    assert MicroArc.from_string(RELEASED.to_rows()) == RELEASED
    assert MicroArc.from_string(str(RELEASED.to_flat())) == RELEASED


@pytest.mark.parametrize("text, message", [
    ("", "argument `arc`: expected a non-empty architecture string, received ''"),
    ("0 0 0 0 0 0 0 x", "argument `arc`: item 8: expected an integer, received 'x'"),
    ("[0 0 1 0]\n[0 0 2.5 0]", "argument `arc`: row 2 (reduce cell), item 3: expected an integer, received '2.5'"),
    ("3 0 0 0 0 0 0 0", "argument `arc`: normal cell, node 2 (ints 0-3): expected index1 in [0, 1], "
                        "received 3 (points forward)"),
    ("0 0 0", "argument `arc`: expected a flat arc of 8*B ints (normal + reduce cell, 4 ints per node, B >= 1), "
              "received 3 ints"),
    ("1 2\n3 4\n5", "argument `arc`: expected 1 flat row or 2 rows (normal cell, reduce cell), received 3 rows"),
    ("0 0 0 0 0 0 0 0\n0 0 0 0", "argument `arc`: row 2 (reduce cell): expected 8 ints (2 nodes, as in row 1), "
                                 "received 4"),
    ("[0 0 0 0 0 0 3 0]\n[0 0 0 0 0 0 0 0]", "argument `arc`: row 1 (normal cell), node 3 (ints 4-7): "
                                             "expected index2 in [0, 2], received 3 (points forward)"),
])
def test_from_string_errors(text, message):
    """Bad text raises ValueError naming the row / cell / node, expected and received."""
    with pytest.raises(ValueError) as info:
        MicroArc.from_string(text)
    assert str(info.value) == message


def test_thesis_micro_arc_has_a_transcription_error_in_row_2():
    """The thesis' normal row is valid, but its reduce row has 21 ints, not a multiple of 4."""
    normal_row = THESIS_MICRO.splitlines()[0]
    assert MicroArc.from_string(f"{normal_row}\n{normal_row}").num_nodes == 5
    with pytest.raises(ValueError) as info:
        MicroArc.from_string(THESIS_MICRO)
    assert str(info.value) == (
        "argument `arc`: row 2 (reduce cell): expected a non-zero multiple of 4 ints (index1 op1 index2 op2 per "
        "node), received 21: [1 0 1 0 1 1 1 1 0 1 0 2 0 3 2 2 1 3 4 4 0]")


def test_released_arc_and_loose_ends():
    """The released arc parses and its loose ends match spec 3.6 (normal n2-n6, reduce n2, n4, n5, n6)."""
    assert MicroArc.from_string(f"{NORMAL}\n{REDUCE}") == RELEASED
    assert RELEASED.loose_ends("normal") == (2, 3, 4, 5, 6)
    assert RELEASED.loose_ends("reduce") == (2, 4, 5, 6)
    assert TINY.loose_ends("normal") == (2,)
    assert TINY.loose_ends("reduce") == (0, 2)  # an unused input is a loose end too
    with pytest.raises(ValueError, match=re.escape("argument `cell`: expected 'normal' or 'reduce', "
                                                   "received 'reduction'")):
        RELEASED.loose_ends("reduction")


@pytest.mark.parametrize("num_nodes", [1, 2, 5, 7])
def test_random_arcs_round_trip(num_nodes):
    """Random arcs survive string, rows, flat and JSON round trips."""
    rng = np.random.default_rng(num_nodes)
    for _ in range(5):
        arc = MicroArc.random(rng, num_nodes)
        assert arc.num_nodes == num_nodes
        assert MicroArc.from_string(arc.to_string()) == arc
        assert MicroArc.from_string(arc.to_rows()) == arc
        assert MicroArc.from_flat(arc.to_flat()) == arc
        assert MicroArc.from_dict(json.loads(json.dumps(arc.to_dict()))) == arc


def test_random_is_seeded_and_covers_the_space():
    """Equal seeds give equal arcs; sampled indices reach i-1 and ops stay below num_ops."""
    assert MicroArc.random(3) == MicroArc.random(3)
    assert MicroArc.random(3) != MicroArc.random(4)
    arcs = [MicroArc.random(np.random.default_rng(s), num_ops=3) for s in range(30)]
    cells = np.array([arc.normal for arc in arcs] + [arc.reduce for arc in arcs]).reshape(-1, 5, 4)
    assert set(cells[:, :, 1].ravel()) | set(cells[:, :, 3].ravel()) == {0, 1, 2}
    assert cells[:, 4, 0].max() == 5 and cells[:, 0, 0].max() == 1


def test_dict_form_and_validation():
    """to_dict names the space; from_dict checks keys and space."""
    assert TINY.to_dict() == {"space": "micro", "normal": [0, 2, 1, 4], "reduce": [1, 0, 1, 3]}
    with pytest.raises(ValueError, match=re.escape("argument `d`: key 'space': expected 'micro', received 'macro'")):
        MicroArc.from_dict({"space": "macro", "normal": [0, 0, 0, 0], "reduce": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match=re.escape("expected a mapping with keys ['normal', 'reduce', 'space']")):
        MicroArc.from_dict({"normal": [0, 0, 0, 0], "reduce": [0, 0, 0, 0]})


def test_search_space_size_paper_and_exact():
    """The paper formula gives 600^4 ~ 1.3e11 for B=5; exact counts arcs; both agree with brute force for B=1."""
    assert search_space_size() == 600 ** 4 and f"{float(search_space_size()):.1e}" == "1.3e+11"
    assert MicroArc.search_space_size(5, 5, exact=True) == math.prod((5 * i) ** 2 for i in range(2, 7)) ** 2
    # B=1, 2 ops: a cell is (index in {0,1}, op in {0,1}) twice -> 16 cells, 256 pairs.
    rng = np.random.default_rng(0)
    assert search_space_size(1, 2, exact=True) == 256 == len({MicroArc.random(rng, 1, 2) for _ in range(4000)})
    assert search_space_size(1, 2) == 16


def test_describe_and_edges():
    """describe writes each node as an expression; edges list both cells plus loose-end outputs."""
    text = RELEASED.describe()
    assert "n2 = avgpool3x3(c_{k-2}) + sepconv3x3(c_{k-2})" in text
    assert "n4 = sepconv5x5(c_{k-1}) + sepconv5x5(n3)" in text
    assert "reduce cell (output = concat of n2, n4, n5, n6)" in text
    edges = TINY.edges()
    assert edges["normal"] == [("c_{k-2}", "n2", OPS[2]), ("c_{k-1}", "n2", OPS[4]), ("n2", "out", "concat")]
    assert ("c_{k-2}", "out", "concat") in edges["reduce"]


def test_import_does_not_pull_in_keras_or_tensorflow():
    """Importing micro_arc leaves keras and tensorflow unimported."""
    code = "import enaslite.micro_arc, sys; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).resolve().parents[1])
