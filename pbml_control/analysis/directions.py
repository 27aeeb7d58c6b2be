"""Do a genome's mutation directions point where its behaviour changes? (`pbml analyse directions`)

For the best genome of a run (its latest checkpoint, or the one named) and every module that
carries directions, the diagnostic compares each direction u_i with the gradient g of the
genome's mean forward velocity with respect to that module's weights:

* directional derivatives by central differences, (F(x + h d) - F(x - h d)) / 2h, with F the
  mean forward velocity over a few episodes, every evaluation on the same episode seeds (common
  random numbers), for the k directions and for R random unit directions d of the module;
* |g| from the random ones: for a random unit d in n dimensions E[(d . g)^2] = |g|^2 / n, so
  |g| ~ sqrt(n * mean_j (d_j . g)^2);
* |cos(u_i, g)| = |u_i . g| / |g|, against the same number for the random directions (about
  sqrt(2 / (pi n)) when nothing is learned).

Forward velocity: on a task whose goal is a target velocity the velocity reward at a target of
100 m/s is exactly v - 100 per step, so it is read from that reward part; on any other task the
measure is the genome's fitness at the run's last goal, and the output says so.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.errors import UserError

#: The target velocity at which the velocity reward reads v - FAR per step.
FAR = 100.0


@dataclass
class ModuleAlignment:
    module: str
    size: int
    #: |cos| between each of the genome's directions and the gradient.
    cosines: list[float]
    #: Mean |cos| of the random directions (the baseline).
    random_cosine: float
    #: Estimated gradient norm of the measure in this module.
    gradient_norm: float


def analyse_directions(
    run: Path, episodes: int = 4, random: int = 16, step: float = 0.02, seed: int = 0
) -> tuple[str, list[ModuleAlignment]]:
    """(what was measured, one row per module that carries directions) for the run's best
    genome; UserError when the run's genomes carry no directions."""
    from pbml_control.evolution.genome import Population
    from pbml_control.rollout import pool_from_config
    from pbml_control.running.checkpoint import load_checkpoint, split_arrays
    from pbml_control.running.run import read_checkpoint_config
    from pbml_control.running.trainer import build_experiment

    arrays, meta = load_checkpoint(run)
    cfg = read_checkpoint_config(meta)
    pop = Population.from_arrays(split_arrays(arrays, "pop"))
    if not pop.num_directions:
        raise UserError(f"the genomes of '{run}' carry no mutation directions "
                        "(population.mutation.directions = 0): nothing to analyse")  # fmt: skip
    cfg = copy.deepcopy(cfg)
    cfg.pool.backend, cfg.task.episodes = "serial", episodes
    obs = split_arrays(arrays, "obs")
    stats = None
    if cfg.policy.obs_norm and obs:
        from pbml_policies import RunningStats

        stats = RunningStats.from_arrays(obs)
    best = int(np.nanargmax(np.where(np.isnan(pop.fitness), -np.inf, pop.fitness)))
    with pool_from_config(cfg.pool) as pool:
        exp = build_experiment(cfg, pool=pool)
        measure, goal = _measure(exp, meta)
        rng = np.random.default_rng(seed)
        rows = []
        for name, part in zip(exp.layout.names, exp.layout.slices, strict=True):
            own = pop.dirs[best][:, part].astype(np.float64)
            if not own.any():
                continue
            probes = np.concatenate([own, _random_units(rng, random, part.stop - part.start)])
            derivatives = _derivatives(exp, pop.params[best], part, probes, step, goal, stats)
            rows.append(_alignment(name, part.stop - part.start, derivatives, len(own)))
    return measure, rows


def _measure(exp, meta) -> tuple[str, np.ndarray | None]:
    """What F is, and the goal to evaluate at."""
    import pbml_envs

    task = exp.cfg.task.id
    if exp.schedule.has_goals and _velocity_task(task):
        return "mean forward velocity (m/s)", np.atleast_1d(FAR)
    goal = meta.get("schedule", {}).get("goal")
    goal = None if goal is None else pbml_envs.validate_goal(task, goal)
    return f"fitness at the run's last goal ({goal})", goal


def _velocity_task(task_id: str) -> bool:
    import pbml_envs

    try:
        return pbml_envs.task_spec(task_id).goal_term.__name__ == "velocity_term"
    except (KeyError, ValueError, AttributeError):
        return False


def _random_units(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    raw = rng.standard_normal((count, size))
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def _derivatives(exp, params, part, probes, step, goal, stats) -> np.ndarray:
    """Central differences of F along each probe direction (rows of ``probes``)."""
    from pbml_control.running.trainer import make_batch

    rows = np.repeat(params[None].astype(np.float64), 2 * len(probes), axis=0)
    rows[0::2, part] += step * probes
    rows[1::2, part] -= step * probes
    batch = make_batch(exp, rows.astype(np.float32), goal, 0, stats)
    velocity = goal is not None and goal[0] == FAR
    values = np.array([_value(r, velocity, exp.cfg.task.episodes) for r in
                       exp.pool.evaluate(batch)])  # fmt: skip
    return (values[0::2] - values[1::2]) / (2 * step)


def _value(result, velocity: bool, episodes: int) -> float:
    """F of one evaluation: the velocity part is a per-episode sum of (v - FAR), averaged over
    the episodes, and ``steps`` counts the steps of every episode."""
    if not velocity:
        return float(result.fitness)
    return float(result.reward_parts["reward_velocity"]) / (result.steps / episodes) + FAR


def _alignment(name: str, size: int, derivatives: np.ndarray, k: int) -> ModuleAlignment:
    own, random = derivatives[:k], derivatives[k:]
    norm = float(np.sqrt(size * np.mean(random**2)))
    cos = np.minimum(1.0, np.abs(own) / norm) if norm > 0 else np.full(k, np.nan)
    base = float(np.mean(np.minimum(1.0, np.abs(random) / norm))) if norm > 0 else float("nan")
    return ModuleAlignment(name, size, [float(c) for c in cos], base, norm)


def format_alignment(measure: str, rows: list[ModuleAlignment]) -> str:
    from pbml_control.experiments.common import markdown_table

    table = [[r.module, str(r.size), " ".join(f"{c:.3f}" for c in r.cosines),
              f"{r.random_cosine:.3f}", f"{np.sqrt(2 / (np.pi * r.size)):.3f}",
              f"{r.gradient_norm:.3g}"] for r in rows]  # fmt: skip
    headers = ("module", "weights", "abs cos(u_i, g) per direction", "random: measured",
               "random: expected sqrt(2/(pi n))", "gradient norm (est.)")  # fmt: skip
    return f"gradient of: {measure}\n\n" + markdown_table(headers, table)
