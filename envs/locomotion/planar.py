"""Velocity tasks on the other planar bodies: Hopper, Walker2d, Swimmer (our additions).

Same pattern as `HalfCheetahVelEnv`; Hopper and Walker2d keep Gymnasium's healthy reward and
termination, so the reward is -|v_x - goal| + healthy - ctrl_cost.
"""

from __future__ import annotations

from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
from pbml_envs.locomotion.base import GoalTask


class HopperVelEnv(GoalTask, HopperEnv):
    """`pbml/HopperVel-v0`: reward = -|v_x - goal| + healthy - ctrl_cost; goal in [0, 3] m/s."""

    task_id = "pbml/HopperVel-v0"


class Walker2dVelEnv(GoalTask, Walker2dEnv):
    """`pbml/Walker2dVel-v0`: reward = -|v_x - goal| + healthy - ctrl_cost; goal in [0, 3] m/s."""

    task_id = "pbml/Walker2dVel-v0"


class SwimmerVelEnv(GoalTask, SwimmerEnv):
    """`pbml/SwimmerVel-v0`: reward = -|v_x - goal| - ctrl_cost; goal in [0, 0.3] m/s."""

    task_id = "pbml/SwimmerVel-v0"
