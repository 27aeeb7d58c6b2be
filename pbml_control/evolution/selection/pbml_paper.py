"""PBML with births independent of deaths: the paper's offspring-count rule (our reconstruction).

Frans & Witkowski (2021, arXiv 2103.06435) keep a population count per genome. What their
algorithm box says, as a reader transcribed it (docs/design.md): every generation the counts
decay by a ratio D and are scaled by fitness rank, then renormalised; every genome spawns about
``count x C`` offspring, so about C children are born per generation whatever died; genomes
under 1/1000 of the population are dropped. Here, every generation:

1. **Rank rule.** Each share is scaled by its fitness rank r in [0, 1] (0 = best):
   ``'linear'``: ``share *= 1 - decay * r`` (the best keeps its count, the worst loses the
   fraction D); ``'exponential'``: ``share *= exp(-rank_pressure * r)``, the rule of ``pbml``.
   Shares are renormalised to sum 1.
2. **Extinction.** Genomes under ``min_share`` die. So do the least abundant survivors beyond
   ``max_genomes - offspring``, so that the distinct genomes alive after the births never
   exceed ``max_genomes`` (scouts in their grace period are kept first).
3. **Births.** Exactly ``offspring`` (C) children are born, parents drawn with probability
   proportional to share, whatever died: the number of distinct genomes alive varies between C
   and ``max_genomes``. A newborn's share is split from its parent's (``newborn='parent'``: a
   parent with c children keeps 1/(c+1) of its share and gives each child as much) or is a
   fresh ``1 / max_genomes`` (``newborn='fresh'``), after which all shares are renormalised.

What the paper leaves open and this module decides: the exact form of the rank scaling (the
two rules above), how a newborn's count is set (the two options), and the cap (the paper's
population is bounded only by the 1/1000 threshold; a cap keeps the evaluation budget finite).
Which survivors are scored again is the base class's ``reevaluate`` option.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection.base import Strategy, Verdict, next_shares


class PBMLPaperStrategy(Strategy):
    """C births a generation, parents by share; extinction under ``min_share`` or the cap."""

    name = "pbml_paper"

    def _select(
        self, pop: Population, fitness: np.ndarray, ranks: np.ndarray, rng: np.random.Generator
    ) -> Verdict:
        shares = pop.shares * self._rank_factor(ranks)
        total = shares.sum()
        shares = shares / total if total > 0 else np.full(pop.size, 1.0 / pop.size)
        scouts = pop.scout_until >= pop.generation
        candidates = (shares >= self.cfg.min_share) | scouts
        room = self.cfg.genome_cap - self.cfg.births
        # Most abundant first, scouts before everyone, ties to the better rank.
        order = np.lexsort((ranks, -shares, ~scouts))
        survive = np.zeros(pop.size, dtype=bool)
        survive[order[:room]] = True
        survive &= candidates
        return Verdict(survive=survive, shares=shares, parent_weights=shares, split_shares=True)

    def _rank_factor(self, ranks: np.ndarray) -> np.ndarray:
        if self.cfg.rank_rule == "linear":
            return 1.0 - self.cfg.decay * ranks
        return np.exp(-self.cfg.rank_pressure * ranks)

    def _birth_count(self, pop: Population, survivors: int) -> int:
        return self.cfg.births

    def _next_shares(
        self, verdict: Verdict, keep: np.ndarray, parents: np.ndarray, size: int
    ) -> np.ndarray:
        if self.cfg.newborn == "parent":
            return next_shares(verdict, keep, parents, size)
        kept = verdict.shares[keep].astype(np.float64)
        fresh = np.full(parents.size, 1.0 / self.cfg.genome_cap)
        shares = np.concatenate([kept / kept.sum(), fresh])
        return shares / shares.sum()
