"""The goal drawn into the picture: scene markers and caption lines, per task.

A task declares how its goal is drawn in its `TaskSpec` (`goal_markers`, `goal_caption`; the
built-in markers live in `pbml_envs.markers`, so a user task can reuse them). A velocity has no
place in the world, so it is written: the target and the body's actual forward velocity, a
1-second moving mean of the finite-difference velocity Gymnasium reports as `info["x_velocity"]`
(the raw value jitters with every stride). Tasks that declare nothing get a plain caption.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Markers = Callable[[Any, Any, np.ndarray], None]


def no_markers(scene: Any, data: Any, goal: np.ndarray) -> None:
    pass


@dataclass(frozen=True)
class GoalArt:
    """How a task's goal is shown: scene markers and a caption."""

    markers: Markers
    caption: Callable[[np.ndarray], str]
    #: Write the target and the measured forward velocity.
    velocity: bool = False


def _fmt_goal(goal: np.ndarray) -> str:
    return "goal " + " ".join(f"{v:.2f}" for v in np.atleast_1d(goal))


def _velocity_caption(goal: np.ndarray) -> str:
    return f"target {float(goal):.2f} m/s"


#: Captions by the kind of goal term, for tasks that declare none.
_BY_GOAL_TERM: dict[str, Callable[[np.ndarray], str]] = {"reward_velocity": _velocity_caption}


def goal_art(task_id: str) -> GoalArt:
    """The art a task declares; else a caption by the kind of its goal term; else a plain one."""
    import pbml_envs

    spec = pbml_envs.find_task(task_id)
    if spec is None:
        return GoalArt(no_markers, _fmt_goal)
    caption = spec.goal_caption or _BY_GOAL_TERM.get(spec.goal_reward_key, _fmt_goal)
    velocity = spec.goal_reward_key == "reward_velocity"
    return GoalArt(spec.goal_markers or no_markers, caption, velocity)


class VelocityMeter:
    """Moving mean of the forward velocity over the last `window` steps."""

    def __init__(self, window: int) -> None:
        self._values: deque[float] = deque(maxlen=max(1, window))

    def reset(self) -> None:
        self._values.clear()

    def add(self, info: dict[str, Any]) -> None:
        if "x_velocity" in info:
            self._values.append(float(info["x_velocity"]))

    def text(self) -> str:
        if not self._values:
            return "actual  -  m/s"
        return f"actual {np.mean(self._values):.2f} m/s"
