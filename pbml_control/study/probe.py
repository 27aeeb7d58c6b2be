"""The common adaptation probe, and the in-run recovery measure.

**Probe.** Every arm's final population is moved to the same K held-out goals x S environment
seeds and evolved for G generations by one fixed procedure: the probe's strategy and
population size, every genome scored every generation, mutation self-adapting with the arm's
meta-rates (never frozen: a frozen arm's genomes start the probe with their own, never-evolved
mutation function and then follow the same procedure as everyone else). Two scores
at generation g, with f_g the best fitness of probe generation g:
- ``f@g`` = f_g, the performance after g learning steps: the meta-learning objective as
  Frans & Witkowski define it, and the primary score of new studies (``probe.score = 'f'``);
- ``gain@g`` = ``(f_g - f_0) / (reference - f_0)``, the *normalised gain*: the share of the
  distance to the reference fitness (0 for the velocity tasks and the toy world: perfect
  tracking) closed in g generations. It mixes where a population starts (f_0) with how fast it
  moves, and rewards starting far away, so it is secondary.

**Goals.** 'common': K held-out goals drawn once for the whole study. 'per_seed': K goals for
each study seed, stratified over the test split's bands, each with its own environment seed,
the same for every arm of the seed (so arms stay paired while the probe samples many goals).

**Probe sets.** Besides the final population ('final'), a run can be probed where it had spent
a named rollout budget ('budget=B', from the checkpoint the run kept there), and its final
genomes with every mutation function reset to the initial one ('swap'): same weights, goals
and seeds as 'final', so the difference is exactly what the evolved mutation functions bring.

A final population with another number of genomes than the probe's (pbml_paper's varies) is
resampled by share: each genome gets ``floor(P * share)`` copies and the largest remainders
the rest, so abundant genomes are abundant in the probe too (copies cost one rollout).

**In-run measure.** After each goal change in the training run itself, the normalised gain over
``horizon`` generations. ``trend`` = late - early: the mean of the last third of the goal
periods minus the mean of the first third. Alone it proves nothing (a frozen control improves
too, because its weights do); hypotheses compare it between arms, a difference in differences.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pbml_control.analysis.recovery import segments
from pbml_control.evolution.founders import restarted
from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection import SelectionConfig
from pbml_control.running.config import Config
from pbml_control.study.probe_spec import ProbeSpec


def scores(curve: np.ndarray, at: list[int], reference: float) -> dict[str, float]:
    """``f@g`` (the best fitness after g probe generations) and ``gain@g`` for each g in ``at``."""
    curve = np.asarray(curve, dtype=np.float64)
    best = {f"f@{g}": float(curve[g]) if g < len(curve) else float("nan") for g in at}
    return {**best, **normalised_gain(curve, at, reference)}


def normalised_gain(curve: np.ndarray, at: list[int], reference: float) -> dict[str, float]:
    """``gain@g`` for each g in ``at`` of a fitness curve whose entry 0 is the start (NaN when
    the start is already at or past the reference: there is no gap to close)."""
    shares = normalised_curve(curve, reference)
    return {f"gain@{g}": float(shares[g]) if g < len(shares) else float("nan") for g in at}


def normalised_curve(curve: np.ndarray, reference: float) -> np.ndarray:
    """The whole curve as shares of the gap closed (all NaN when there is no gap)."""
    curve = np.asarray(curve, dtype=np.float64)
    gap = reference - curve[0]
    return (curve - curve[0]) / gap if gap > 0 else np.full(curve.shape, np.nan)


def resample_by_share(pop: Population, size: int) -> Population:
    """``size`` genomes drawn from ``pop`` in proportion to share (largest remainder)."""
    if pop.size == size:
        return pop.take(np.arange(size))
    shares = pop.shares / pop.shares.sum()
    counts = np.floor(shares * size).astype(np.int64)
    rest = shares * size - counts
    order = np.lexsort((np.arange(pop.size), -rest))
    counts[order[: size - counts.sum()]] += 1
    out = pop.take(np.repeat(np.arange(pop.size), counts))
    out.shares = np.full(size, 1.0 / size)
    return out


def probe_founders(pop: Population, probe: ProbeSpec) -> Population:
    """A final population as the probe's generation 0."""
    return resample_by_share(restarted(pop), probe.population)


def probe_selection(arm: Config, probe: ProbeSpec) -> SelectionConfig:
    """The probe's selection: the same for every arm except the arm's mutation meta-rates."""
    mutation = dataclasses.replace(arm.population.mutation, frozen=False, directions_frozen=False)
    return SelectionConfig(strategy=probe.strategy, size=probe.population, mutation=mutation)


def probe_goal_seeds(probe: ProbeSpec, seed: int = 0) -> list[tuple[int, int]]:
    """(goal index, environment seed) pairs, in the order probes are run.

    'common' goals share the environment seeds probe.seed + s; 'per_seed' goals each get their
    own, drawn from (probe.seed, the study seed), the same for the arms of a seed."""
    if probe.goal_draw == "common":
        return [(k, probe.seed + s) for k in range(probe.goals) for s in range(probe.env_seeds)]
    count = probe.goals * probe.env_seeds
    states = np.random.SeedSequence([probe.seed, 11, seed]).generate_state(count, np.uint32)
    env_seeds = [int(x) >> 1 for x in states]  # 31 bits: a plain non-negative run seed
    return [(i // probe.env_seeds, env_seeds[i]) for i in range(count)]


def goal_rng(probe: ProbeSpec, seed: int = 0) -> np.random.Generator:
    """The generator the probe goals of a run of study seed ``seed`` are drawn from."""
    key = [probe.seed, 7] if probe.goal_draw == "common" else [probe.seed, 7, seed]
    return np.random.default_rng(np.random.SeedSequence(key))


def in_run_recovery(rows: list[dict], horizon: int, reference: float) -> dict[str, float]:
    """Early, late and late - early normalised recovery after goal changes (see module doc)."""
    by_segment = segments(rows)
    length = max((len(c) for c in by_segment.values()), default=0)
    gains = [
        normalised_gain(c, [horizon], reference)[f"gain@{horizon}"]
        for s, c in by_segment.items()
        if s > 0 and len(c) == length and len(c) > horizon
    ]
    if len(gains) < 2:
        nan = float("nan")
        return {"early": nan, "late": nan, "trend": nan, "segments": len(gains)}
    third = max(1, len(gains) // 3)
    early, late = float(np.nanmean(gains[:third])), float(np.nanmean(gains[-third:]))
    return {"early": early, "late": late, "trend": late - early, "segments": len(gains)}
