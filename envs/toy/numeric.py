"""The Numeric world: current fitness decoupled from learning ability.

Our reconstruction of the paper's Figure 2 world. A genome is {X, R}:

* ``X`` is the genome's single parameter, in a module named ``"x"``; fitness is ``X`` itself
  (maximised, unbounded), so nothing but X is ever read by selection.
* ``R`` is the mutation radius of module ``"x"`` (the genome's sigma): a child's X is
  ``X + R * N(0, 1)``. R never enters fitness; it only sets how far X moves in the offspring.
* R itself mutates: the child's ``log R`` takes a Gaussian step (self-adaptation, meta-rate
  fixed by the experiment). The module's gate is fixed at 1, so X always mutates.

A larger R gives a wider spread of offspring, hence better top offspring, but only *after* a
generation: the child's own X moved with its parent's R. So R can rise only under a selection
scheme that keeps lineages alive across generations, which is the claim the world tests.
The landscape does not change: only X's scale grows, which is enough here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Module names and sizes of a numeric-world genome.
MODULES: tuple[tuple[str, int], ...] = (("x", 1),)


@dataclass(frozen=True)
class NumericWorld:
    """Fitness = X. Stateless; ``x0`` is where every founder starts."""

    #: Founders' X.
    x0: float = 0.0

    @property
    def num_params(self) -> int:
        return 1

    def founders(self, size: int) -> np.ndarray:
        """(size, 1) float32 founder parameters, all at ``x0``."""
        return np.full((size, 1), self.x0, dtype=np.float32)

    def fitness(self, params: np.ndarray) -> np.ndarray:
        """(N,) fitness of (N, 1) genomes: their X."""
        return np.asarray(params, dtype=np.float64)[:, 0].copy()
