"""What a reported fitness is worth: `pbml evaluate` re-scores a run's best genomes on fresh
episode seeds.

A reported fitness is one episode on one seed, and a 200-step locomotion return is chaotic
(1e-7 on the actions moves it by tens of percent). So, as Stable-Baselines3's
`evaluate_policy` does, each of the best genomes is rolled out on N fresh episode seeds (one
episode each, the goal it was scored on unless another is given), with the observation
statistics that scored it, and the mean, standard deviation and a 95% t-interval are reported
next to its training fitness and next to a replay of the very episode that scored it (which
reproduces the training fitness exactly with the numpy forward).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.errors import UserError

#: Where the fresh episode seeds of `pbml evaluate` come from (with the run's seed).
SEED_PURPOSE = 0xE7A1


@dataclass
class Evaluation:
    """One genome's re-scoring."""

    rank: int
    lineage: int
    genome: int
    fitness: float
    replay: float
    returns: np.ndarray
    seeds: np.ndarray

    def interval(self) -> tuple[float, float, float, float]:
        """(mean, sd, low, high): the mean over the fresh seeds and its 95% t-interval."""
        from scipy import stats

        r = self.returns
        mean, sd = float(r.mean()), float(r.std(ddof=1)) if r.size > 1 else float("nan")
        half = stats.t.ppf(0.975, r.size - 1) * sd / np.sqrt(r.size) if r.size > 1 else np.nan
        return mean, sd, mean - half, mean + half


def fresh_seeds(run_seed: int, count: int) -> np.ndarray:
    """``count`` evaluation seeds no generation of the run used, the same for every genome."""
    state = np.random.SeedSequence([run_seed, SEED_PURPOSE]).generate_state(count, np.uint32)
    return (state >> 1).astype(np.int64)


def evaluate_run(
    run: Path, episodes: int = 10, lineages: int = 1, goal: list[float] | None = None
) -> tuple[str, list[Evaluation]]:
    """(the goal evaluated at, one Evaluation per genome) for the run's best ``lineages``."""
    from pbml_control.rollout import pool_from_config
    from pbml_control.running.trainer import build_experiment
    from pbml_control.seeding import evaluation_seed
    from pbml_control.video.genomes import load_run_genomes

    if episodes < 2:
        raise UserError(f"--episodes must be >= 2 (an interval needs two), got {episodes}")
    found = load_run_genomes(run)
    cfg = copy.deepcopy(found.config)
    cfg.pool.backend, cfg.task.episodes = "serial", 1
    with pool_from_config(cfg.pool) as pool:
        exp = build_experiment(cfg, pool=pool)
        last = max(found.generation - 1, 0)
        target = _goal(exp, goal, last)
        replay_seed = evaluation_seed(cfg.run.seed, last)
        seeds = fresh_seeds(cfg.run.seed, episodes)
        out = []
        for genome in found.top(lineages):
            stats = genome.obs_stats if genome.obs_stats is not None else found.obs_stats
            returns = _returns(exp, genome.params, target, seeds, stats, 1)
            replay = _returns(exp, genome.params, target, np.array([replay_seed]), stats,
                              found.config.task.episodes)[0]  # fmt: skip
            out.append(Evaluation(genome.rank, genome.lineage, genome.id, genome.fitness,
                                  replay, returns, seeds))  # fmt: skip
    return ("none" if target is None else " ".join(f"{v:g}" for v in target)), out


def _goal(exp, goal: list[float] | None, generation: int) -> np.ndarray | None:
    import pbml_envs

    if goal is None:
        found = exp.schedule.goal_at(generation)
        return None if found is None else np.atleast_1d(np.asarray(found, dtype=np.float64))
    if not exp.schedule.has_goals:
        raise UserError(f"task '{exp.cfg.task.id}' takes no goal; leave out --goal")
    try:
        return np.atleast_1d(pbml_envs.validate_goal(exp.cfg.task.id, goal))
    except ValueError as err:
        raise UserError(f"--goal: {err}") from err


def _returns(exp, params, goal, seeds, stats, episodes: int) -> np.ndarray:
    """The mean return over ``episodes`` of ``params`` for each evaluation seed."""
    from pbml_control.rollout import EvalBatch

    n = len(seeds)
    batch = EvalBatch(
        env=exp.env, policy=exp.policy.to_dict(),
        params=np.repeat(np.asarray(params, np.float32)[None], n, axis=0),
        goals=None if goal is None else np.repeat(goal[None], n, axis=0),
        seeds=np.asarray(seeds, dtype=np.int64), episodes=episodes, obs_stats=stats,
    )  # fmt: skip
    return np.array([r.fitness for r in exp.pool.evaluate(batch)], dtype=np.float64)


def evaluation_rows(evaluations: list[Evaluation]) -> list[dict]:
    """evaluate.csv: one row per genome and fresh seed."""
    return [
        {"rank": e.rank, "lineage": e.lineage, "genome": e.genome, "training_fitness": e.fitness,
         "replay": e.replay, "seed": int(s), "return": float(r)}
        for e in evaluations for s, r in zip(e.seeds, e.returns, strict=True)
    ]  # fmt: skip
