"""The table of `pbml/` locomotion tasks, and the helpers the rollout pool and trainer call.

Why one table: registration, goal sampling, goal validation and the README's task list all read
the same `TaskSpec`s, so a task's id, goal range and split cannot drift apart. The env classes in
`pbml_envs.locomotion` look their spec up by id; registration uses string entry points, so
`import pbml_envs` stays cheap and does not import MuJoCo.

Goal ranges follow the meta-RL conventions: MAML (Finn et al., 2017) and PEARL (Rakelly et al.,
2019) -- velocity in [0, 3], direction +-1 or an angle in [0, 2pi), goal position uniform in a disc
of radius 3. The Hopper, Walker2d and Swimmer velocity tasks are our additions; their ranges are
our choice (Swimmer is slow, so its range is [0, 0.3]). Changing a reward, an observation or a
goal distribution bumps the task's version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from gymnasium import error
from pbml_envs import rewards
from pbml_envs.goals import (
    AngleGoals,
    DiscGoals,
    GoalSpace,
    IntervalGoals,
    SignGoals,
    check_split,
)

GoalTerm = Callable[[rewards.Quantities, np.ndarray], np.ndarray]

EPISODE_STEPS = 200
"""Default episode length: the meta-RL horizon (MAML, PEARL), not Gymnasium's 1000."""


class UnknownTaskError(error.UnregisteredEnv, ValueError):
    """A task id that is not one of ours; the message lists the known `pbml/` ids."""


@dataclass(frozen=True, eq=False)
class TaskSpec:
    """What the trainer needs to know about a task without building it.

    `goal_low`/`goal_high` bound each goal coordinate (a box; `validate_goal` applies the exact
    range, e.g. the disc). `reward` and `split` are one-line documentation for the README.
    `goal_term(quantities, goal)` is the reward's goal part, reported in `info` under
    `goal_reward_key`; it reads quantities by their `info` names and broadcasts over a batch, so
    the reward of a batch of raw MuJoCo states is the goal term plus the body's own parts.
    """

    id: str
    body: str
    goal_shape: tuple[int, ...]
    goal_low: np.ndarray | None
    goal_high: np.ndarray | None
    description: str
    reward: str
    split: str
    entry_point: str
    default_goal: np.ndarray
    goal_reward_key: str
    goal_term: GoalTerm = field(repr=False)
    goal_space: GoalSpace = field(repr=False)

    def validate(self, goal: object) -> np.ndarray:
        """The task's goal as a read-only float64 array; InvalidGoalError if it is not valid."""
        return self.goal_space.validate(goal, self.id)


def _task(
    *,
    name: str,
    body: str,
    module: str,
    goals: GoalSpace,
    default: Any,
    term: tuple[str, GoalTerm],
    description: str,
    reward: str,
) -> TaskSpec:
    task_id = f"pbml/{name}-v0"
    return TaskSpec(
        id=task_id,
        body=body,
        goal_shape=goals.shape,
        goal_low=goals.low,
        goal_high=goals.high,
        description=description,
        reward=reward,
        split=goals.split_text,
        entry_point=f"pbml_envs.locomotion.{module}:{name}Env",
        default_goal=goals.validate(default, task_id),
        goal_reward_key=term[0],
        goal_term=term[1],
        goal_space=goals,
    )


