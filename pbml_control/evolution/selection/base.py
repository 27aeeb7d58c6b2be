"""The ask/tell template every selection strategy shares (evosax-like, functional).

The base class owns the book-keeping: ids, parent and lineage ids, birth and death generations,
the treatment of failed evaluations (NaN/inf fitness counts as -inf and is reported), the
generation counter, death records, scouts' grace period, offspring creation, which genomes are
scored each generation and the selection differential on the mutation function. A strategy
overrides only :meth:`Strategy._select`, its rule for who survives, with which share, and who
may parent offspring; a strategy whose number of births is not "whatever died" (pbml_paper)
also overrides :meth:`Strategy._birth_count` and :meth:`Strategy._next_shares`. Randomness comes
only from the generator passed in: same generator state, same result.

``ask`` names the genomes to score: newborns always, survivors as ``reevaluate`` says, everyone
after a goal change. The caller scores them and passes the whole fitness array to ``tell``, the
others keeping the fitness they carry (:func:`merge_fitness`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from pbml_control.evolution.directions import direction_records, initial_directions
from pbml_control.evolution.genome import ModuleLayout, Population, concat, logit
from pbml_control.evolution.mutation import mutate
from pbml_control.evolution.selection import options
from pbml_control.evolution.selection.config import SelectionConfig


@dataclass
class TellReport:
    """What one ``tell`` changed: the trainer turns ``dead`` into lineages.csv rows."""

    #: Records of the genomes removed this generation: id, parent_id, lineage_id, birth_gen,
    #: death_gen, fitness (k,), sigma (k, M), gate (k, M).
    dead: dict[str, np.ndarray]
    #: Ids of the offspring created this generation.
    born: np.ndarray
    #: Number of non-finite fitness values this generation (ranked as -inf).
    num_failed: int
    #: Per module, the selection differential on log sigma and on the gate logit (Price's
    #: selection term): the share-weighted covariance between a genome's share growth (its own
    #: next share plus its children's, over its share now) and the trait. Negative: selection
    #: pushes radii (gates) down this generation. Shapes (M,).
    sel_log_sigma: np.ndarray | None = None
    sel_gate_logit: np.ndarray | None = None


@dataclass
class Verdict:
    """A strategy's rule applied to one generation."""

    #: Which genomes survive (before the scouts' exemption), shape (N,).
    survive: np.ndarray
    #: Share of every genome after the rule; only survivors' entries are used.
    shares: np.ndarray
    #: Relative chance of being drawn as a parent; only survivors' entries are used.
    parent_weights: np.ndarray
    #: True: offspring take their share from their parent's; False: shares reset to uniform.
    split_shares: bool


