"""The architecture `python -m enaslite retrain --random --seed S` draws: one function, no Keras import, so the
study's planner (which must not import Keras) and the retrain command draw the same one."""

from __future__ import annotations

import numpy as np

from enaslite.config import Config
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc


def random_final_arc(config: Config):
    """The uniformly random architecture of `retrain --random --seed config.seed`, sized for `config.final`."""
    rng = np.random.default_rng(config.seed)
    c = config.final
    if config.space == "macro":
        return MacroArc.random(rng, c.num_layers, num_ops=c.num_branches or 6)
    return MicroArc.random(rng, num_nodes=c.num_cells, num_ops=c.num_branches or 5)
