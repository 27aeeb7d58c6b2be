"""One seed, split by purpose.

Every random stream of a run comes from `np.random.SeedSequence([seed, purpose, *keys])`. Streams
keyed by generation (evaluation seeds, goals) carry no state, so a resumed run draws exactly what
an uninterrupted one would; the selection stream's state is checkpointed.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Purpose(IntEnum):
    INIT = 0
    SELECTION = 1
    EVALUATION = 2
    GOALS = 3
    TRANSFER = 4


def stream(seed: int, purpose: Purpose, *keys: int) -> np.random.Generator:
    """An independent generator for one purpose (and optional keys such as a generation)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int(purpose), *keys])))


def evaluation_seed(seed: int, generation: int) -> int:
    """The environment seed of a generation. Every genome of a generation gets the same one
    (common random numbers: genomes are ranked on the same initial states)."""
    ss = np.random.SeedSequence([seed, int(Purpose.EVALUATION), generation])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def generator_state(rng: np.random.Generator) -> dict:
    """The JSON-able state of a generator (for checkpoints)."""
    return rng.bit_generator.state


def generator_from_state(state: dict) -> np.random.Generator:
    """Rebuild a PCG64 generator (the only kind a run uses) from its saved state."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError(f"not a PCG64 generator state: {str(state)[:60]}")
    bit_generator = np.random.PCG64()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
