"""Shared helpers for the architecture encodings: tokenising arc text and checking integers.

Pure Python + numpy: `macro_arc` and `micro_arc` import this, and none of them may import Keras or TensorFlow
(other modules build models from arcs; arcs themselves are plain data).

Every error is a `ValueError` of the form

    argument `<arg>`: <where>: expected <...>, received <...>

Numbering conventions in `<where>`:
- *rows* and *items* count pieces of the user's text, 1-based as a person counts lines ("row 7", "item 3");
- *layers*, *nodes* and *ints a-b* follow the encoding itself, 0-based like the reference code's `fixed_arc[:20]`
  (macro layer l = 0..L-1; micro node i = 2..B+1 because indices 0 and 1 are the two cell inputs).
"""

from __future__ import annotations

import operator
import re
from typing import Callable, Iterable, Optional

import numpy as np

_INT_TOKEN = re.compile(r"[+-]?\d+\Z")
# Innermost bracket groups: a numpy row "[5 0]" or a python list "[5, 0]"; nested lists "[[2], [5, 0]]" yield their
# inner rows, and a long numpy row wrapped over several lines is still one group.
_GROUP = re.compile(r"\[([^\[\]]*)\]")


def arc_error(where: str, expected: str, received, arg: str = "arc") -> ValueError:
    """Builds the house-style error: "argument `arg`: where: expected ..., received ..."."""
    prefix = f"argument `{arg}`: " + (f"{where}: " if where else "")
    return ValueError(f"{prefix}expected {expected}, received {received}")


def format_ints(ints: Iterable[int]) -> str:
    """Formats ints the way numpy prints an int row: "[0 0 1]"."""
    return "[" + " ".join(str(v) for v in ints) + "]"


def as_int(value, where: str, arg: str) -> int:
    """Converts a python or numpy integer to `int`; bools and floats (even 2.0) are rejected."""
    # bool is an int subclass, but True as an op id or node index is almost surely a bug upstream.
    if isinstance(value, (bool, np.bool_)):
        raise arc_error(where, "an integer", repr(value), arg)
    try:
        return operator.index(value)
    except TypeError:
        raise arc_error(where, "an integer", repr(value), arg) from None


def as_ints(values, where: str, arg: str, label: Optional[Callable[[int], str]] = None) -> tuple[int, ...]:
    """Converts a sequence (list, tuple, 1-D array) to a tuple of ints; `label(k)` names item k in errors."""
    if isinstance(values, (str, bytes)) or np.ndim(values) > 1:
        raise arc_error(where, "a 1-D sequence of integers", repr(values), arg)
    try:
        items = list(values)
    except TypeError:
        raise arc_error(where, "a sequence of integers", repr(values), arg) from None
    label = label or (lambda k: f"{where}, item {k}" if where else f"item {k}")
    return tuple(as_int(v, label(k), arg) for k, v in enumerate(items))


def check_text(text, arg: str = "arc") -> str:
    """Returns `text` stripped; rejects non-strings and blank strings."""
    if not isinstance(text, str):
        raise arc_error("", "a string", f"{type(text).__name__} {text!r}", arg)
    if not text.strip():
        raise arc_error("", "a non-empty architecture string", repr(text), arg)
    return text.strip()


def bracket_groups(text: str, arg: str = "arc") -> Optional[list[str]]:
    """Returns the contents of the innermost `[...]` groups, or None when the text has no brackets."""
    if "[" not in text and "]" not in text:
        return None
    leftover = _GROUP.sub(" ", text)
    stray = re.sub(r"[\s,\[\]]+", " ", leftover).strip()
    if stray or not _GROUP.search(text):
        shown = stray or leftover.strip()
        raise arc_error("", "every row inside matching brackets", f"text outside brackets: {shown!r}", arg)
    return _GROUP.findall(text)


def parse_ints(chunk: str, where: str = "", arg: str = "arc", separators: str = ",") -> tuple[int, ...]:
    """Splits `chunk` on whitespace and `separators`, and parses each token as an int (items are 1-based)."""
    tokens = [t for t in re.split(r"[\s" + re.escape(separators) + r"]+", chunk) if t]
    ints = []
    for k, token in enumerate(tokens, start=1):
        if not _INT_TOKEN.match(token):
            raise arc_error(f"{where}, item {k}" if where else f"item {k}", "an integer", repr(token), arg)
        ints.append(int(token))
    return tuple(ints)


def check_int_arg(value, arg: str, minimum: int = 1, maximum: Optional[int] = None) -> int:
    """Validates a size argument such as `num_layers` or `num_ops` (an int in [minimum, maximum])."""
    value = as_int(value, "", arg)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"in [{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
        raise arc_error("", f"an integer {bound}", value, arg)
    return value


def make_rng(rng) -> np.random.Generator:
    """Accepts a numpy Generator (used as is, so draws advance it), an int seed, or None (fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
