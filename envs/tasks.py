"""The built-in `pbml/` locomotion tasks, declared through the public goal-task registry, and the
helpers the rollout pool and trainer call.

Why one declaration per task: registration, goal sampling, goal validation and the README's task
list all read the same `TaskSpec`, so a task's id, goal range and split cannot drift apart. The
env classes in `pbml_envs.locomotion` look their spec up by id; registration uses string entry
points, so `import pbml_envs` stays cheap and does not import MuJoCo.

Goal ranges (the training distributions) follow the meta-RL conventions: MAML (Finn et al.,
2017) and PEARL (Rakelly et al., 2019) -- velocity in [0, 3], direction +-1 or an angle in
[0, 2pi), goal position uniform in a disc of radius 3. The Hopper, Walker2d and Swimmer velocity
tasks are our additions; their ranges are our choice (Swimmer is slow, so its range is [0, 0.3]).
Valid goals go beyond them (`pbml_envs.goals`). Changing a reward, an observation or a goal
distribution bumps the task's version.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from pbml_envs import markers, rewards
from pbml_envs.goals import (
    VELOCITY_LIMIT,
    AngleGoals,
    DiscGoals,
    GoalSpace,
    IntervalGoals,
    SignGoals,
    check_split,
)
from pbml_envs.registry import (
    EPISODE_STEPS,
    GoalTerm,
    TaskSpec,
    UnknownTaskError,
    register_goal_task,
    task_spec,
)

__all__ = [
    "BUILTIN_TASK_IDS",
    "EPISODE_STEPS",
    "TaskSpec",
    "UnknownTaskError",
    "in_distribution",
    "make_env",
    "register_tasks",
    "sample_goals",
    "task_spec",
    "validate_goal",
]

#: Sanity bound on an AntGoal position, metres from the origin (any point within is valid).
GOAL_POSITION_LIMIT = 100.0


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
    **art: Any,
) -> dict[str, Any]:
    """The `register_goal_task` arguments of one built-in task."""
    return dict(
        id=f"pbml/{name}-v0",
        entry_point=f"pbml_envs.locomotion.{module}:{name}Env",
        goal_space=goals,
        default_goal=default,
        goal_reward_key=term[0],
        goal_term=term[1],
        body=body,
        description=description,
        reward=reward,
        camera="track",
        **art,
    )


def _velocity_goals(high: float) -> IntervalGoals:
    return IntervalGoals(0.0, high, 3, _SPEED, limit=VELOCITY_LIMIT)


_VELOCITY = "-abs(v_x - goal) - ctrl_cost"
_SPEED = "a target forward velocity in m/s"
_VELOCITY_TERM = ("reward_velocity", rewards.velocity_term)
_BUILTIN: tuple[dict[str, Any], ...] = (
    _task(
        name="HalfCheetahVel",
        body="HalfCheetah",
        module="half_cheetah",
        goals=_velocity_goals(3.0),
        default=1.0,
        term=_VELOCITY_TERM,
        description="HalfCheetah runs at a target forward velocity (MAML/PEARL cheetah-vel).",
        reward=_VELOCITY,
        goal_markers=markers.velocity_pacer,
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
        goal_markers=markers.sign_arrow,
        goal_caption=lambda g: "run forward" if float(g) > 0 else "run backward",
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
        goal_markers=markers.planar_arrow,
        goal_caption=lambda g: f"heading {np.degrees(float(g)):.0f} deg",
    ),
    _task(
        name="AntGoal",
        body="Ant",
        module="ant",
        goals=DiscGoals(3.0, limit=GOAL_POSITION_LIMIT),
        default=(2.0, 0.0),
        term=("reward_goal", rewards.goal_distance_term),
        description="Ant walks to a goal position in a disc of radius 3 (PEARL ant-goal).",
        reward="-||(x, y) - goal|| + healthy - ctrl_cost - contact_cost",
        goal_markers=markers.target_marker,
        goal_caption=lambda g: f"goal ({g[0]:.1f}, {g[1]:.1f})",
    ),
    _task(
        name="HopperVel",
        body="Hopper",
        module="planar",
        goals=_velocity_goals(3.0),
        default=1.0,
        term=_VELOCITY_TERM,
        description="Hopper hops at a target forward velocity (our addition).",
        reward=_VELOCITY + " + healthy",
        goal_markers=markers.velocity_pacer,
    ),
    _task(
        name="Walker2dVel",
        body="Walker2d",
        module="planar",
        goals=_velocity_goals(3.0),
        default=1.0,
        term=_VELOCITY_TERM,
        description="Walker2d walks at a target forward velocity (our addition).",
        reward=_VELOCITY + " + healthy",
        goal_markers=markers.velocity_pacer,
    ),
    _task(
        name="SwimmerVel",
        body="Swimmer",
        module="planar",
        goals=_velocity_goals(0.3),
        default=0.1,
        term=_VELOCITY_TERM,
        description="Swimmer swims at a target forward velocity (our addition; slow body).",
        reward=_VELOCITY,
    ),
)
BUILTIN_TASK_IDS: tuple[str, ...] = tuple(task["id"] for task in _BUILTIN)
"""The built-in tasks (the ones with a fast path, `pbml_envs.fast`)."""


def sample_goals(
    task_id: str, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
) -> np.ndarray:
    """Draw `n` goals of a task, shape (n, *goal_shape), float64, from the "train" or "test" split.

    ``stratified`` spreads the draws evenly over the split's bands (each band gets n // bands or
    one more), as a study's few probe goals need; without it every draw picks its band at random.

    The splits are disjoint where the task holds goals out (see `pbml_envs.goals`); the draw
    depends on `rng` only, so a seeded generator gives the same goals on every machine.
    """
    spec = task_spec(task_id)
    check_split(split)
    if n < 0:
        raise ValueError(f"{task_id}: cannot sample {n} goals")
    goals = (
        spec.goal_space.sample(rng, int(n), split, stratified)
        if stratified
        else (spec.goal_space.sample(rng, int(n), split))
    )  # a user's goal space written before `stratified` existed still samples unstratified
    return goals.astype(np.float64, copy=False)


def validate_goal(task_id: str, goal: object) -> np.ndarray:
    """Return `goal` as a read-only float64 array of the task's goal shape (canonical: an angle
    wrapped into [0, 2pi)).

    Raises InvalidGoalError (a ValueError) naming the task and the valid goals when the goal has
    the wrong shape, is not finite, or is not physically meaningful. A valid goal outside the
    training distribution is accepted with one `GoalOutsideDistribution` warning per goal.
    """
    return task_spec(task_id).validate(goal)


def in_distribution(task_id: str, goal: object) -> bool:
    """Whether a valid goal lies inside the task's training distribution (no warning)."""
    return task_spec(task_id).in_distribution(goal)


def make_env(task_id: str, **kwargs: Any) -> gymnasium.Env:
    """`gymnasium.make` for a registered goal task, with our defaults.

    kwargs go to `gymnasium.make` and the task: `goal`, `goal_in_obs`, `max_episode_steps`
    (default: the task's, 200 for built-ins), `render_mode`, `width`, `height`, `camera_name`, ...
    When rendering without a camera choice, the task's camera is used (the body's `track` camera
    for built-ins, so that videos follow the robot).
    """
    spec = task_spec(task_id)
    if kwargs.get("goal") is not None:
        validate_goal(task_id, kwargs["goal"])
    rendering = kwargs.get("render_mode") is not None
    if rendering and kwargs.get("camera_name") is None and kwargs.get("camera_id") is None:
        if spec.camera is not None:
            kwargs["camera_name"] = spec.camera
    return gymnasium.make(spec.id, **kwargs)


def register_tasks() -> None:
    """Declare the built-in tasks through the public registry (idempotent)."""
    for task in _BUILTIN:
        register_goal_task(**task)
