"""HalfCheetah with a target velocity or a direction (MAML's and PEARL's cheetah-vel/-dir)."""

from __future__ import annotations

from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from pbml_envs.locomotion.base import GoalTask


class HalfCheetahVelEnv(GoalTask, HalfCheetahEnv):
    """`pbml/HalfCheetahVel-v0`: reward = -|v_x - goal| - ctrl_cost; goal in [0, 3] m/s."""

    task_id = "pbml/HalfCheetahVel-v0"


class HalfCheetahDirEnv(GoalTask, HalfCheetahEnv):
    """`pbml/HalfCheetahDir-v0`: reward = goal * v_x - ctrl_cost; goal +1 or -1."""

    task_id = "pbml/HalfCheetahDir-v0"
