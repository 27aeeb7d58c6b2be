"""The Subspace world: goals that move inside a fixed low-dimensional subspace of parameter space.

A positive control for mutation *directions* (not in the paper). A genome is one module ``"x"``
of ``dim`` parameters; fitness at generation t is

    -||x - g||^2 + noise * (v . x) / sqrt(dim)

* ``g = B z``: ``B`` is a (dim, rank) orthonormal basis drawn once per seed, ``z`` a point on the
  circle (sphere) of radius ``radius`` in R^rank that jumps every ``period`` generations. So every
  goal lies in the same rank-dimensional subspace, and a mutation function that steps inside it
  finds the next goal about sqrt(dim / rank) times faster than an isotropic one of the same step
  length. A per-module radius cannot say "inside the subspace": only directions can.
* ``v ~ N(0, I)`` is drawn once per generation, common to every genome (common random numbers),
  as in the Moving Target world: identical genomes get identical fitness.

``oracle``: founders carry the true basis as their mutation directions (the ceiling arm; the
trainer must also freeze them). Goals, basis and tilts come from ``SeedSequence([seed, ...])``,
so the world is a pure function of (seed, generation), the same for every arm of a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SubspaceWorld:
    """Goals jumping every ``period`` generations inside a fixed rank-dimensional subspace."""

    #: Parameters of the genome's one module.
    dim: int = 32
    #: Dimension of the subspace the goals move in.
    rank: int = 2
    #: Generations between goal jumps.
    period: int = 20
    #: Distance of every goal from the origin.
    radius: float = 1.0
    #: Scale of the per-generation linear tilt (common random numbers).
    noise: float = 0.1
    #: Seed of the basis, goals and tilts.
    seed: int = 0
    #: A goal that never moves (a probe's held-out goal); empty: goals jump every period.
    fixed_goal: tuple[float, ...] = ()
    #: Founders carry the true basis as mutation directions (the ceiling arm).
    oracle: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.rank <= self.dim:
            raise ValueError(f"rank must be in [1, dim={self.dim}], got {self.rank}")

    @property
    def modules(self) -> tuple[tuple[str, int], ...]:
        return (("x", self.dim),)

    @property
    def num_params(self) -> int:
        return self.dim

    def basis(self) -> np.ndarray:
        """(dim, rank) orthonormal basis of the goal subspace."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 3]))
        q, _ = np.linalg.qr(rng.standard_normal((self.dim, self.rank)))
        return q

    def founders(self, size: int) -> np.ndarray:
        """(size, dim) float32 founders, all at the origin."""
        return np.zeros((size, self.dim), dtype=np.float32)

    def segment(self, generation: int) -> int:
        return generation // self.period

    def changes(self, generation: int) -> bool:
        return generation > 0 and generation % self.period == 0

    def draw_goal(self, rng: np.random.Generator) -> np.ndarray:
        """A goal as the world draws them: radius * B u, u uniform on the unit sphere of R^rank."""
        u = rng.standard_normal(self.rank)
        return self.basis() @ (self.radius * u / np.linalg.norm(u))

    def goal(self, segment: int) -> np.ndarray:
        if self.fixed_goal:
            return np.asarray(self.fixed_goal, dtype=np.float64)
        return self.draw_goal(
            np.random.default_rng(np.random.SeedSequence([self.seed, 1, segment]))
        )

    def tilt(self, generation: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 2, generation]))
        return rng.standard_normal(self.dim)

    def fitness(self, params: np.ndarray, generation: int) -> np.ndarray:
        """(N,) float64 fitness of (N, dim) genomes at ``generation``."""
        x = np.asarray(params, dtype=np.float64)
        g = self.goal(self.segment(generation))
        return -((x - g) ** 2).sum(axis=1) + self.noise * (x @ self.tilt(generation)) / np.sqrt(
            self.dim
        )

    def in_subspace(self, dirs: np.ndarray) -> np.ndarray:
        """(..., k) the share of each direction's norm inside the subspace, ||B^T u|| / ||u||
        (random directions: about 0.22 for rank 2 of 32; root mean square sqrt(rank / dim))."""
        d = np.asarray(dirs, dtype=np.float64)
        inside = np.linalg.norm(d @ self.basis(), axis=-1)
        return inside / np.maximum(np.linalg.norm(d, axis=-1), 1e-12)

    def prepare(self, dirs: np.ndarray) -> np.ndarray:
        """Founders' directions (N, k, dim): the true basis for the oracle (k must be rank),
        else unchanged."""
        if not self.oracle:
            return dirs
        if dirs.shape[1] != self.rank:
            raise ValueError(
                f"the oracle needs population.mutation.directions = rank ({self.rank}), "
                f"got {dirs.shape[1]}"
            )
        return np.broadcast_to(self.basis().T[None], dirs.shape).astype(np.float32)
