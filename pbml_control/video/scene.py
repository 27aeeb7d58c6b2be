"""The goal drawn into the picture: scene markers and caption lines, per task.

Where a goal has a place in the world it is drawn there: a red pole at an AntGoal target, a green
arrow over the body for a running direction. A velocity has no place, so it is written: the
target and the body's actual forward velocity, a 1-second moving mean of the finite-difference
velocity Gymnasium reports as `info["x_velocity"]` (the raw value jitters with every stride).
Tasks not listed get the caption only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

RED = np.array([0.9, 0.15, 0.1, 0.8])
GREEN = np.array([0.1, 0.8, 0.2, 0.9])

Markers = Callable[[Any, Any, np.ndarray], None]


def add_geom(scene: Any, geom_type: int, size, pos, rgba: np.ndarray) -> Any:
    """Append one decorative geom to an mjvScene (skipped when the scene is full)."""
    import mujoco

    if scene.ngeom >= scene.maxgeom:
        return None
    geom = scene.geoms[scene.ngeom]
    mujoco.mjv_initGeom(
        geom, geom_type, np.asarray(size, float), np.asarray(pos, float), np.eye(3).ravel(), rgba
    )
    scene.ngeom += 1
    return geom


def add_arrow(scene: Any, start: np.ndarray, end: np.ndarray, rgba: np.ndarray) -> None:
    import mujoco

    geom = add_geom(scene, mujoco.mjtGeom.mjGEOM_ARROW, (0.05, 0.05, 0.5), start, rgba)
    if geom is not None:
        mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_ARROW, 0.05, start, end)


def _torso(data: Any) -> np.ndarray:
    """World position of the root body (body 1: the torso of every Gymnasium body)."""
    return np.array(data.xpos[1], dtype=np.float64)


def target_marker(scene: Any, data: Any, goal: np.ndarray) -> None:
    """AntGoal: a pole and a flat disc at the goal position on the floor."""
    import mujoco

    x, y = float(goal[0]), float(goal[1])
    add_geom(scene, mujoco.mjtGeom.mjGEOM_CYLINDER, (0.3, 0.005, 0), (x, y, 0.005), RED)
    add_geom(scene, mujoco.mjtGeom.mjGEOM_CYLINDER, (0.03, 0.5, 0), (x, y, 0.5), RED)


def planar_arrow(scene: Any, data: Any, goal: np.ndarray) -> None:
    """AntDir: an arrow above the torso pointing along the goal angle."""
    start = _torso(data) + (0.0, 0.0, 0.6)
    angle = float(goal)
    add_arrow(scene, start, start + (np.cos(angle), np.sin(angle), 0.0), GREEN)


def sign_arrow(scene: Any, data: Any, goal: np.ndarray) -> None:
    """HalfCheetahDir: an arrow above the body pointing forward (+1) or backward (-1)."""
    start = _torso(data) + (0.0, 0.0, 0.6)
    add_arrow(scene, start, start + (0.8 * float(np.sign(goal)), 0.0, 0.0), GREEN)


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


_BY_TASK: dict[str, GoalArt] = {
    "pbml/AntGoal-v0": GoalArt(target_marker, lambda g: f"goal ({g[0]:.1f}, {g[1]:.1f})"),
    "pbml/AntDir-v0": GoalArt(planar_arrow, lambda g: f"heading {np.degrees(float(g)):.0f} deg"),
    "pbml/HalfCheetahDir-v0": GoalArt(
        sign_arrow, lambda g: "run forward" if float(g) > 0 else "run backward"
    ),
}
_BY_GOAL_TERM: dict[str, GoalArt] = {
    "reward_velocity": GoalArt(no_markers, lambda g: f"target {float(g):.2f} m/s", velocity=True),
}


def goal_art(task_id: str) -> GoalArt:
    """The art for a task: by id, else by the kind of its goal term, else a plain caption."""
    import pbml_envs

    if task_id in _BY_TASK:
        return _BY_TASK[task_id]
    term = pbml_envs.task_spec(task_id).goal_reward_key if task_id in pbml_envs.TASK_IDS else ""
    return _BY_GOAL_TERM.get(term, GoalArt(no_markers, _fmt_goal))


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
