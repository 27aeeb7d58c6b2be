"""Truncation selection: the classic elitist top-k genetic algorithm.

The k fittest genomes survive unchanged (ties broken at random); the other N - k are offspring
of elites drawn uniformly. Survival is hard, so a lineage must be in the top k every generation.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection.base import Strategy, Verdict, random_order


class TruncationStrategy(Strategy):
    """Top-k elitism with uniform parent choice among the elites."""

    name = "truncation"

    def _select(
        self, pop: Population, fitness: np.ndarray, ranks: np.ndarray, rng: np.random.Generator
    ) -> Verdict:
        elites = random_order(fitness, rng)[: self.cfg.elites]
        survive = np.zeros(pop.size, dtype=bool)
        survive[elites] = True
        weights = survive.astype(np.float64)
        return Verdict(survive=survive, shares=weights, parent_weights=weights, split_shares=False)
