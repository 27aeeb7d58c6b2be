"""Which evaluation gave each living genome its fitness, and with which observation statistics.

A genome's fitness is measured in one generation (on that generation's goal and environment seed,
with the observation statistics frozen for it) and may then be carried over: a survivor that is
not re-evaluated (``population.reevaluate``), or an exact clone that inherits its parent's
value. The statistics move on after every generation, so a replay only reproduces a fitness with
the statistics *of the generation that scored it*, not the run's latest ones. This record keeps,
for every living genome with a fitness, that generation, and for every such generation the
statistics (pruned to what living genomes need, so it stays small). It is part of the
checkpoint, so ``best/`` is the same after a resume as after an uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pbml_control.evolution.genome import Population

_STATS = ("count", "mean", "m2")


@dataclass(frozen=True)
class Scoring:
    """genome id -> generation that scored it; generation -> its frozen statistics' arrays."""

    generation: dict[int, int] = field(default_factory=dict)
    #: ``RunningStats.to_arrays()`` per scoring generation; empty without normalisation.
    stats: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    def advanced(
        self,
        before: Population,
        index: np.ndarray,
        generation: int,
        obs_stats,
        after: Population,
    ) -> Scoring:
        """The record after ``generation``: ``before.ids[index]`` were scored with ``obs_stats``
        (``RunningStats`` or None); ``after`` is the population ``tell`` returned."""
        scored = dict(self.generation)
        for genome in before.ids[np.asarray(index, dtype=np.int64)].tolist():
            scored[genome] = generation
        stats = dict(self.stats)
        if len(index) and obs_stats is not None:
            stats[generation] = obs_stats.to_arrays()
        rows = zip(after.ids.tolist(), after.parent_ids.tolist(), after.fitness, strict=True)
        for genome, parent, fitness in rows:  # a clone carries its parent's fitness, and origin
            if genome not in scored and not np.isnan(fitness) and parent in scored:
                scored[genome] = scored[parent]
        alive = set(after.ids.tolist())
        scored = {g: s for g, s in scored.items() if g in alive}
        used = set(scored.values())
        return Scoring(scored, {g: a for g, a in stats.items() if g in used})

    def of(self, genome: int) -> tuple[int | None, dict[str, np.ndarray] | None]:
        """(scoring generation, its statistics' arrays); None where unknown (older checkpoints)."""
        generation = self.generation.get(int(genome))
        return generation, None if generation is None else self.stats.get(generation)

    def to_arrays(self) -> dict[str, np.ndarray]:
        ids = np.array(sorted(self.generation), dtype=np.int64)
        gens = np.array(sorted(self.stats), dtype=np.int64)
        out = {
            "ids": ids,
            "generations": np.array([self.generation[i] for i in ids.tolist()], dtype=np.int64),
            "stats_generations": gens,
        }
        for key in _STATS:
            if self.stats:
                out[f"stats_{key}"] = np.stack([self.stats[g][key] for g in gens.tolist()])
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Scoring:
        ids, gens = np.asarray(arrays["ids"]), np.asarray(arrays["generations"])
        if ids.ndim != 1 or ids.shape != gens.shape:
            raise ValueError("scoring ids and generations must be 1-D arrays of one length")
        stat_gens = np.asarray(arrays["stats_generations"]).reshape(-1)
        for key in _STATS if stat_gens.size else ():
            values = np.asarray(arrays[f"stats_{key}"])
            if values.ndim < 1 or values.shape[0] != stat_gens.size:
                raise ValueError(f"scoring stats_{key} does not hold one row per generation")
        stats = {}
        for j, g in enumerate(stat_gens.tolist()):
            stats[g] = {key: np.asarray(arrays[f"stats_{key}"][j], np.float64) for key in _STATS}
        return cls(dict(zip(ids.tolist(), gens.tolist(), strict=True)), stats)
