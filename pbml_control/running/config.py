"""The experiment configuration: one typed dataclass tree, loaded from TOML (`configs/*.toml`),
overridden from the command line (`--set population.size=128`), written next to the results.

Every field carries a one-line doc (the comment above it); unknown keys and bad values are errors
that name the key.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbml_control.errors import ConfigError
from pbml_control.evolution.selection.config import SelectionConfig
from pbml_control.running.config_io import apply_overrides, dumps_toml, from_dict, read_toml

BACKENDS = ("serial", "process", "ray")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]+")
#: Longest job timeout (a week): beyond it, the timers the pools use overflow.
MAX_TIMEOUT_S = 604_800.0
#: Most worker processes on one machine (each holds its own environments).
MAX_WORKERS = 1024
#: Largest population (distinct genomes) a config may ask for.
MAX_POPULATION = 100_000
#: Bounds on the other size-like values: beyond them a run would never end (or overflow).
LIMITS = {
    "run.generations": 10**9,
    "run.budget_rollouts": 10**15,
    "run.budget_env_steps": 10**18,
    "run.seed": 2**32 - 1,
    "task.episode_steps": 1_000_000,
    "task.episodes": 10_000,
    "goals.every": 10**9,
    "pool.chunk_size": MAX_POPULATION,
    "pool.max_retries": 1_000,
    "run.checkpoint_every": 10**9,
    "run.keep_checkpoints": 10**6,
}
SCHEDULES = ("every", "fixed", "list")


@dataclass
class RunConfig:
    #: Name of the run (used for the default run directory runs/NAME).
    name: str = "run"
    #: The one seed every random stream of the run is split from.
    seed: int = 0
    #: Total number of generations the run reaches (0: no limit; then a budget must be set).
    generations: int = 100
    #: Stop once this many rollouts (episodes actually run) are spent (0: no budget). A run
    #: stops after the generation that reaches it, so it may overshoot by one generation's.
    budget_rollouts: int = 0
    #: Stop once this many environment steps are spent (0: no budget).
    budget_env_steps: int = 0
    #: Write a checkpoint every this many generations (0: only at the end and on Ctrl-C).
    checkpoint_every: int = 10
    #: Keep only this many most recent checkpoints (0: keep all).
    keep_checkpoints: int = 3
    #: Also checkpoint the state at each of these rollout budgets (the first generation whose
    #: rollout total reaches it: where a run with that budget would have stopped), into
    #: checkpoints/kept/, never deleted; studies probe a run part way through from them.
    keep_at_rollouts: list[int] = field(default_factory=list)
    #: Write the PNG plots at the end of the run.
    plots: bool = True
    #: Also log every metrics.csv column and the mutation histograms to RUN_DIR/tensorboard/
    #: (needs the tensorboard extra: pip install 'pbml-control[tensorboard]').
    tensorboard: bool = False


@dataclass
class TaskConfig:
    #: Gymnasium task id, e.g. pbml/HalfCheetahVel-v0 (`import pbml_envs` registers the pbml/ ones).
    id: str = "pbml/HalfCheetahVel-v0"
    #: Steps per episode (the meta-RL horizon is 200).
    episode_steps: int = 200
    #: Episodes per evaluation; a genome's fitness is the mean return over them.
    episodes: int = 1
    #: Show the goal to the policy (off: the population adapts by evolution, not conditioning).
    goal_in_obs: bool = False
    #: Extra keyword arguments for the task's constructor.
    kwargs: dict[str, Any] = field(default_factory=dict)

    def env_kwargs(self) -> dict[str, Any]:
        """Constructor arguments for the task (the episode length is the caller's to add)."""
        kwargs = dict(self.kwargs)
        if self.goal_in_obs:
            kwargs["goal_in_obs"] = True
        return kwargs


@dataclass
class GoalConfig:
    #: 'every': a new goal from the task's split every `every` generations; 'fixed': one goal
    #: for the whole run (the static baseline); 'list': the goals in `goals`, `every` apart.
    schedule: str = "every"
    #: Generations between goal changes (schedules 'every' and 'list').
    every: int = 20
    #: Which goal split to sample from: 'train' or 'test' (held-out goals).
    split: str = "train"
    #: The goal of the 'fixed' schedule (empty: the first goal sampled from the split).
    goal: list[float] = field(default_factory=list)
    #: The goals of the 'list' schedule, in order (cycled).
    goals: list[list[float]] = field(default_factory=list)


@dataclass
class PolicyConfig:
    #: Registered policy name: 'mlp', 'linear', 'torch_mlp', or one a package registers.
    name: str = "mlp"
    #: The policy's options (e.g. hidden = [64, 64], activation = 'tanh'); unknown ones are errors.
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Normalise observations with running statistics merged from every rollout.
    obs_norm: bool = True


@dataclass
class PoolConfig:
    #: Rollout backend: 'serial' (in-process), 'process' (local worker processes), 'ray'.
    backend: str = "process"
    #: Number of worker processes or Ray actors.
    workers: int = 2
    #: Genomes stepped in lockstep by one worker with one batched policy forward.
    chunk_size: int = 32
    #: A chunk of jobs running longer than this (seconds) is killed and re-run.
    job_timeout_s: float = 600.0
    #: A chunk whose worker dies or hangs is re-run at most this many times, then the run stops.
    max_retries: int = 2
    #: Ray cluster address ('' starts a local Ray; 'auto' or 'HOST:PORT' joins a cluster).
    address: str = ""


@dataclass
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    goals: GoalConfig = field(default_factory=GoalConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    population: SelectionConfig = field(default_factory=SelectionConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)

    def validate(self) -> Config:
        """Check values a type check cannot; raise ConfigError naming the key."""
        _check_run(self.run)
        for key, limit in LIMITS.items():
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            if value > limit:
                raise ConfigError(f"{key} must be at most {limit:,}, got {value:,}")
        _check_task(self.task)
        _check_pool(self.pool)
        if self.population.size > MAX_POPULATION:
            raise ConfigError(
                f"population.size must be at most {MAX_POPULATION}, got {self.population.size}"
            )
        _check_goals(self.goals)
        self.population.validate()
        return self


def _check_run(run: RunConfig) -> None:
    if not _PLAIN_NAME.fullmatch(run.name) or run.name in (".", ".."):
        raise ConfigError(
            f"run.name must be a plain name (letters, digits, '.', '_', '-'; no '/'): got "
            f"'{run.name}' (use --out to put the run directory elsewhere)"
        )
    _positive("run.generations", run.generations, allow_zero=True)
    _positive("run.budget_rollouts", run.budget_rollouts, allow_zero=True)
    _positive("run.budget_env_steps", run.budget_env_steps, allow_zero=True)
    if not (run.generations or run.budget_rollouts or run.budget_env_steps):
        raise ConfigError(
            "run.generations is 0 and no budget is set: set run.generations, "
            "run.budget_rollouts or run.budget_env_steps"
        )
    _positive("run.checkpoint_every", run.checkpoint_every, allow_zero=True)
    _positive("run.keep_checkpoints", run.keep_checkpoints, allow_zero=True)
    kept = run.keep_at_rollouts
    if any(b <= 0 for b in kept) or kept != sorted(set(kept)):
        raise ConfigError(
            f"run.keep_at_rollouts must list rollout budgets > 0 in increasing order, got {kept}"
        )
    if run.seed < 0:
        raise ConfigError(f"run.seed must be >= 0, got {run.seed}")


def _check_task(task: TaskConfig) -> None:
    _positive("task.episode_steps", task.episode_steps)
    _positive("task.episodes", task.episodes)
    if "max_episode_steps" in task.kwargs:
        raise ConfigError("task.kwargs.max_episode_steps: set task.episode_steps instead")


def _check_pool(pool: PoolConfig) -> None:
    _positive("pool.workers", pool.workers)
    if pool.workers > MAX_WORKERS:
        raise ConfigError(
            f"pool.workers must be at most {MAX_WORKERS} (processes per machine), got "
            f"{pool.workers}; for more, use pool.backend = 'ray' on a cluster"
        )
    _positive("pool.chunk_size", pool.chunk_size)
    _positive("pool.max_retries", pool.max_retries, allow_zero=True)
    if not 0 < pool.job_timeout_s <= MAX_TIMEOUT_S:  # NaN fails too
        raise ConfigError(
            f"pool.job_timeout_s must be in (0, {MAX_TIMEOUT_S:g}] seconds, got "
            f"{pool.job_timeout_s}"
        )
    _choice("pool.backend", pool.backend, BACKENDS)


def _check_goals(goals: GoalConfig) -> None:
    _positive("goals.every", goals.every)
    _choice("goals.schedule", goals.schedule, SCHEDULES)
    _choice("goals.split", goals.split, ("train", "test"))
    if goals.schedule == "list" and not goals.goals:
        raise ConfigError("goals.goals must list at least one goal when goals.schedule='list'")
    # A goal that the schedule would ignore is a mistake in the config, not a default.
    if goals.goal and goals.schedule != "fixed":
        raise ConfigError(
            f"goals.goal is used only with goals.schedule = 'fixed' (the schedule is "
            f"'{goals.schedule}'): set the schedule, or remove goals.goal"
        )
    if goals.goals and goals.schedule != "list":
        raise ConfigError(
            f"goals.goals is used only with goals.schedule = 'list' (the schedule is "
            f"'{goals.schedule}'): set the schedule, or remove goals.goals"
        )


def _positive(key: str, value: int, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def _choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"{key} must be one of {', '.join(options)}; got '{value}'")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a TOML file (or the defaults when `path` is None), apply `--set` overrides, check."""
    data = read_toml(path) if path is not None else {}
    apply_overrides(data, overrides or [])
    cfg = from_dict(Config, data).validate()
    goals = data.get("goals")
    # Which goal settings the user's file or --set gave (a goal-less task refuses any of them);
    # not a config field: configs read back from a run (all keys written) do not carry it.
    cfg.given_goal_keys = sorted(goals) if isinstance(goals, dict) else []
    return cfg


def config_from_toml_text(text: str) -> Config:
    import tomllib

    return from_dict(Config, tomllib.loads(text)).validate()


def dump_config(cfg: Config) -> str:
    """The resolved config as TOML (what is written to RUN_DIR/config.toml)."""
    return dumps_toml(cfg)


def imports_unasked(cfg: Config) -> str:
    """The module a ``module:Env`` task id would import, if it is not imported yet ('' if none).

    Loading a run or checkpoint never imports a module it names: such an id is accepted from a
    saved file only when the module is already imported (a user who gave the id in their own
    config, or imported the module, decided to run its code; a file did not)."""
    module = cfg.task.id.split(":", 1)[0] if ":" in cfg.task.id else ""
    return module if module and module not in sys.modules else ""
