"""Cosine learning rate with warm restarts (SGDR), stepped per epoch as in the reference code (spec 5.3)."""

from __future__ import annotations

import math


def sgdr_lr(epoch: int, lr_max: float, lr_min: float, t0: int = 10, tmul: int = 2) -> float:
    """The learning rate of 0-based `epoch`.

    With t0=10 and tmul=2 the cycles restart at epochs 10, 30, 70, 150, 310 and 630, so runs of 150, 310 or 630
    epochs end exactly at a cycle boundary (lr close to lr_min).
    """
    if epoch < 0:
        raise ValueError(f"argument `epoch`: expected an int >= 0, received {epoch!r}")
    if t0 < 1 or tmul < 1:
        raise ValueError(f"argument `t0`/`tmul`: expected ints >= 1, received t0={t0!r}, tmul={tmul!r}")
    start, period = 0, t0
    while epoch >= start + period:
        start += period
        period *= tmul
    t_cur = epoch - start
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * t_cur / period))
