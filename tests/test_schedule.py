import math

import pytest

from enaslite.schedule import sgdr_lr


def test_restarts_at_reference_epochs():
    """With T0=10, Tmul=2 the lr restarts to lr_max at epochs 0, 10, 30, 70, 150, 310."""
    for e in (0, 10, 30, 70, 150, 310):
        assert sgdr_lr(e, 0.05, 0.0005) == pytest.approx(0.05)
        assert sgdr_lr(e - 1, 0.05, 0.0005) < 0.002 if e else True


def test_cosine_midpoint():
    """Half-way through a cycle the lr is the mean of lr_max and lr_min."""
    assert sgdr_lr(5, 0.05, 0.001) == pytest.approx(0.0255)
    assert sgdr_lr(20, 0.05, 0.001) == pytest.approx(0.0255)


def test_bad_epoch():
    """A negative epoch is rejected."""
    with pytest.raises(ValueError, match="argument `epoch`: expected an int >= 0, received -1"):
        sgdr_lr(-1, 0.05, 0.001)
