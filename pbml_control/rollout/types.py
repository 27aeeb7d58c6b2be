"""What crosses the process boundary: a short, named list.

A batch of jobs shares the task, the policy and the frozen observation statistics; each job adds
its genome's parameters, a goal and a seed. The pool cuts a batch into fixed chunks by job index,
so which genomes are stepped together never depends on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EnvSpec:
    """A picklable environment factory: the task id and its constructor keyword arguments."""

    task_id: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, task_id: str, **kwargs: Any) -> EnvSpec:
        """A spec of ``task_id`` built with ``kwargs``; lists (TOML arrays, e.g. Ant's
        contact_force_range) become tuples, so the spec stays hashable and comparable."""
        return cls(task_id, tuple(sorted((k, _frozen(v)) for k, v in kwargs.items())))

    def make(self):
        """Build the environment: registered goal tasks through `pbml_envs.make_env`, others
        through Gymnasium (`module:EnvId` ids import their module first)."""
        import gymnasium
        import pbml_envs

        if pbml_envs.is_goal_task(self.task_id):
            return pbml_envs.make_env(self.task_id, **dict(self.kwargs))
        return gymnasium.make(self.task_id, **dict(self.kwargs))


def _frozen(value: Any) -> Any:
    """TOML values as hashable ones: lists to tuples, tables to sorted item tuples."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


@dataclass
class EvalBatch:
    """Everything needed to evaluate N genomes: shared fields, then one row per job."""

    env: EnvSpec
    #: `Policy.to_dict()`: rebuilt in the worker with `pbml_policies.policy_from_dict`.
    policy: dict[str, Any]
    #: (N, D) float32 genome parameters.
    params: np.ndarray
    #: (N, *goal_shape) goals, or None for tasks without goals.
    goals: np.ndarray | None
    #: (N,) int64 evaluation seeds.
    seeds: np.ndarray
    episodes: int = 1
    #: Frozen observation statistics (`RunningStats.to_arrays()`), or None for no normalisation.
    obs_stats: dict[str, np.ndarray] | None = None
    #: Collect each job's raw observation statistics (for the running normalisation).
    collect_obs_stats: bool = False

    def __len__(self) -> int:
        return len(self.params)

    def chunk(self, start: int, stop: int) -> Chunk:
        goals = None if self.goals is None else self.goals[start:stop]
        return Chunk(start, self, self.params[start:stop], goals, self.seeds[start:stop])


@dataclass(frozen=True)
class SharedRows:
    """Where a chunk's parameter rows lie in a pool's shared memory file (see
    `pbml_control.rollout.shared`): what a chunk pickles instead of the rows themselves."""

    #: The parent process and its descriptor of the memory file; the inode identifies the file.
    pid: int
    fd: int
    inode: int
    #: The evaluation whose matrix the file must hold (checked against the file's header).
    generation: int
    #: Byte offset of the chunk's first row from the start of the file.
    offset: int
    shape: tuple[int, ...]
    dtype: str


@dataclass
class Chunk:
    """Jobs [start, start + len) of a batch: what one worker steps in lockstep."""

    start: int
    batch: EvalBatch
    params: np.ndarray
    goals: np.ndarray | None
    seeds: np.ndarray
    #: Set by a pool that shares the parameter matrix: the rows are then not pickled, and the
    #: worker reads them from shared memory (`ParamReader.resolve`) before running the chunk.
    shared: SharedRows | None = None

    def __len__(self) -> int:
        return len(self.params)

    def __getstate__(self) -> dict[str, Any]:
        # Send only this chunk's rows, not the whole batch's parameter matrix.
        shared = EvalBatch(
            self.batch.env,
            self.batch.policy,
            self.params[:0],
            None,
            self.seeds[:0],
            self.batch.episodes,
            self.batch.obs_stats,
            self.batch.collect_obs_stats,
        )
        state = {**self.__dict__, "batch": shared}
        if self.shared is not None:
            state["params"] = self.params[:0]
        return state


@dataclass
class RolloutResult:
    """The outcome of one job. `fitness` is the mean episode return, or -inf when failed."""

    index: int
    fitness: float
    returns: np.ndarray
    steps: int
    reward_parts: dict[str, float] = field(default_factory=dict)
    failed: bool = False
    #: Why the rollout failed ('' if it did not): non-finite values or unstable physics.
    failure: str = ""
    #: Raw observation statistics of this job's rollouts (`RunningStats.to_arrays()`).
    obs_stats: dict[str, np.ndarray] | None = None
