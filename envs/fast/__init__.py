"""Fast paths for the built-in `pbml/` tasks: K raw MuJoCo simulations, batched observations and
rewards. User-registered tasks run through plain Gymnasium.

The rollout engine asks `make_fast_task(task_id, kwargs, capacity)` for a task; it gets a
`FastTask` when the task's body has one (HalfCheetah and Ant today) and every keyword is one the
fast path understands, else None and the engine runs plain Gymnasium environments. Importing this
package imports MuJoCo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbml_envs.fast.bodies import AntTask, FastTask, HalfCheetahTask, StepOut
from pbml_envs.fast.sim import MjBatch
from pbml_envs.mujoco_log import quiet_settotalmass
from pbml_envs.physics import UNSTABLE_WARNINGS
from pbml_envs.tasks import BUILTIN_TASK_IDS, make_env, task_spec

FAST_BODIES: dict[str, type[FastTask]] = {"HalfCheetah": HalfCheetahTask, "Ant": AntTask}

# Keywords whose effect the fast path reads back from a Gymnasium task built with them. Anything
# else (render_mode, wrappers' options, ...) sends the task through plain Gymnasium.
_KNOWN_KWARGS = frozenset(
    {
        "goal",
        "goal_in_obs",
        "max_episode_steps",
        "xml_file",
        "frame_skip",
        "forward_reward_weight",
        "ctrl_cost_weight",
        "contact_cost_weight",
        "healthy_reward",
        "main_body",
        "terminate_when_unhealthy",
        "healthy_z_range",
        "contact_force_range",
        "reset_noise_scale",
        "exclude_current_positions_from_observation",
        "include_cfrc_ext_in_observation",
    }
)


def has_fast_path(task_id: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether `make_fast_task` would give a fast path for this task and these keywords."""
    if task_id not in BUILTIN_TASK_IDS or task_spec(task_id).body not in FAST_BODIES:
        return False
    return set(kwargs or {}) <= _KNOWN_KWARGS


def make_fast_task(
    task_id: str, kwargs: Mapping[str, Any] | None = None, capacity: int = 1
) -> FastTask | None:
    """`capacity` fast simulations of `make_env(task_id, **kwargs)`, or None without a fast path.

    A reference task is built once to read the model and every constant from it, so the fast
    path cannot drift from the Gymnasium task's settings.
    """
    if not has_fast_path(task_id, kwargs):
        return None
    with quiet_settotalmass():
        env = make_env(task_id, **dict(kwargs or {}))
    try:
        return FAST_BODIES[task_spec(task_id).body](env, capacity)
    finally:
        env.close()


__all__ = [
    "FAST_BODIES",
    "UNSTABLE_WARNINGS",
    "AntTask",
    "FastTask",
    "HalfCheetahTask",
    "MjBatch",
    "StepOut",
    "has_fast_path",
    "make_fast_task",
]
