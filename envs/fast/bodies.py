"""Batched observations and rewards of the `pbml/` HalfCheetah and Ant tasks over an `MjBatch`.

Why a second implementation of the tasks: a rollout worker steps K genomes in lockstep, and with
raw MjData the Python cost per environment step drops to a few C calls (see `pbml_envs.fast.sim`);
observations, rewards and termination are then a handful of numpy operations per batch. The
Gymnasium task stays the reference: every constant is read from a task built by `make_env` with
the same arguments, the goal terms are the `TaskSpec`'s pure functions, the cost terms are
`pbml_envs.rewards`' mirrors of Gymnasium's, and parts are summed in `GoalTask._get_rew`'s order, so
the tests can demand bit-identical observations and rewards.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from pbml_envs import rewards
from pbml_envs.fast.sim import BatchSim, MjBatch
from pbml_envs.tasks import TaskSpec

try:  # MuJoCo >= 4 steps many simulations in one C call
    from mujoco import batch as _batch  # noqa: F401

    HAS_BATCH = True
except ImportError:
    HAS_BATCH = False


@dataclass
class StepOut:
    """One lockstep step of the first k simulations (rows that were not stepped hold garbage)."""

    obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    #: Reward parts by their `info` names, in the order the Gymnasium task reports them.
    parts: dict[str, np.ndarray]


class FastTask(ABC):
    """K simulations of one task: `reset(seeds, goals)`, then `step(actions, rows)` repeatedly.

    Mirrors `gymnasium.make(task_id, **kwargs)` for K environments at once, without the time limit
    (the caller counts steps against `max_episode_steps`).
    """

    def __init__(self, env: gymnasium.Env, capacity: int) -> None:
        inner: Any = env.unwrapped
        self.spec: TaskSpec = inner.task
        self.max_episode_steps: int | None = env.spec.max_episode_steps if env.spec else None
        self.action_low = env.action_space.low.astype(np.float64)
        self.action_high = env.action_space.high.astype(np.float64)
        self.obs_dim = int(env.observation_space.shape[0])
        self.dt = inner.dt
        self.init_qpos = inner.init_qpos.copy()
        self.init_qvel = inner.init_qvel.copy()
        self.reset_noise = inner._reset_noise_scale
        self._ctrl_weight = inner._ctrl_cost_weight
        self._default_goal = inner.goal
        self._goal_in_obs = inner.goal_in_obs
        self.sim = self._make_sim(inner, capacity)
        self._k = 0
        self._goals = np.zeros(0)
        self._features: np.ndarray | None = None

    @property
    def capacity(self) -> int:
        return self.sim.capacity

    def reset(self, seeds: Sequence[int], goals: np.ndarray | None) -> np.ndarray:
        """Reset the first len(seeds) simulations (goal j for row j; the task's goal if None).

        Returns their observations (k, obs_dim), as `env.reset(seed=s, options={"goal": g})`.
        """
        k = len(seeds)
        if k > self.capacity:
            raise ValueError(f"{k} seeds for {self.capacity} simulations")
        rows = (
            [self._default_goal] * k
            if goals is None
            else [self.spec.validate(g, note=False) for g in goals]
        )
        self._k, self._goals = k, np.stack(rows) if rows else np.zeros(0)
        if self._goal_in_obs:
            self._features = np.stack([self.spec.goal_space.features(g) for g in rows])
        self.sim.reset_rows(seeds, self.init_qpos, self.init_qvel, self.reset_noise)
        self._refresh()
        return self._observe()

    def step(self, actions: np.ndarray, rows: Sequence[int]) -> StepOut:
        """Step `rows` with `actions` (k, act_dim) float64; values of other rows are garbage."""
        before = self._before()
        self.sim.step_rows(actions, rows)
        self._refresh()
        parts, terminated = self._rewards(actions, before)
        # Python's sum, as GoalTask._get_rew: the same float64 additions in the same order.
        reward = sum(parts.values())
        return StepOut(self._observe(), reward, terminated, parts)

    def unstable(self, j: int) -> str:
        return self.sim.unstable(j)

    def _with_goal(self, obs: np.ndarray) -> np.ndarray:
        if self._features is None:
            return obs
        return np.concatenate([obs, self._features], axis=1)

    def _goal_term(self, quantities: dict[str, np.ndarray]) -> np.ndarray:
        return self.spec.goal_term(quantities, self._goals)

    @abstractmethod
    def _make_sim(self, inner: Any, capacity: int) -> BatchSim | MjBatch: ...

    def _refresh(self) -> None:  # noqa: B027 (a hook: most bodies need nothing here)
        """What both the observation and the reward read, computed once after a reset or step."""

    @abstractmethod
    def _before(self) -> np.ndarray:
        """What the reward needs from before the step (a position)."""

    @abstractmethod
    def _observe(self) -> np.ndarray: ...

    @abstractmethod
    def _rewards(
        self, actions: np.ndarray, before: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Reward parts and termination of the first k rows after a step."""


class HalfCheetahTask(FastTask):
    """HalfCheetah-v5 with a goal term: obs = (qpos[1:], qvel); reward = goal term - ctrl cost."""

    def _make_sim(self, inner: Any, capacity: int) -> BatchSim | MjBatch:
        self._skip = int(inner._exclude_current_positions_from_observation)
        self._never = np.zeros(capacity, dtype=bool)  # terminated: HalfCheetah never ends
        self._never.flags.writeable = False
        if HAS_BATCH:
            return BatchSim(inner.model, capacity, inner.frame_skip)
        return MjBatch(inner.model, capacity, inner.frame_skip)

    def _before(self) -> np.ndarray:
        return self.sim.qpos[: self._k, 0].copy()

    def _observe(self) -> np.ndarray:
        k, sim = self._k, self.sim
        return self._with_goal(np.concatenate([sim.qpos[:k, self._skip :], sim.qvel[:k]], axis=1))

    def _rewards(self, actions, before):
        x_after = self.sim.qpos[: self._k, 0]
        x_velocity = (x_after - before) / self.dt
        goal = self._goal_term({"x_velocity": x_velocity, "x_position": x_after})
        ctrl = rewards.control_cost(actions, self._ctrl_weight)
        parts = {self.spec.goal_reward_key: goal, "reward_ctrl": -ctrl}
        return parts, self._never[: self._k]


class AntTask(FastTask):
    """Ant-v5 with a goal term: obs = (qpos[2:], qvel, clipped cfrc_ext[1:]); reward = goal term
    + healthy - ctrl cost - contact cost; terminates when unhealthy."""

    def _make_sim(self, inner: Any, capacity: int) -> MjBatch:
        self._skip = 2 * int(inner._exclude_current_positions_from_observation)
        self._cfrc_in_obs = bool(inner._include_cfrc_ext_in_observation)
        self._contact_weight = inner._contact_cost_weight
        self._contact_range = inner._contact_force_range
        self._healthy_reward = inner._healthy_reward
        self._healthy_z = inner._healthy_z_range
        self._terminate = bool(inner._terminate_when_unhealthy)
        body = inner.data.body(inner._main_body).id
        return MjBatch(
            inner.model, capacity, inner.frame_skip, track_body=body, contact_forces=True
        )

    def _before(self) -> np.ndarray:
        return self.sim.body_xy[: self._k].copy()

    def _refresh(self) -> None:
        # Gymnasium clips cfrc_ext once for the observation and once for the contact cost; the
        # values are the same, so they are clipped once here.
        self._forces = rewards.clip_forces(self.sim.cfrc_ext[: self._k], self._contact_range)

    def _observe(self) -> np.ndarray:
        k, sim = self._k, self.sim
        parts = [sim.qpos[:k, self._skip :], sim.qvel[:k]]
        if self._cfrc_in_obs:
            parts.append(self._forces[:, 1:].reshape(k, -1))
        return self._with_goal(np.concatenate(parts, axis=1))

    def _healthy(self, qpos: np.ndarray) -> np.ndarray:
        """`rewards.is_healthy_z` of the state, with its finiteness test skipped when the
        state's sum is finite (then so is every element)."""
        z, (low, high) = qpos[:, 2], self._healthy_z
        healthy = (low <= z) & (z <= high)
        state = self.sim.state[: self._k]  # (qpos, qvel) rows
        if not math.isfinite(state.sum()):
            healthy &= np.isfinite(state).all(axis=1)
        return healthy

    def _rewards(self, actions, before):
        k, sim = self._k, self.sim
        xy_velocity = (sim.body_xy[:k] - before) / self.dt
        qpos = sim.qpos[:k]
        healthy = self._healthy(qpos)
        quantities = {
            "x_velocity": xy_velocity[:, 0],
            "y_velocity": xy_velocity[:, 1],
            "x_position": qpos[:, 0],
            "y_position": qpos[:, 1],
        }
        ctrl = rewards.control_cost(actions, self._ctrl_weight)
        contact = rewards.clipped_contact_cost(self._forces, self._contact_weight)
        parts = {
            self.spec.goal_reward_key: self._goal_term(quantities),
            "reward_ctrl": -ctrl,
            "reward_contact": -contact,
            "reward_survive": healthy * self._healthy_reward,
        }
        return parts, ~healthy & self._terminate
