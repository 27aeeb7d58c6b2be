"""Locomotion tasks with goals, built on Gymnasium's MuJoCo v5 bodies (one module per body).

Importing this package imports MuJoCo; `import pbml_envs` does not (it registers string entry
points).
"""

from pbml_envs.locomotion.ant import AntDirEnv, AntGoalEnv
from pbml_envs.locomotion.base import GoalTask
from pbml_envs.locomotion.half_cheetah import HalfCheetahDirEnv, HalfCheetahVelEnv
from pbml_envs.locomotion.planar import HopperVelEnv, SwimmerVelEnv, Walker2dVelEnv

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
