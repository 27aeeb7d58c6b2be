"""Random drift: PBML's share dynamics with fitness ignored (the neutral baseline).

Ranks are a fresh random permutation every generation, so shares change at random, lineages
die by chance and nothing selects either for fitness or for the mutation function. Any trend it
shows is what mutation and share dynamics alone produce. Using PBML's rule with random ranks
(rather than, say, uniform resampling) is our reconstruction: it isolates selection as the only
difference from ``pbml``.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.selection.pbml import PBMLStrategy


class DriftStrategy(PBMLStrategy):
    """Shares shrink by a random rank; fitness is never read."""

    name = "drift"

    def _ranks(self, fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = fitness.size
        return rng.permutation(n) / max(n - 1, 1)
