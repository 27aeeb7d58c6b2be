"""Ant with a planar direction or a goal position (PEARL's ant-dir and ant-goal).

Gymnasium's Ant-v5 defaults are kept, including the 105-dim observation with clipped contact
forces and termination when the torso leaves z in [0.2, 1.0]: they are what Ant-v5 results are
reported with, and a population can learn to ignore inputs it does not need.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from pbml_envs.locomotion.base import GoalTask


class AntDirEnv(GoalTask, AntEnv):
    """`pbml/AntDir-v0`: reward = (v_x, v_y) . (cos goal, sin goal) + healthy - costs.

    The velocity is the torso's finite-difference velocity over the step, exactly as Ant-v5
    computes `x_velocity` and `y_velocity` (both are in `info`).
    """

    task_id = "pbml/AntDir-v0"
    _xy_before: np.ndarray

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._xy_before = self._torso_xy().copy()
        return super().step(action)

    def _torso_xy(self) -> np.ndarray:
        return self.data.body(self._main_body).xpos[:2]

    def _goal_quantities(self, x_velocity: float) -> dict[str, float]:
        y_velocity = (self._torso_xy()[1] - self._xy_before[1]) / self.dt
        return {"x_velocity": x_velocity, "y_velocity": y_velocity}


class AntGoalEnv(GoalTask, AntEnv):
    """`pbml/AntGoal-v0`: reward = -||(x, y) - goal|| + healthy - costs; goal in a disc of radius 3.

    (x, y) is the torso's position after the step, `qpos[:2]` (`info["x_position"]` and
    `info["y_position"]`).
    """

    task_id = "pbml/AntGoal-v0"

    def _goal_quantities(self, x_velocity: float) -> dict[str, float]:
        return {"x_position": self.data.qpos[0], "y_position": self.data.qpos[1]}
