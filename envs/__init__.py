"""Gymnasium tasks with changing goals, a public registry to add your own, the paper's toy worlds.

`import pbml_envs` declares the built-in `pbml/` locomotion tasks through the same public API a
user package uses (`register_goal_task`, the `goal_task` decorator, or the `pbml_control.tasks`
entry point group; see `pbml_envs.registry`), with string entry points, so MuJoCo is imported
only when a task is made. `gymnasium.make("pbml_envs:pbml/HalfCheetahVel-v0")` imports this
package itself. The toy worlds live in `pbml_envs.toy`, imported on their own.
"""

from pbml_envs.glfw_library import use_bundled_glfw
from pbml_envs.goals import GoalSpace, InvalidGoalError
from pbml_envs.registry import (
    ENTRY_POINT_GROUP,
    EPISODE_STEPS,
    GoalOutsideDistribution,
    TaskIds,
    TaskSpec,
    UnknownTaskError,
    find_task,
    goal_task,
    is_goal_task,
    register_goal_task,
    task_ids,
    task_spec,
)
from pbml_envs.tasks import (
    BUILTIN_TASK_IDS,
    in_distribution,
    make_env,
    register_tasks,
    sample_goals,
    validate_goal,
)

register_tasks()

use_bundled_glfw()  # before anything imports Gymnasium's MuJoCo envs, and with them glfw

TASK_IDS: TaskIds = TaskIds()
"""The registered goal task ids, a live view (built-in first, then user-registered ones)."""

__all__ = [
    "BUILTIN_TASK_IDS",
    "ENTRY_POINT_GROUP",
    "EPISODE_STEPS",
    "TASK_IDS",
    "GoalOutsideDistribution",
    "GoalSpace",
    "InvalidGoalError",
    "TaskSpec",
    "UnknownTaskError",
    "find_task",
    "goal_task",
    "in_distribution",
    "is_goal_task",
    "make_env",
    "register_goal_task",
    "sample_goals",
    "task_ids",
    "task_spec",
    "validate_goal",
]
