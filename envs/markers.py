"""Goal markers drawn into a MuJoCo scene, for the built-in tasks' videos.

Where a goal has a place in the world it is drawn there: a red pole at an AntGoal target, a green
arrow over the body for a running direction. A task declares its markers in its `TaskSpec`
(`goal_markers`), so `pbml record` draws a user task's goal the same way. A target velocity has
no place in the world, so it gets a pacer: a green pole that moves forward at the target speed
from where the episode started; a body at the target velocity keeps level with it. Importing
this module does not import MuJoCo; drawing does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RED = np.array([0.9, 0.15, 0.1, 0.8])
GREEN = np.array([0.1, 0.8, 0.2, 0.9])
ORANGE = np.array([1.0, 0.55, 0.0, 0.9])
#: Metres of arrow per m/s in the velocity gauge.
GAUGE_SCALE = 0.3


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


def velocity_pacer(scene: Any, data: Any, goal: np.ndarray) -> None:
    """HalfCheetahVel, HopperVel, Walker2dVel: the target speed, shown twice.

    - A pacer: a green pole at x = goal * t (t the simulated time since reset), just behind the
      body's plane as the `track` camera sees it; a body at the target speed stays level with it.
    - A gauge above the body, always in view: a green arrow as long as the target velocity and
      an orange one as long as the body's forward velocity (`GAUGE_SCALE` m per m/s).
    """
    import mujoco

    target = float(np.atleast_1d(goal)[0])
    x = target * float(data.time)
    add_geom(scene, mujoco.mjtGeom.mjGEOM_CYLINDER, (0.03, 0.45, 0), (x, 0.6, 0.45), GREEN)
    add_geom(scene, mujoco.mjtGeom.mjGEOM_BOX, (0.05, 0.5, 0.005), (x, 0.1, 0.005), GREEN)
    start = _torso(data) + (0.0, 0.0, 0.7)
    for speed, height, rgba in ((target, 0.0, GREEN), (float(data.qvel[0]), 0.12, ORANGE)):
        if abs(speed) * GAUGE_SCALE > 1e-3:
            base = start + (0.0, 0.0, height)
            add_arrow(scene, base, base + (GAUGE_SCALE * speed, 0.0, 0.0), rgba)


def sign_arrow(scene: Any, data: Any, goal: np.ndarray) -> None:
    """HalfCheetahDir: an arrow above the body pointing forward (+1) or backward (-1)."""
    start = _torso(data) + (0.0, 0.0, 0.6)
    add_arrow(scene, start, start + (0.8 * float(np.sign(goal)), 0.0, 0.0), GREEN)


def marker_geoms(markers: Any, model: Any, data: Any, goal: np.ndarray) -> list[dict[str, Any]]:
    """The geoms `markers` draws, as Gymnasium marker dicts (`viewer.add_marker(**geom)`).

    Why: Gymnasium's renderer takes markers as dicts, not a drawing callback. Drawing into a
    scratch scene and reading the geoms back lets `render_mode="rgb_array"` show exactly what
    `pbml record` draws, with one drawing function per task.
    """
    import mujoco

    scene = mujoco.MjvScene(model, maxgeom=16)
    markers(scene, data, goal)
    geoms = (scene.geoms[i] for i in range(scene.ngeom))
    return [
        {
            "type": int(g.type),
            "size": np.array(g.size),
            "pos": np.array(g.pos),
            "mat": np.array(g.mat).ravel(),
            "rgba": np.array(g.rgba),
        }
        for g in geoms
    ]
