"""Gymnasium tasks with changing goals (registered under `pbml/`) and the paper's toy worlds.

`import pbml_envs` registers the `pbml/` locomotion tasks with Gymnasium (string entry points,
so MuJoCo is imported only when a task is made);
`gymnasium.make("pbml_envs:pbml/HalfCheetahVel-v0")` imports this package itself.
The toy worlds live in `pbml_envs.toy`, imported on their own.
"""

from pbml_envs.glfw_library import use_bundled_glfw
from pbml_envs.goals import InvalidGoalError
from pbml_envs.tasks import (
    EPISODE_STEPS,
    TASK_IDS,
    TaskSpec,
    UnknownTaskError,
    make_env,
    register_tasks,
    sample_goals,
    task_spec,
    validate_goal,
)

register_tasks()

use_bundled_glfw()  # before anything imports Gymnasium's MuJoCo envs, and with them glfw

__all__ = [
    "EPISODE_STEPS",
    "TASK_IDS",
    "InvalidGoalError",
    "TaskSpec",
    "UnknownTaskError",
    "make_env",
    "sample_goals",
    "task_spec",
    "validate_goal",
]
