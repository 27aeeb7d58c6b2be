"""A user goal task, written the way a user package would: Gymnasium's Reacher reaching a chosen
target. Nothing here is private to this project: the task is declared with the public
`pbml_envs.register_goal_task`, and follows the goal protocol (`goal=` at construction,
`reset(options={"goal": g})`, the goal's reward part in `info`).

The tests import this module to register the task, and copy its text into a fake installed
package to register it through the `pbml_control.tasks` entry point group instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pbml_envs
from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv
from pbml_envs.goals import DiscGoals

TASK_ID = "pbml_test/ReacherTarget-v0"


class ReacherTargetEnv(ReacherEnv):
    """Reacher-v5 whose target is the task's goal instead of a random point each episode."""

    def __init__(self, goal: Any = None, **kwargs: Any) -> None:
        spec = pbml_envs.task_spec(TASK_ID)
        self.goal = spec.default_goal if goal is None else pbml_envs.validate_goal(TASK_ID, goal)
        super().__init__(**kwargs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if options and options.get("goal") is not None:
            self.goal = pbml_envs.validate_goal(TASK_ID, options["goal"])
        return super().reset(seed=seed, options=options)

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, size=self.model.nq)
        qpos[-2:] = self.goal  # the target's two slide joints
        qvel = self.init_qvel + self.np_random.uniform(-0.005, 0.005, size=self.model.nv)
        qvel[-2:] = 0.0
        self.set_state(qpos, qvel)
        return self._get_obs()

    def step(self, action: np.ndarray):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "goal": self.goal.copy()}


pbml_envs.register_goal_task(
    TASK_ID,
    entry_point=f"{__name__}:ReacherTargetEnv",
    # Trained on targets in a disc of radius 0.2 (Reacher's own range); any target the target's
    # slide joints can hold (|x|, |y| <= 0.27, so norm <= 0.27) is valid.
    goal_space=DiscGoals(0.2, limit=0.27),
    default_goal=(0.1, 0.1),
    goal_reward_key="reward_dist",
    max_episode_steps=50,
    description="Reacher reaches a target position chosen by the task (a test's user task).",
    goal_caption=lambda g: f"target ({g[0]:.2f}, {g[1]:.2f})",
)
