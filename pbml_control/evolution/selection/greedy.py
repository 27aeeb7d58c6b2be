"""Greedy single-genome evolution, the paper's baseline (a (1 + (N-1)) scheme).

One incumbent survives; the other N - 1 genomes are its offspring. Each generation the
incumbent is re-evaluated with its offspring (the goal may have changed), and the best of all N
becomes the next incumbent, ties broken at random (so that it can drift across a plateau of
sparse fitness). Because only one genome survives, a lineage with a better mutation function
but a worse genome today is lost at once: this is what the paper contrasts with PBML.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection.base import Strategy, Verdict, random_order


class GreedyStrategy(Strategy):
    """The best genome survives alone and parents every offspring."""

    name = "greedy"

    def _select(
        self, pop: Population, fitness: np.ndarray, ranks: np.ndarray, rng: np.random.Generator
    ) -> Verdict:
        best = random_order(fitness, rng)[0]
        survive = np.zeros(pop.size, dtype=bool)
        survive[best] = True
        weights = survive.astype(np.float64)
        return Verdict(survive=survive, shares=weights, parent_weights=weights, split_shares=False)
