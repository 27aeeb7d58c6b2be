"""Reproductions of the paper's toy-world experiments (`pbml experiment numeric|square`).

Each experiment runs every selection strategy over several seeds through the same ask/tell
API the trainer uses, writes one CSV per run, PNG plots and a summary table, and states in
plain numbers whether the paper's claims (docs/design.md, claims 2 and 3) reproduced.
"""

from pbml_control.experiments.numeric import NumericSettings, run_numeric
from pbml_control.experiments.square import SquareSettings, run_square

#: Experiment name -> runner(settings) -> summary text.
EXPERIMENTS = {"numeric": run_numeric, "square": run_square}

__all__ = ["EXPERIMENTS", "NumericSettings", "SquareSettings", "run_numeric", "run_square"]
