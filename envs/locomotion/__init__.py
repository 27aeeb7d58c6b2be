"""Locomotion tasks with goals, built on Gymnasium's MuJoCo v5 bodies (one module per body).

Importing this package imports MuJoCo; `import envs` does not, it registers string entry points.
"""

from envs.locomotion.ant import AntDirEnv, AntGoalEnv
from envs.locomotion.base import GoalTask
from envs.locomotion.half_cheetah import HalfCheetahDirEnv, HalfCheetahVelEnv
from envs.locomotion.planar import HopperVelEnv, SwimmerVelEnv, Walker2dVelEnv

__all__ = [
    "AntDirEnv",
    "AntGoalEnv",
    "GoalTask",
    "HalfCheetahDirEnv",
    "HalfCheetahVelEnv",
    "HopperVelEnv",
    "SwimmerVelEnv",
    "Walker2dVelEnv",
]
