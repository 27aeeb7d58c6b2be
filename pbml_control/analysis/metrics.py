"""Per-generation metrics: flat dicts with namespaced keys.

Every column is deterministic for a given config and seed, except those under `time/`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.evolution.genome import ModuleLayout, Population
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
    """Mean mutation radius and gate per module over the evaluated genomes; with mutation
    directions, per module that carries them, the mean direction scale exp(a) and the
    population's agreement on a first direction (`directions.alignment`)."""
    sigma, gate = pop.sigma().mean(axis=0), pop.gate().mean(axis=0)
    out: dict[str, float] = {}
    for m, name in enumerate(layout.names):
        out[f"mut/sigma/{name}"] = float(sigma[m])
        out[f"mut/gate/{name}"] = float(gate[m])
    if pop.num_directions:
        from pbml_control.evolution.directions import alignment

        scale = np.exp(pop.dir_log_scale.astype(np.float64)).mean(axis=(0, 2))
        agree = alignment(pop.dirs, pop.shares / pop.shares.sum(), layout)
        for m, (name, part) in enumerate(zip(layout.names, layout.slices, strict=True)):
            if np.any(pop.dirs[:, :, part]):
                out[f"mut/dir_scale/{name}"] = float(scale[m])
                out[f"pop/dir_alignment/{name}"] = float(agree[m])
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
    }


def distinct_genomes(params: np.ndarray) -> int:
    """How many different parameter vectors there are among the rows."""
    return len({row.tobytes() for row in params})


def budget_metrics(evaluated: Population, scored, after) -> dict[str, int]:
    """What this generation cost and what the run has spent (`after`: the state after it).

    A rollout is one episode actually run: identical genomes scored once, fitness carried over
    without a rollout costs nothing. ``pop/reevaluated`` counts the scored genomes that had been
    scored before (survivors); the rest of ``pop/evaluated`` are newborns and founders.
    """
    born_now = evaluated.birth_gen[scored.index] == evaluated.generation
    return {
        "budget/rollouts": int(scored.rollouts),
        "budget/rollouts_total": int(after.rollouts),
        "budget/env_steps": int(scored.steps),
        "budget/env_steps_total": int(after.env_steps),
        "env/steps": int(scored.steps),
        "pop/evaluated": int(scored.index.size),
        "pop/reevaluated": int((~born_now).sum()),
        "pop/distinct": distinct_genomes(evaluated.params),
    }


def selection_metrics(report, layout: ModuleLayout) -> dict[str, float]:
    """Per module, Price's selection term on log sigma and on the gate logit (TellReport)."""
    out: dict[str, float] = {}
    if report.sel_log_sigma is None:
        return out
    for m, name in enumerate(layout.names):
        out[f"sel/log_sigma/{name}"] = float(report.sel_log_sigma[m])
        out[f"sel/gate_logit/{name}"] = float(report.sel_gate_logit[m])
    return out
