"""Offspring creation, with the article's three optional extensions (all off by default).

The article accompanying Frans & Witkowski (2021) proposes, without defining them precisely
(the definitions here are our reconstruction):

* **Extra mutation for low-ranked genomes** (``low_rank_boost``): a parent at rank r in [0, 1]
  (0 = best) mutates its children with radius ``sigma * (1 + low_rank_boost * r)``. What it is
  for: a lineage that is losing gets a wider search before it goes extinct, adding diversity
  exactly where the population has least to lose.
* **Module-wise mating between lineages** (``mating_rate``): with this probability a child takes
  each module (weights and that module's mutation function) from either its parent or a mate
  drawn by share from another lineage. What it is for: combining a good module found in one
  lineage with good modules of another, which mutation alone must rediscover.
* **Scout genomes** (``scout_fraction``, ``scout_sigma_scale``, ``scout_grace``): some children
  are born with an amplified mutation and are exempt from death for ``scout_grace``
  generations. What it is for: let "fatal-looking" jumps into distant regions survive long
  enough for their own offspring to find fit areas surrounded by low fitness.

Amplification (boost, scouts) applies to the creating mutation only and is not inherited. A
mated child keeps the lineage id of its first parent, so lineage trees stay trees.
"""

from __future__ import annotations

import numpy as np

from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.mutation import Genes, crossover, mutate
from pbml_control.evolution.selection.config import SelectionConfig


def breed(
    survivors: Population,
    parents: np.ndarray,
    parent_ranks: np.ndarray,
    weights: np.ndarray,
    cfg: SelectionConfig,
    layout: ModuleLayout,
    rng: np.random.Generator,
) -> Population:
    """Offspring of ``survivors[parents]``, born in the next generation with fresh ids.

    ``parent_ranks`` and ``weights`` (the strategy's parent weights) are per survivor; mates
    are drawn by ``weights`` too.
    """
    n = parents.size
    gen = survivors.generation + 1
    scouts = rng.random(n) < cfg.scout_fraction if cfg.scout_fraction > 0 else np.zeros(n, bool)
    scale = 1.0 + cfg.low_rank_boost * parent_ranks[parents]
    scale = np.where(scouts, scale * cfg.scout_sigma_scale, scale)
    genes = _mate(survivors, parents, weights, cfg.mating_rate, layout, rng)
    params, log_sigma, gate_logit, dirs, dir_log_scale, dir_path = mutate(
        genes, layout, cfg.mutation, rng, sigma_scale=scale
    )
    ids = survivors.next_id + np.arange(n, dtype=np.int64)
    return Population(
        params=params, log_sigma=log_sigma, gate_logit=gate_logit, ids=ids,
        dirs=dirs, dir_log_scale=dir_log_scale, dir_path=dir_path,
        parent_ids=survivors.ids[parents].copy(),
        lineage_ids=survivors.lineage_ids[parents].copy(),
        birth_gen=np.full(n, gen, np.int64), shares=np.zeros(n),
        fitness=clone_fitness(params, survivors.params[parents], survivors.fitness[parents]),
        scout_until=np.where(scouts, gen + cfg.scout_grace - 1, -1).astype(np.int64),
        generation=gen, next_id=survivors.next_id + n,
    )  # fmt: skip


def clone_fitness(
    children: np.ndarray, parents: np.ndarray, parent_fitness: np.ndarray
) -> np.ndarray:
    """A newborn's fitness: its parent's where no module mutated (an exact clone), else NaN.

    No wasted clones: we keep the mutation distribution the genome encodes (a gate of 0.2 means
    "this module mutates in one child in five", and forcing a mutation into every child would
    overrule exactly what the gates evolve to say) and instead never roll a clone out again. A
    clone carries its parent's score, so it is not scored while the goal stays the same unless
    ``reevaluate`` re-scores survivors anyway; then the trainer evaluates identical parameter
    vectors once per generation and shares the result
    (:func:`pbml_control.running.trainer.evaluate`).
    """
    same = np.all(children == parents, axis=1)
    return np.where(same, parent_fitness, np.nan)


def _mate(
    pop: Population,
    parents: np.ndarray,
    weights: np.ndarray,
    rate: float,
    layout: ModuleLayout,
    rng: np.random.Generator,
) -> Genes:
    """Parent genes, with a fraction ``rate`` crossed module-wise with a mate of another lineage."""
    genes = genes_of(pop, parents)
    if rate <= 0 or parents.size == 0:
        return genes
    mates = _draw_mates(pop.lineage_ids, parents, weights, rng)
    mating = (rng.random(parents.size) < rate) & (mates >= 0)
    mates = np.where(mating, mates, parents)
    return crossover(genes, genes_of(pop, mates), layout, rng)


def genes_of(pop: Population, rows: np.ndarray) -> Genes:
    """The genes (weights and mutation function) of ``pop``'s genomes at ``rows``."""
    return (pop.params[rows], pop.log_sigma[rows], pop.gate_logit[rows], pop.dirs[rows],
            pop.dir_log_scale[rows], pop.dir_path[rows])  # fmt: skip


def _draw_mates(
    lineages: np.ndarray, parents: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each parent, a mate drawn by weight among other lineages' genomes; -1 if none."""
    weights = np.where(lineages[parents][:, None] != lineages[None, :], weights[None, :], 0.0)
    totals = weights.sum(axis=1)
    cum = np.cumsum(weights, axis=1)
    u = rng.random(parents.size) * totals
    picks = np.minimum((cum <= u[:, None]).sum(axis=1), lineages.size - 1)
    return np.where(totals > 0, picks, -1)
