"""HalfCheetah with a target velocity or a direction (MAML's and PEARL's cheetah-vel/-dir)."""

from __future__ import annotations

from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

from envs.locomotion.base import GoalTask, VelocityTask
from envs.rewards import direction_reward


class HalfCheetahVelEnv(VelocityTask, HalfCheetahEnv):
    """`pbml/HalfCheetahVel-v0`: reward = -|v_x - goal| - ctrl_cost; goal in [0, 3] m/s."""

    task_id = "pbml/HalfCheetahVel-v0"


class HalfCheetahDirEnv(GoalTask, HalfCheetahEnv):
    """`pbml/HalfCheetahDir-v0`: reward = goal * v_x - ctrl_cost; goal +1 or -1."""

    task_id = "pbml/HalfCheetahDir-v0"
    goal_reward_key = "reward_direction"

    def _goal_term(self, x_velocity: float) -> float:
        return direction_reward(x_velocity, self.goal)
