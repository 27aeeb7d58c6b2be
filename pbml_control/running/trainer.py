"""The generation loop: seed split, ask, evaluate, tell, report, checkpoint.

`build_experiment` turns a config into the parts the loop needs; `train` is the loop; writers,
checkpoints and progress are callbacks (`pbml_control.running.callbacks`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.spaces import Box

from pbml_control.analysis.metrics import budget_metrics, generation_row, selection_metrics
from pbml_control.errors import ConfigError
from pbml_control.evolution.ancestry import Ancestry
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import Strategy, TellReport, make_strategy
from pbml_control.evolution.selection.base import merge_fitness
from pbml_control.rollout import EnvSpec, EvalBatch, Pool, RolloutResult, pool_from_config
from pbml_control.running.config import Config
from pbml_control.running.goals import GoalSchedule, make_schedule, plain_goal
from pbml_control.running.scoring import Scoring
from pbml_control.seeding import (
    Purpose,
    evaluation_seed,
    generator_from_state,
    generator_state,
    stream,
)


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
    #: Environment steps and rollouts (episodes) actually run so far: the budget spent.
    env_steps: int = 0
    rollouts: int = 0
    #: Ancestors of the living genomes (for lineage/tmrca); None: known from the population.
    ancestry: Ancestry | None = None
    #: Which generation (and statistics) scored each genome's fitness; None: nothing known yet.
    scoring: Scoring | None = None

    def __post_init__(self) -> None:
        if self.ancestry is None:
            self.ancestry = Ancestry.of(self.population)
        if self.scoring is None:
            self.scoring = Scoring()


@dataclass
class Scored:
    """One generation's evaluation: who was scored, and what it cost."""

    #: Indices of the genomes scored this generation (the strategy's ``ask``).
    index: np.ndarray
    #: Every genome's fitness: scored now, or carried over.
    fitness: np.ndarray
    #: One result per scored genome; identical parameter vectors share one result.
    results: list[RolloutResult]
    #: Rollouts (episodes) and environment steps actually run.
    rollouts: int
    steps: int
    rollout_s: float


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
    import pbml_envs

    try:
        schedule.goal_at(0)
    except ValueError as err:
        raise ConfigError(f"goals: {err}") from err
    if not schedule.has_goals:
        named = getattr(cfg, "given_goal_keys", [])  # what the user's own config file set
        given = named or cfg.goals.schedule == "list" or cfg.goals.goal or cfg.goals.goals
        if given:  # the default schedule ('every') on a goal-less task simply has no goals
            keys = ", ".join(f"goals.{k}" for k in named) or (
                f"goals.schedule='{cfg.goals.schedule}', goals.goal, goals.goals"
            )
            raise ConfigError(
                f"task.id '{cfg.task.id}' takes no goal, but the config sets {keys}: remove "
                "them (goals would be ignored), or use a registered goal task "
                "(pbml_envs.task_ids())"
            )
        return
    for i, goal in enumerate(cfg.goals.goals):
        try:
            pbml_envs.validate_goal(cfg.task.id, plain_goal(goal))
        except ValueError as err:
            raise ConfigError(f"goals.goals[{i}]: {err}") from err


def build_experiment(cfg: Config, pool: Pool | None = None) -> Experiment:
    import pbml_policies

    spec = env_spec(cfg)
    obs_dim, act_dim = probe_spaces(spec)
    try:
        policy = pbml_policies.make_policy(cfg.policy.name, obs_dim, act_dim, **cfg.policy.kwargs)
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
    """Generation 0: fresh founders, or another run's genomes (``population.init_from``)."""
    seed = exp.cfg.run.seed
    obs_stats = None
    if exp.cfg.population.init_from:
        from pbml_control.evolution.founders import founders_from_run

        population, obs_stats = founders_from_run(
            exp.cfg.population, exp.layout, exp.cfg.policy.obs_norm
        )
    else:
        init = exp.policy.init_flat(stream(seed, Purpose.INIT))
        population = exp.strategy.init(init, stream(seed, Purpose.INIT, 1))
    if exp.cfg.policy.obs_norm and obs_stats is None:
        from pbml_policies import RunningStats

        obs_stats = RunningStats.zeros(exp.policy.obs_dim)
    return TrainState(population, stream(seed, Purpose.SELECTION), obs_stats)


