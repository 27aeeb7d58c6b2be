"""PBML over a fixed budget of N genomes, where births fill deaths (the first release's rule).

Kept under its name, ``pbml``, so that old configs and results reproduce exactly; the rule the
project now stands behind is :mod:`~pbml_control.evolution.selection.pbml_paper` (C births a
generation whatever died). Measured on the quickstart, tying births to deaths makes every knob
that keeps lineages alive also stop the search (docs/design.md).

Each genome carries an abundance share, its weight in a large virtual population. Every
generation, share_i is multiplied by ``exp(-rank_pressure * r_i)`` where r_i in [0, 1] is its
fitness rank (0 = best), the shares are renormalised, and genomes whose share falls under
``min_share`` die. Offspring fill the freed budget, parents drawn in proportion to share, and a
child takes its share from its parent's
(see :func:`~pbml_control.evolution.selection.base.next_shares`).

Why this selects for *learning ability*: a low-ranked genome loses share but does not die at
once, so a lineage whose fitness is lower today but whose mutation function keeps producing
good offspring survives long enough for that advantage to show. The exponential shrink factor
and the split of shares at birth are our reconstruction; the paper is silent on both.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection.base import Strategy, Verdict


class PBMLStrategy(Strategy):
    """Soft, share-based survival; extinction under ``min_share``."""

    name = "pbml"

    def _select(
        self, pop: Population, fitness: np.ndarray, ranks: np.ndarray, rng: np.random.Generator
    ) -> Verdict:
        shares = pop.shares * np.exp(-self.cfg.rank_pressure * ranks)
        shares = shares / shares.sum()
        return Verdict(
            survive=shares >= self.cfg.min_share,
            shares=shares,
            parent_weights=shares,
            split_shares=True,
        )
