"""`random_final_arc`: the architecture `retrain --random` draws, from the config's seed and final sizes."""

from enaslite.config import preset
from enaslite.macro_arc import MacroArc
from enaslite.micro_arc import MicroArc
from enaslite.random_arc import random_final_arc
from enaslite.study import plan


def test_seeded_and_sized_for_the_final_model():
    """Same seed, same architecture; another seed, another; the arc fits `config.final` in either space."""
    macro = preset("cpu-macro", seed=0)
    a, b = random_final_arc(macro), random_final_arc(macro)
    assert isinstance(a, MacroArc) and a == b and len(a.ops) == macro.final.num_layers
    assert random_final_arc(preset("cpu-macro", seed=1)) != a
    micro = preset("cpu-micro", seed=0)
    arc = random_final_arc(micro)
    assert isinstance(arc, MicroArc) and arc.num_nodes == micro.final.num_cells


def test_the_planner_draws_the_commands_architecture():
    """The study's random-architecture retrains are the runs of `retrain --random --seed s`."""
    for job in plan.random_arc_jobs("macro", "cpu-macro", count=2, seed=3):
        assert job.arc == random_final_arc(job.config).to_string()
