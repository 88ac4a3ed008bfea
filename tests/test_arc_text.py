"""Tests for enaslite.arc_text: the shared tokenising and integer checks."""

import re

import numpy as np
import pytest

from enaslite import arc_text


def test_arc_error_format():
    """Errors read "argument `x`: where: expected ..., received ..."."""
    err = arc_text.arc_error("row 2", "an integer", "'x'")
    assert isinstance(err, ValueError)
    assert str(err) == "argument `arc`: row 2: expected an integer, received 'x'"
    assert str(arc_text.arc_error("", "a string", 3, "d")) == "argument `d`: expected a string, received 3"


def test_as_int_accepts_numpy_ints_and_rejects_bools_and_floats():
    """numpy ints become python ints; bools and floats (even integral ones) are rejected."""
    value = arc_text.as_int(np.int64(4), "layer 0", "ops")
    assert value == 4 and type(value) is int
    for bad in (True, np.bool_(False), 2.0, np.float32(1.5), "3", None):
        with pytest.raises(ValueError, match=re.escape("argument `ops`: layer 0: expected an integer, received")):
            arc_text.as_int(bad, "layer 0", "ops")


def test_as_ints_labels_the_failing_item():
    """as_ints names the failing item through `label`, and rejects strings and 2-D arrays."""
    assert arc_text.as_ints(np.array([1, 2]), "", "ops") == (1, 2)
    with pytest.raises(ValueError, match=re.escape("argument `ops`: layer 1: expected an integer, received 0.5")):
        arc_text.as_ints([1, 0.5], "", "ops", label=lambda k: f"layer {k}")
    with pytest.raises(ValueError, match="expected a 1-D sequence of integers"):
        arc_text.as_ints("12", "", "ops")
    with pytest.raises(ValueError, match="expected a 1-D sequence of integers"):
        arc_text.as_ints(np.zeros((2, 2), int), "", "ops")
    with pytest.raises(ValueError, match="expected a sequence of integers, received 5"):
        arc_text.as_ints(5, "", "ops")


def test_check_text_rejects_empty_and_non_strings():
    """Blank strings and non-strings are rejected with the received value shown."""
    with pytest.raises(ValueError, match=re.escape("argument `arc`: expected a non-empty architecture string, "
                                                   "received ''")):
        arc_text.check_text("")
    with pytest.raises(ValueError, match=re.escape("argument `arc`: expected a string, received list [1]")):
        arc_text.check_text([1])
    assert arc_text.check_text("  1 2 \n") == "1 2"


def test_bracket_groups():
    """Innermost bracket groups become rows, wrapped rows stay whole, and stray text is an error."""
    assert arc_text.bracket_groups("1 2 3") is None
    assert arc_text.bracket_groups("[2]\n[5 0]") == ["2", "5 0"]
    assert arc_text.bracket_groups("[[2], [5, 0]]") == ["2", "5, 0"]
    assert arc_text.bracket_groups("[1 2\n 3 4]") == ["1 2\n 3 4"]
    with pytest.raises(ValueError, match=re.escape("received text outside brackets: 'x'")):
        arc_text.bracket_groups("[2] x [5 0]")
    with pytest.raises(ValueError, match=re.escape("received text outside brackets: '5 0'")):
        arc_text.bracket_groups("[2] [5 0")


def test_parse_ints_separators_and_bad_tokens():
    """Whitespace, commas (and chosen separators) split ints; a bad token is named by its 1-based item."""
    assert arc_text.parse_ints("1, 2,3\n -4") == (1, 2, 3, -4)
    assert arc_text.parse_ints("1 2 | 3", separators=",|") == (1, 2, 3)
    with pytest.raises(ValueError, match=re.escape("argument `arc`: row 2, item 3: expected an integer, "
                                                   "received '2.5'")):
        arc_text.parse_ints("1 2 2.5", "row 2")
    with pytest.raises(ValueError, match=re.escape("argument `arc`: item 1: expected an integer, received 'x'")):
        arc_text.parse_ints("x")


def test_check_int_arg_bounds():
    """Size arguments must be ints within bounds."""
    assert arc_text.check_int_arg(3, "num_ops", 1, 6) == 3
    with pytest.raises(ValueError, match=re.escape("argument `num_ops`: expected an integer in [1, 6], received 7")):
        arc_text.check_int_arg(7, "num_ops", 1, 6)
    with pytest.raises(ValueError, match=re.escape("argument `num_layers`: expected an integer >= 1, received 0")):
        arc_text.check_int_arg(0, "num_layers")


def test_make_rng_reuses_generators_and_seeds_ints():
    """A Generator is used as is; equal int seeds give equal streams."""
    gen = np.random.default_rng(0)
    assert arc_text.make_rng(gen) is gen
    assert arc_text.make_rng(5).integers(1000) == arc_text.make_rng(5).integers(1000)
