"""The generation loop: seed split, ask, evaluate, tell, report, checkpoint (STYLE.md 1).

`build_experiment` turns a config into the parts the loop needs; `train` is the loop; writers,
checkpoints and progress are callbacks (`pbml_control.callbacks`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.spaces import Box

from pbml_control.config import Config
from pbml_control.errors import ConfigError
from pbml_control.genome import ModuleLayout, Population
from pbml_control.goals import GoalSchedule, make_schedule
from pbml_control.metrics import generation_row
from pbml_control.rollout import EnvSpec, EvalBatch, Pool, RolloutResult, pool_from_config
from pbml_control.seeding import (
    Purpose,
    evaluation_seed,
    generator_from_state,
    generator_state,
    stream,
)
from pbml_control.selection import Strategy, TellReport, make_strategy


@dataclass
class Experiment:
    """Everything the loop needs that is not state: built from the config, never checkpointed."""

    cfg: Config
    env: EnvSpec
    policy: Any
    layout: ModuleLayout
    strategy: Strategy
    schedule: GoalSchedule
    pool: Pool


@dataclass
class TrainState:
    """Everything that changes between generations; a checkpoint holds exactly this."""

    population: Population
    rng: np.random.Generator
    obs_stats: Any = None
    env_steps: int = 0


@dataclass
class GenerationEvent:
    """What callbacks see after a generation."""

    generation: int
    row: dict[str, Any]
    evaluated: Population
    fitness: np.ndarray
    results: list[RolloutResult]
    report: TellReport
    state: TrainState
    #: True when this generation's goal differs from the previous one.
    goal_changed: bool = False


def env_spec(cfg: Config) -> EnvSpec:
    return EnvSpec.of(
        cfg.task.id, **cfg.task.env_kwargs(), max_episode_steps=cfg.task.episode_steps
    )


def probe_spaces(spec: EnvSpec) -> tuple[int, int]:
    """Observation and action sizes of a task (one environment, built and closed)."""
    try:
        env = spec.make()
    except Exception as err:  # gymnasium raises several error types for unknown ids
        raise ConfigError(f"task.id '{spec.task_id}' cannot be made: {err}") from err
    try:
        obs, act = env.observation_space, env.action_space
        if not (isinstance(obs, Box) and isinstance(act, Box) and len(obs.shape) == 1):
            raise ConfigError(
                f"task.id '{spec.task_id}' needs 1-D Box observations and Box actions; it has "
                f"{obs} and {act}"
            )
        return int(obs.shape[0]), int(np.prod(act.shape))
    finally:
        env.close()


def check_goals(cfg: Config, schedule: GoalSchedule) -> None:
    """Every goal a config names is valid for its task (before anything runs)."""
    import envs

    try:
        schedule.goal_at(0)
    except ValueError as err:
        raise ConfigError(f"goals: {err}") from err
    if not schedule.has_goals:
        return
    for i, goal in enumerate(cfg.goals.goals):
        try:
            envs.validate_goal(cfg.task.id, np.asarray(goal, dtype=np.float64))
        except ValueError as err:
            raise ConfigError(f"goals.goals[{i}]: {err}") from err


def build_experiment(cfg: Config, pool: Pool | None = None) -> Experiment:
    import policies

    spec = env_spec(cfg)
    obs_dim, act_dim = probe_spaces(spec)
    try:
        policy = policies.make_policy(cfg.policy.name, obs_dim, act_dim, **cfg.policy.kwargs)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"policy: {err}") from err
    layout = ModuleLayout(tuple(policy.module_names), tuple(policy.module_sizes))
    strategy = make_strategy(cfg.population.strategy, cfg.population, layout)
    schedule = make_schedule(cfg.goals, cfg.task.id, cfg.run.seed)
    check_goals(cfg, schedule)
    if pool is None:
        pool = pool_from_config(cfg.pool)
    return Experiment(cfg, spec, policy, layout, strategy, schedule, pool)


def initial_state(exp: Experiment) -> TrainState:
    seed = exp.cfg.run.seed
    init = exp.policy.init_flat(stream(seed, Purpose.INIT))
    population = exp.strategy.init(init, stream(seed, Purpose.INIT, 1))
    obs_stats = None
    if exp.cfg.policy.obs_norm:
        from policies import RunningStats

        obs_stats = RunningStats.zeros(exp.policy.obs_dim)
    return TrainState(population, stream(seed, Purpose.SELECTION), obs_stats)


def make_batch(exp: Experiment, params: np.ndarray, goal, generation: int, obs_stats) -> EvalBatch:
    n = len(params)
    goals = None if goal is None else np.repeat(np.asarray(goal)[None], n, axis=0)
    seeds = np.full(n, evaluation_seed(exp.cfg.run.seed, generation), dtype=np.int64)
    return EvalBatch(
        env=exp.env,
        policy=exp.policy.to_dict(),
        params=params,
        goals=goals,
        seeds=seeds,
        episodes=exp.cfg.task.episodes,
        obs_stats=None if obs_stats is None else obs_stats.to_arrays(),
        collect_obs_stats=obs_stats is not None,
    )


def merge_obs_stats(obs_stats, results: list[RolloutResult]):
    """Fold every job's observation statistics in, in job order (exact, order-deterministic)."""
    if obs_stats is None:
        return None
    from policies import RunningStats

    merged = obs_stats.copy()
    for result in results:
        if result.obs_stats is not None:
            merged = merged.merge(RunningStats.from_arrays(result.obs_stats))
    return merged


def train(exp: Experiment, state: TrainState, callbacks: list) -> TrainState:
    """Run generations until `cfg.run.generations`; returns the final state."""
    for cb in callbacks:
        cb.on_start(exp, state)
    for generation in range(state.population.generation, exp.cfg.run.generations):
        started = time.perf_counter()
        goal = exp.schedule.goal_at(generation)
        params = exp.strategy.ask(state.population)
        batch = make_batch(exp, params, goal, generation, state.obs_stats)
        rollout_start = time.perf_counter()
        results = exp.pool.evaluate(batch)
        rollout_s = time.perf_counter() - rollout_start
        fitness = np.array([r.fitness for r in results], dtype=np.float64)
        rng = generator_from_state(generator_state(state.rng))
        population, report = exp.strategy.tell(state.population, fitness, rng)
        steps = int(sum(r.steps for r in results))
        new_state = TrainState(
            population, rng, merge_obs_stats(state.obs_stats, results), state.env_steps + steps
        )
        row = generation_row(
            generation,
            exp.schedule.segment(generation),
            goal,
            state.population,
            fitness,
            results,
            exp.layout,
            len(report.born),
            len(report.dead["id"]),
        )
        row["time/rollout_s"] = rollout_s
        row["time/steps_per_s"] = steps / max(rollout_s, 1e-9)
        row["time/overhead_s"] = time.perf_counter() - started - rollout_s
        event = GenerationEvent(
            generation,
            row,
            state.population,
            fitness,
            results,
            report,
            new_state,
            goal_changed=exp.schedule.changes_at(generation),
        )
        state = new_state
        for cb in callbacks:
            cb.on_generation(exp, event)
    return state