_VELOCITY = "-abs(v_x - goal) - ctrl_cost"
_SPEED = "a target forward velocity in m/s"
_VELOCITY_TERM = ("reward_velocity", rewards.velocity_term)
_TASKS: tuple[TaskSpec, ...] = (
    _task(
        name="HalfCheetahVel",
        body="HalfCheetah",
        module="half_cheetah",
        goals=IntervalGoals(0.0, 3.0, 3, _SPEED),
        default=1.0,
        term=_VELOCITY_TERM,
        description="HalfCheetah runs at a target forward velocity (MAML/PEARL cheetah-vel).",
        reward=_VELOCITY,
    ),
    _task(
        name="HalfCheetahDir",
        body="HalfCheetah",
        module="half_cheetah",
        goals=SignGoals(),
        default=1.0,
        term=("reward_direction", rewards.direction_term),
        description="HalfCheetah runs forward (+1) or backward (-1) (MAML/PEARL cheetah-dir).",
        reward="goal * v_x - ctrl_cost",
    ),
    _task(
        name="AntDir",
        body="Ant",
        module="ant",
        goals=AngleGoals(),
        default=0.0,
        term=("reward_direction", rewards.planar_direction_term),
        description="Ant runs in a planar direction given as an angle (PEARL ant-dir, all angles).",
        reward="(v_x, v_y) . (cos goal, sin goal) + healthy - ctrl_cost - contact_cost",
    ),
    _task(
        name="AntGoal",
        body="Ant",
        module="ant",
        goals=DiscGoals(3.0),
        default=(2.0, 0.0),
        term=("reward_goal", rewards.goal_distance_term),
        description="Ant walks to a goal position in a disc of radius 3 (PEARL ant-goal).",
        reward="-||(x, y) - goal|| + healthy - ctrl_cost - contact_cost",
    ),
    _task(
        name="HopperVel",
        body="Hopper",
        module="planar",
        goals=IntervalGoals(0.0, 3.0, 3, _SPEED),
        default=1.0,
        term=_VELOCITY_TERM,
        description="Hopper hops at a target forward velocity (our addition).",
        reward=_VELOCITY + " + healthy",
    ),
    _task(
        name="Walker2dVel",
        body="Walker2d",
        module="planar",
        goals=IntervalGoals(0.0, 3.0, 3, _SPEED),
        default=1.0,
        term=_VELOCITY_TERM,
        description="Walker2d walks at a target forward velocity (our addition).",
        reward=_VELOCITY + " + healthy",
    ),
    _task(
        name="SwimmerVel",
        body="Swimmer",
        module="planar",
        goals=IntervalGoals(0.0, 0.3, 3, _SPEED),
        default=0.1,
        term=_VELOCITY_TERM,
        description="Swimmer swims at a target forward velocity (our addition; slow body).",
        reward=_VELOCITY,
    ),
)
_BY_ID = {spec.id: spec for spec in _TASKS}
TASK_IDS: tuple[str, ...] = tuple(_BY_ID)


def task_spec(task_id: str) -> TaskSpec:
    """The spec of a registered `pbml/` task; UnknownTaskError listing the known ids otherwise."""
    spec = _BY_ID.get(task_id)
    if spec is None:
        raise UnknownTaskError(
            f"unknown task {task_id!r}; known pbml/ tasks: {', '.join(TASK_IDS)}"
        )
    return spec


def sample_goals(
    task_id: str, rng: np.random.Generator, n: int, split: str = "train"
) -> np.ndarray:
    """Draw `n` goals of a task, shape (n, *goal_shape), float64, from the "train" or "test" split.

    The splits are disjoint where the task holds goals out (see `pbml_envs.goals`); the draw
    depends on `rng` only, so a seeded generator gives the same goals on every machine.
    """
    spec = task_spec(task_id)
    check_split(split)
    if n < 0:
        raise ValueError(f"{task_id}: cannot sample {n} goals")
    return spec.goal_space.sample(rng, int(n), split).astype(np.float64, copy=False)


def validate_goal(task_id: str, goal: object) -> np.ndarray:
    """Return `goal` as a float64 array of the task's goal shape.

    Raises InvalidGoalError (a ValueError) naming the task and its accepted range when the goal
    has the wrong shape, is not finite, or lies outside the range.
    """
    return task_spec(task_id).validate(goal)


def make_env(task_id: str, **kwargs: Any) -> gymnasium.Env:
    """`gymnasium.make` for a `pbml/` task, with our defaults.

    kwargs go to `gymnasium.make` and the task: `goal`, `goal_in_obs`, `max_episode_steps`
    (default 200), `render_mode`, `width`, `height`, `camera_name`, ... When rendering without a
    camera choice, the body's `track` camera is used, so that videos follow the robot.
    """
    spec = task_spec(task_id)
    if kwargs.get("goal") is not None:
        validate_goal(task_id, kwargs["goal"])
    rendering = kwargs.get("render_mode") is not None
    if rendering and kwargs.get("camera_name") is None and kwargs.get("camera_id") is None:
        kwargs["camera_name"] = "track"
    return gymnasium.make(spec.id, **kwargs)


def register_tasks() -> None:
    """Register every task with Gymnasium (idempotent, so re-imports do not warn)."""
    for spec in _TASKS:
        if spec.id not in gymnasium.registry:
            gymnasium.register(
                id=spec.id, entry_point=spec.entry_point, max_episode_steps=EPISODE_STEPS
            )