class Strategy(ABC):
    """Ask/tell selection, maximising fitness; by default over a fixed budget of N genomes."""

    name: str = "base"

    def __init__(self, cfg: SelectionConfig, layout: ModuleLayout) -> None:
        cfg.validate()
        self.cfg = cfg
        self.layout = layout

    def init(self, init_params: np.ndarray, rng: np.random.Generator) -> Population:
        """Founders: mutated copies of ``init_params`` (D,), or the given rows (N, D).

        Every founder is its own lineage and starts with the configured mutation function.
        """
        n, m = self.cfg.size, self.layout.num_modules
        mcfg = self.cfg.mutation
        log_sigma = np.full((n, m), np.log(mcfg.init_sigma), dtype=np.float32)
        gate_logit = np.full((n, m), logit(mcfg.init_gate), dtype=np.float32)
        params = self._founder_params(np.asarray(init_params, dtype=np.float32))
        d = self.layout.num_params
        none = np.zeros((n, 0, d), np.float32), np.zeros((n, m, 0), np.float32)
        if params.ndim == 1:  # founders spread by the initial radius and gate (no directions)
            rows = np.tile(params, (n, 1))
            genes = (rows, log_sigma, gate_logit, *none, np.zeros((n, 0), np.float32))
            params = mutate(genes, self.layout, mcfg, rng)[0]
        dirs, scales = initial_directions(n, self.layout, mcfg, rng) if mcfg.directions else none
        ids = np.arange(n, dtype=np.int64)
        return Population(
            params=params.copy(), log_sigma=log_sigma, gate_logit=gate_logit, ids=ids,
            dirs=dirs, dir_log_scale=scales,
            parent_ids=np.full(n, -1, np.int64), lineage_ids=ids.copy(),
            birth_gen=np.zeros(n, np.int64), shares=np.full(n, 1.0 / n),
            fitness=np.full(n, np.nan), scout_until=np.full(n, -1, np.int64),
            generation=0, next_id=n,
        )  # fmt: skip

    def ask(self, pop: Population, goal_changed: bool = True) -> np.ndarray:
        """Indices (ascending) of the genomes to score this generation.

        Unscored genomes (fitness NaN: newborns) always; after a goal change everyone, since a
        fitness carried over was measured on another landscape; otherwise survivors as
        ``reevaluate`` says: 'all', the 'top' ``reevaluate_top`` by share, or 'none'.
        """
        todo = np.isnan(pop.fitness)
        if goal_changed or self.cfg.reevaluate == "all":
            todo[:] = True
        elif self.cfg.reevaluate == "top":
            order = np.lexsort((np.arange(pop.size), -pop.shares))
            todo[order[: self.cfg.reevaluate_top]] = True
        return np.flatnonzero(todo)

    def tell(
        self, pop: Population, fitness: np.ndarray, rng: np.random.Generator
    ) -> tuple[Population, TellReport]:
        """Apply the rule to this generation's fitness (every genome's: scored now or carried
        over); return the next population."""
        fit, num_failed = sanitize_fitness(fitness, pop.size)
        ranks = self._ranks(fit, rng)
        verdict = self._select(pop, fit, ranks, rng)
        alive = verdict.survive | (pop.scout_until >= pop.generation)
        if not alive.any():
            alive[int(np.argmax(fit))] = True
        dead = death_records(pop, fit, ~alive)
        keep = np.flatnonzero(alive)
        survivors = pop.take(keep)
        survivors.fitness = fit[keep]
        weights = verdict.parent_weights[keep]
        parents = self._draw_parents(weights, self._birth_count(pop, keep.size), rng)
        offspring = options.breed(
            survivors, parents, ranks[keep], weights, self.cfg, self.layout, rng
        )
        nxt = concat(survivors, offspring)
        nxt.shares = self._next_shares(verdict, keep, parents, pop.size)
        sel_ls, sel_gl = selection_differential(pop, keep, parents, nxt.shares)
        report = TellReport(dead, offspring.ids.copy(), num_failed, sel_ls, sel_gl)
        return nxt, report

    def _birth_count(self, pop: Population, survivors: int) -> int:
        """Children born this generation: fixed budget, so exactly the genomes that died."""
        return pop.size - survivors

    def _next_shares(
        self, verdict: Verdict, keep: np.ndarray, parents: np.ndarray, size: int
    ) -> np.ndarray:
        """Shares of survivors then offspring (sum 1)."""
        return next_shares(verdict, keep, parents, size)

    @abstractmethod
    def _select(
        self, pop: Population, fitness: np.ndarray, ranks: np.ndarray, rng: np.random.Generator
    ) -> Verdict:
        """The strategy's rule: survivors, their shares and parent weights."""

    def _ranks(self, fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Fitness ranks in [0, 1], 0 = best; ties broken at random."""
        return fitness_ranks(fitness, rng)

    def _founder_params(self, params: np.ndarray) -> np.ndarray:
        d, n = self.layout.num_params, self.cfg.size
        if params.shape not in ((d,), (n, d)):
            raise ValueError(
                f"init_params must have shape ({d},) or ({n}, {d}), got {params.shape}"
            )
        return params

    @staticmethod
    def _draw_parents(weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        """Indices into the survivors, drawn with probability proportional to ``weights``."""
        total = float(weights.sum())
        p = weights / total if total > 0 else np.full(weights.size, 1.0 / weights.size)
        return rng.choice(weights.size, size=count, p=p) if count else np.zeros(0, np.int64)


def sanitize_fitness(fitness: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Fitness as float64 with every NaN/inf replaced by -inf, and how many there were."""
    fit = np.asarray(fitness, dtype=np.float64).reshape(-1)
    if fit.size != size:
        raise ValueError(f"fitness has {fit.size} values for a population of {size}")
    bad = ~np.isfinite(fit)
    return np.where(bad, -np.inf, fit), int(bad.sum())


def fitness_ranks(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ranks in [0, 1] (0 = best, 1 = worst); ties are broken uniformly at random.

    Random tie-breaks matter on plateaus (identical founders, the sparse square world): with
    averaged ranks tied genomes would keep equal shares forever, nobody would die and no
    offspring would be born; with random ones the shares drift neutrally, as in a real
    population, and an index-order tie-break would quietly favour some genomes.
    """
    n = fitness.size
    ranks = np.empty(n)
    ranks[random_order(fitness, rng)] = np.arange(n) / max(n - 1, 1)
    return ranks


def random_order(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices from best to worst fitness, ties broken uniformly at random."""
    return np.lexsort((rng.random(fitness.size), -fitness))


def death_records(pop: Population, fitness: np.ndarray, dead: np.ndarray) -> dict[str, np.ndarray]:
    """The lineage rows of the genomes that die this generation."""
    return {
        "id": pop.ids[dead].copy(),
        "parent_id": pop.parent_ids[dead].copy(),
        "lineage_id": pop.lineage_ids[dead].copy(),
        "birth_gen": pop.birth_gen[dead].copy(),
        "death_gen": np.full(int(dead.sum()), pop.generation, np.int64),
        "fitness": fitness[dead].copy(),
        "sigma": pop.sigma()[dead],
        "gate": pop.gate()[dead],
        **direction_records(pop, dead),
    }


def merge_fitness(pop: Population, index: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Every genome's fitness for ``tell``: ``scored`` at ``index``, the carried value elsewhere."""
    fitness = pop.fitness.astype(np.float64, copy=True)
    fitness[np.asarray(index, dtype=np.int64)] = np.asarray(scored, dtype=np.float64)
    return fitness


def selection_differential(
    pop: Population, keep: np.ndarray, parents: np.ndarray, next_shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Price's selection term on each module's log sigma and gate logit.

    Genome i's share growth is w_i = m_i / s_i, where m_i is the share of the next generation
    that is i or its newborn children and s_i its share now. The selection term
    Cov_s(w, z) = sum_i s_i w_i z_i - sum_i s_i z_i = sum_i m_i z_i - mean_s(z): how far
    selection moves the share-weighted mean trait in one generation, before mutation. Infinite
    gate logits (gates fixed at 0 or 1) give NaN for their module.
    """
    mass = np.zeros(pop.size)
    mass[keep] += next_shares[: keep.size]
    np.add.at(mass, keep[parents], next_shares[keep.size :])
    before = pop.shares / pop.shares.sum()
    out = []
    for trait in (pop.log_sigma, pop.gate_logit):
        z = trait.astype(np.float64)
        with np.errstate(invalid="ignore"):
            out.append(mass @ z - before @ z)
    return out[0], out[1]


def next_shares(verdict: Verdict, keep: np.ndarray, parents: np.ndarray, size: int) -> np.ndarray:
    """Shares of survivors then offspring, summing to 1.

    With ``split_shares`` (PBML, drift) a parent with c offspring splits its renormalised share
    into c + 1 equal parts, one for itself and one per child, so the total stays 1 and a child
    starts exactly as abundant as its parent now is (our reconstruction: the paper does not say
    how a newborn's share is set). Otherwise every genome gets 1/N.
    """
    if not verdict.split_shares:
        return np.full(size, 1.0 / size)
    kept = verdict.shares[keep].astype(np.float64)
    kept = kept / kept.sum()
    children = np.bincount(parents, minlength=keep.size)
    kept = kept / (children + 1)
    return np.concatenate([kept, kept[parents]])
