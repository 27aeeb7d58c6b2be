"""The Moving Target world: a positive control in which a reusable mutation function exists.

Not one of the paper's worlds. It exists to check that the machinery can detect
learning-to-learn where, by construction, there is something to learn. A genome has two
modules of ``dim`` parameters each: ``"a"`` (``params[:dim]``) and ``"b"`` (``params[dim:]``).
Fitness at generation t is

    -||a - g||^2 - penalty * ||b||^2 + noise * (v . params) / sqrt(2 * dim)

* ``g`` is the goal of the current segment (``t // period``): a point drawn uniformly on the
  sphere of radius ``radius`` in R^dim. Every ``period`` generations it jumps to a new point,
  so a population that has converged on one goal must move ``a`` about ``radius * sqrt(2)``
  to reach the next.
* ``b`` exists to make one mutation function better than others *for every goal*. Its optimum
  is 0, where the founders start, so every mutation of ``b`` costs fitness and never pays.
  The reusable mutation function is "gate of b -> 0, keep mutating a with a radius matched to
  the jumps": it is the same whatever the goal, so it can be learned across jumps. A frozen
  mutation function (the control) keeps damaging ``b`` in every child whose gate for ``b``
  fires, half of them with the initial gate 0.5, and keeps the initial radius for ``a``.
* ``v ~ N(0, I)`` is drawn once per generation (common random numbers): every genome of a
  generation sees the same ``v``, so identical genomes get identical fitness, and the noise
  only tilts the landscape a little, differently each generation, so that selection is never
  entirely deterministic.

Goals and tilts are drawn from ``np.random.SeedSequence([seed, 1, segment])`` and
``SeedSequence([seed, 2, generation])``: the world is a pure function of (seed, generation),
identical for every strategy and arm of one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MovingTargetWorld:
    """A goal for module a that jumps every ``period`` generations; module b should stay at 0."""

    #: Parameters per module (the genome has 2 * dim).
    dim: int = 4
    #: Generations between goal jumps.
    period: int = 20
    #: Distance of every goal from the origin.
    radius: float = 1.0
    #: Weight of ||b||^2 in the fitness.
    penalty: float = 1.0
    #: Scale of the per-generation linear tilt (common random numbers).
    noise: float = 0.1
    #: Seed of goals and tilts.
    seed: int = 0
    #: A goal that never moves (a probe's held-out goal); empty: goals jump every period.
    fixed_goal: tuple[float, ...] = ()

    @property
    def modules(self) -> tuple[tuple[str, int], ...]:
        """Module names and sizes of a moving-target genome (``MODULES`` in the other worlds)."""
        return (("a", self.dim), ("b", self.dim))

    @property
    def num_params(self) -> int:
        return 2 * self.dim

    def founders(self, size: int) -> np.ndarray:
        """(size, 2 * dim) float32 founder parameters, all at the origin (b's optimum)."""
        return np.zeros((size, self.num_params), dtype=np.float32)

    def segment(self, generation: int) -> int:
        """Index of the goal in force at ``generation``."""
        return generation // self.period

    def changes(self, generation: int) -> bool:
        """Whether the goal jumped since the previous generation (generation 0 is unscored)."""
        return generation > 0 and generation % self.period == 0

    def goal(self, segment: int) -> np.ndarray:
        """(dim,) goal of ``segment``: uniform on the sphere of radius ``radius``."""
        if self.fixed_goal:
            return np.asarray(self.fixed_goal, dtype=np.float64)
        return self.draw_goal(
            np.random.default_rng(np.random.SeedSequence([self.seed, 1, segment]))
        )

    def draw_goal(self, rng: np.random.Generator) -> np.ndarray:
        """A goal as the world draws them (a probe draws held-out goals the same way)."""
        u = rng.standard_normal(self.dim)
        return self.radius * u / np.linalg.norm(u)

    def tilt(self, generation: int) -> np.ndarray:
        """(2 * dim,) the common random direction v of ``generation``'s noise term."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 2, generation]))
        return rng.standard_normal(self.num_params)

    def fitness(self, params: np.ndarray, generation: int) -> np.ndarray:
        """(N,) float64 fitness of (N, 2 * dim) genomes at ``generation``."""
        p = np.asarray(params, dtype=np.float64)
        a, b = p[:, : self.dim], p[:, self.dim :]
        g = self.goal(self.segment(generation))
        tilt = p @ self.tilt(generation) / np.sqrt(self.num_params)
        return -((a - g) ** 2).sum(axis=1) - self.penalty * (b**2).sum(axis=1) + self.noise * tilt
