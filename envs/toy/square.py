"""The Square world and the Hard Square world: sparse fitness that moves.

Our reconstruction of the paper's Figure 4 worlds (their exact sizes are not available).

**Square world.** ``num_squares`` axis-aligned squares of side ``square_side`` are placed
uniformly at random inside the box ``[0, box]^2``. A genome's parameters are a position in the
plane (module ``"pos"``, 2 params); its mutation function (the radius sigma and gate p of
``"pos"``) is a learned step-size distribution: with probability p a child moves by
``sigma * N(0, I_2)``, else it stays put. Fitness is sparse: 1 inside any square, 0 outside,
so there is no gradient pointing to a square. Every ``period`` generations all squares jump to
new random places (``period = 0``: the static world, the squares never move). Genomes may
leave the box; squares never do.

A good mutation function here balances staying in the current square (small or rare steps)
against finding the next one after a jump (steps about as long as the gap between squares):
population-based selection can see that balance over several generations, greedy selection
cannot, and a static world rewards only staying put.

**Hard Square world** (transfer). Fewer, smaller squares, placed farther away: each of the
``num_squares`` squares of side ``square_side`` has its centre at a distance drawn uniformly
from ``[near, far]`` in a random direction from an *origin* given by the experiment (there:
the median position of the transferred population), so that every population starts equally
far from high fitness. The squares do not move.

Square placements are drawn from ``np.random.SeedSequence([seed, epoch])``, so a world is a
pure function of (seed, generation): resumable and identical across strategies with one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Module names and sizes of a square-world genome.
MODULES: tuple[tuple[str, int], ...] = (("pos", 2),)


def inside_any(positions: np.ndarray, centres: np.ndarray, side: float) -> np.ndarray:
    """(N,) float64: 1.0 where a position lies in any square (closed), else 0.0."""
    pos = np.asarray(positions, dtype=np.float64)[:, None, :]
    inside = np.all(np.abs(pos - centres[None, :, :]) <= side / 2.0, axis=2)
    return inside.any(axis=1).astype(np.float64)


@dataclass(frozen=True)
class SquareWorld:
    """Sparse squares in a box, relocated every ``period`` generations (0 = static)."""

    #: Side of the box that holds the squares.
    box: float = 10.0
    #: Number of high-fitness squares.
    num_squares: int = 4
    #: Side of each square.
    square_side: float = 1.0
    #: Generations between relocations; 0 makes the world static.
    period: int = 20
    #: Seed of the square placements.
    seed: int = 0

    def centres(self, generation: int) -> np.ndarray:
        """(num_squares, 2) square centres in force at ``generation``."""
        epoch = generation // self.period if self.period > 0 else 0
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch]))
        half = self.square_side / 2.0
        return rng.uniform(half, self.box - half, size=(self.num_squares, 2))

    def founders(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """(size, 2) float32 founder positions, uniform in the box."""
        return rng.uniform(0.0, self.box, size=(size, 2)).astype(np.float32)

    def fitness(self, params: np.ndarray, generation: int) -> np.ndarray:
        """(N,) sparse fitness of (N, 2) positions at ``generation``."""
        return inside_any(params, self.centres(generation), self.square_side)


@dataclass(frozen=True)
class HardSquareWorld:
    """Few small static squares at a distance in [near, far] from a given origin."""

    #: Number of squares.
    num_squares: int = 2
    #: Side of each square.
    square_side: float = 0.5
    #: Least distance from the origin to a square's centre.
    near: float = 3.0
    #: Greatest distance from the origin to a square's centre.
    far: float = 5.0
    #: Seed of the square placements.
    seed: int = 0

    def centres(self, origin: np.ndarray) -> np.ndarray:
        """(num_squares, 2) centres around ``origin`` (2,)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1_000_003]))
        radius = rng.uniform(self.near, self.far, size=self.num_squares)
        angle = rng.uniform(0.0, 2.0 * np.pi, size=self.num_squares)
        offsets = np.stack([np.cos(angle), np.sin(angle)], axis=1) * radius[:, None]
        return np.asarray(origin, dtype=np.float64)[None, :] + offsets

    def fitness(self, params: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """(N,) sparse fitness of (N, 2) positions, squares placed around ``origin``."""
        return inside_any(params, self.centres(origin), self.square_side)
