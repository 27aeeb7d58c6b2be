"""Per-generation metrics: flat dicts with namespaced keys (STYLE.md 10).

Every column is deterministic for a given config and seed, except those under `time/`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.genome import ModuleLayout, Population
from pbml_control.rollout import RolloutResult


def fitness_metrics(fitness: np.ndarray, shares: np.ndarray) -> dict[str, float]:
    finite = np.isfinite(fitness)
    values = fitness[finite]
    if not values.size:
        nan = float("nan")
        return {
            "pop/fitness_max": nan,
            "pop/fitness_mean": nan,
            "pop/fitness_median": nan,
            "pop/fitness_weighted": nan,
            "pop/failed": int((~finite).sum()),
        }
    weights = shares[finite] / shares[finite].sum()
    return {
        "pop/fitness_max": float(values.max()),
        "pop/fitness_mean": float(values.mean()),
        "pop/fitness_median": float(np.median(values)),
        "pop/fitness_weighted": float(weights @ values),
        "pop/failed": int((~finite).sum()),
    }


def mutation_metrics(pop: Population, layout: ModuleLayout) -> dict[str, float]:
    """Mean mutation radius and gate per module over the evaluated genomes."""
    sigma, gate = pop.sigma().mean(axis=0), pop.gate().mean(axis=0)
    out: dict[str, float] = {}
    for m, name in enumerate(layout.names):
        out[f"mut/sigma/{name}"] = float(sigma[m])
        out[f"mut/gate/{name}"] = float(gate[m])
    return out


def lineage_metrics(pop: Population) -> dict[str, float]:
    lineages, inverse = np.unique(pop.lineage_ids, return_inverse=True)
    totals = np.bincount(inverse, weights=pop.shares)
    return {"lineage/alive": int(len(lineages)), "lineage/top_share": float(totals.max())}


def reward_part_metrics(results: list[RolloutResult]) -> dict[str, float]:
    """Mean of each reward part over the genomes that did not fail."""
    ok = [r for r in results if not r.failed]
    keys = sorted({k for r in ok for k in r.reward_parts})
    return {f"reward/{k}": float(np.mean([r.reward_parts.get(k, 0.0) for r in ok])) for k in keys}


def goal_repr(goal: np.ndarray | None) -> str:
    if goal is None:
        return ""
    return " ".join(f"{v:.6g}" for v in np.atleast_1d(goal).ravel())


def generation_row(
    generation: int,
    segment: int,
    goal: np.ndarray | None,
    evaluated: Population,
    fitness: np.ndarray,
    results: list[RolloutResult],
    layout: ModuleLayout,
    births: int,
    deaths: int,
) -> dict[str, Any]:
    steps = int(sum(r.steps for r in results))
    return {
        "generation": generation,
        "goal/segment": segment,
        "goal/value": goal_repr(goal),
        **fitness_metrics(fitness, evaluated.shares),
        "pop/size": int(evaluated.size),
        "pop/births": births,
        "pop/deaths": deaths,
        **lineage_metrics(evaluated),
        **mutation_metrics(evaluated, layout),
        **reward_part_metrics(results),
        "env/steps": steps,
    }
