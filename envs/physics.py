"""Telling a rollout whose physics went unstable.

MuJoCo flags a diverging simulation with warnings (bad qpos, qvel, qacc or ctrl) and then resets
the state by itself, so observations stay finite and the rollout would be ranked as a number. A
rollout that triggered one of these is failed instead; every rollout path (Gymnasium envs, raw
MjData, `mujoco.batch`) asks here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mujoco

UNSTABLE_WARNINGS = ("mjWARN_BADQPOS", "mjWARN_BADQVEL", "mjWARN_BADQACC", "mjWARN_BADCTRL")


def unstable_reason(count: Callable[[int], int]) -> str:
    """'unstable physics (NAME)' for the first flagged warning, or ''; `count(i)` is how often
    warning `i` (an `mjtWarning` value) fired since the last reset."""
    for name in UNSTABLE_WARNINGS:
        if count(int(getattr(mujoco.mjtWarning, name))) > 0:
            return f"unstable physics ({name})"
    return ""


def data_unstable(data: mujoco.MjData) -> str:
    return unstable_reason(lambda i: data.warning[i].number)


def env_unstable(env: Any) -> str:
    """For a Gymnasium environment; '' when it is not a MuJoCo one."""
    data = getattr(env.unwrapped, "data", None)
    return "" if data is None else data_unstable(data)