def finished(cfg: Config, state: TrainState) -> bool:
    """The stop condition: ``run.generations`` reached, or a budget spent (0 = no limit)."""
    return reached_end(cfg, state.population.generation, state.rollouts, state.env_steps)


def reached_end(cfg: Config, generation: int, rollouts: int, env_steps: int) -> bool:
    """`finished` for a run known only by its counts (a checkpoint's JSON, say)."""
    run = cfg.run
    return bool(
        (run.generations and generation >= run.generations)
        or (run.budget_rollouts and rollouts >= run.budget_rollouts)
        or (run.budget_env_steps and env_steps >= run.budget_env_steps)
    )


def unique_rows(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index of each distinct row, in order; row -> its distinct row's position)."""
    position: dict[bytes, int] = {}
    first: list[int] = []
    inverse = np.empty(len(params), dtype=np.int64)
    for i, row in enumerate(params):
        j = position.setdefault(row.tobytes(), len(first))
        if j == len(first):
            first.append(i)
        inverse[i] = j
    return np.asarray(first, dtype=np.int64), inverse


def evaluate(exp: Experiment, state: TrainState, goal, goal_changed: bool) -> Scored:
    """Score the genomes the strategy asks for; identical parameter vectors are rolled out once.

    A rollout depends only on (parameters, goal, seed, observation statistics), and within a
    generation all four are shared, so an exact clone scored beside its parent gets the
    parent's result without a second rollout (fitness, reward parts and observation statistics
    alike: results equal those of rolling every genome out).
    """
    pop, generation = state.population, state.population.generation
    index = exp.strategy.ask(pop, goal_changed)
    params = pop.params[index]
    first, inverse = unique_rows(params)
    start = time.perf_counter()
    distinct: list[RolloutResult] = []
    if first.size:
        batch = make_batch(exp, params[first], goal, generation, state.obs_stats)
        distinct = exp.pool.evaluate(batch)
    rollout_s = time.perf_counter() - start
    results = [distinct[j] for j in inverse]
    fitness = merge_fitness(pop, index, np.array([r.fitness for r in results], dtype=np.float64))
    rollouts = len(distinct) * exp.cfg.task.episodes
    steps = int(sum(r.steps for r in distinct))
    return Scored(index, fitness, results, rollouts, steps, rollout_s)


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
    from pbml_policies import RunningStats

    merged = obs_stats.copy()
    for result in results:
        if result.obs_stats is not None:
            merged = merged.merge(RunningStats.from_arrays(result.obs_stats))
    return merged


def train(exp: Experiment, state: TrainState, callbacks: list) -> TrainState:
    """Run generations until the stop condition (`finished`); returns the final state."""
    for cb in callbacks:
        cb.on_start(exp, state)
    while not finished(exp.cfg, state):
        started = time.perf_counter()
        generation = state.population.generation
        goal = exp.schedule.goal_at(generation)
        goal_changed = exp.schedule.changes_at(generation)
        scored = evaluate(exp, state, goal, goal_changed)
        rng = generator_from_state(generator_state(state.rng))
        population, report = exp.strategy.tell(state.population, scored.fitness, rng)
        new_state = TrainState(
            population,
            rng,
            merge_obs_stats(state.obs_stats, scored.results),
            state.env_steps + scored.steps,
            state.rollouts + scored.rollouts,
            state.ancestry.advanced(population),
            state.scoring.advanced(
                state.population, scored.index, generation, state.obs_stats, population
            ),
        )
        row = generation_row(
            generation,
            exp.schedule.segment(generation),
            goal,
            state.population,
            scored.fitness,
            scored.results,
            exp.layout,
            len(report.born),
            len(report.dead["id"]),
        )
        row["lineage/tmrca"] = state.ancestry.tmrca(state.population.ids, generation)
        row.update(budget_metrics(state.population, scored, new_state))
        row.update(selection_metrics(report, exp.layout))
        row["time/rollout_s"] = scored.rollout_s
        row["time/steps_per_s"] = scored.steps / max(scored.rollout_s, 1e-9)
        row["time/overhead_s"] = time.perf_counter() - started - scored.rollout_s
        event = GenerationEvent(
            generation,
            row,
            state.population,
            scored.fitness,
            scored.results,
            report,
            new_state,
            goal_changed=goal_changed,
        )
        state = new_state
        for cb in callbacks:
            cb.on_generation(exp, event)
    return state
