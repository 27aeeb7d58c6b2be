"""Reward terms of the locomotion tasks as pure numpy functions of physical quantities.

Why pure functions: the Gymnasium tasks in `pbml_envs.locomotion` compute their goal terms with
these,
and a fast rollout engine that steps raw `mujoco.MjData` for many genomes at once can compute the
same rewards vectorised, without an env object. Every function broadcasts over leading batch axes
(e.g. `x_velocity` of shape (B,) with `goal` of shape (B,) or ()), and the tests check that they
reproduce the Gymnasium tasks' `info` exactly.

The cost terms mirror Gymnasium's v5 bodies (`HalfCheetahEnv.control_cost`, `AntEnv.contact_cost`,
`AntEnv.is_healthy`); the tasks themselves keep calling Gymnasium's methods, so physics and costs
are reused, not forked.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike


def velocity_reward(x_velocity: ArrayLike, goal: ArrayLike) -> np.ndarray:
    """Target-velocity term: -|v_x - v_goal| (MAML's cheetah-vel); 0 at the target, else < 0."""
    return -np.abs(np.asarray(x_velocity, dtype=np.float64) - goal)


def direction_reward(x_velocity: ArrayLike, direction: ArrayLike) -> np.ndarray:
    """Direction term: direction * v_x, with direction +1 (forward) or -1 (backward)."""
    return np.asarray(direction, dtype=np.float64) * x_velocity


def planar_direction_reward(xy_velocity: ArrayLike, angle: ArrayLike) -> np.ndarray:
    """Planar direction term: the (x, y) velocity projected on the unit vector at `angle`.

    `xy_velocity` has shape (..., 2); `angle` (radians) broadcasts against its leading axes.
    """
    v = np.asarray(xy_velocity, dtype=np.float64)
    return v[..., 0] * np.cos(angle) + v[..., 1] * np.sin(angle)


def goal_distance_reward(xy: ArrayLike, goal: ArrayLike) -> np.ndarray:
    """Goal-position term: minus the Euclidean distance from `xy` (..., 2) to `goal` (..., 2)."""
    return -np.linalg.norm(np.asarray(xy, dtype=np.float64) - goal, axis=-1)


# The sums and clips below call the ufuncs (`np.add.reduce`, `np.maximum`, `np.minimum`) that
# `np.sum` and `np.clip` call, without their Python wrappers: the same arithmetic, and the fast
# rollout engine calls these once per environment step.


def control_cost(action: ArrayLike, weight: float) -> np.ndarray:
    """Quadratic control cost, `weight * sum(action**2)` over the last axis (a cost: >= 0)."""
    return weight * np.add.reduce(np.square(np.asarray(action, dtype=np.float64)), axis=-1)


def clip_forces(cfrc_ext: ArrayLike, force_range: tuple[float, float]) -> np.ndarray:
    """`np.clip(cfrc_ext, *force_range)` as float64: Ant's observed and costed contact forces."""
    forces = np.maximum(np.asarray(cfrc_ext, dtype=np.float64), force_range[0])
    return np.minimum(forces, force_range[1], out=forces)


def contact_cost(
    cfrc_ext: ArrayLike, weight: float, force_range: tuple[float, float] = (-1.0, 1.0)
) -> np.ndarray:
    """Ant's contact cost: `weight * sum(clip(cfrc_ext)**2)` over the last two axes (nbody, 6)."""
    return clipped_contact_cost(clip_forces(cfrc_ext, force_range), weight)


def clipped_contact_cost(forces: np.ndarray, weight: float) -> np.ndarray:
    """`contact_cost` of forces already clipped by `clip_forces`."""
    return weight * np.add.reduce(np.square(forces), axis=(-2, -1))


def is_healthy_z(
    qpos: ArrayLike, qvel: ArrayLike, z_range: tuple[float, float], z_index: int = 2
) -> np.ndarray:
    """Ant's health test: all of the state finite and the torso height within `z_range`.

    `qpos` (..., nq) and `qvel` (..., nv); Ant reads the height at qpos index 2.
    """
    qpos = np.asarray(qpos, dtype=np.float64)
    finite = np.isfinite(qpos).all(axis=-1) & np.isfinite(qvel).all(axis=-1)
    z = qpos[..., z_index]
    return finite & (z_range[0] <= z) & (z <= z_range[1])


# Goal terms of the tasks, reading the physical quantities by their Gymnasium `info` names
# (x_velocity, y_velocity, x_position, y_position). `TaskSpec.goal_term` is one of these, so a
# rollout engine without env objects computes a task's goal term exactly as the task does.
Quantities = Mapping[str, ArrayLike]


def velocity_term(quantities: Quantities, goal: ArrayLike) -> np.ndarray:
    """`velocity_reward` of `x_velocity`."""
    return velocity_reward(quantities["x_velocity"], goal)


def direction_term(quantities: Quantities, goal: ArrayLike) -> np.ndarray:
    """`direction_reward` of `x_velocity`."""
    return direction_reward(quantities["x_velocity"], goal)


def planar_direction_term(quantities: Quantities, goal: ArrayLike) -> np.ndarray:
    """`planar_direction_reward` of (`x_velocity`, `y_velocity`)."""
    xy_velocity = np.stack([quantities["x_velocity"], quantities["y_velocity"]], axis=-1)
    return planar_direction_reward(xy_velocity, goal)


def goal_distance_term(quantities: Quantities, goal: ArrayLike) -> np.ndarray:
    """`goal_distance_reward` of (`x_position`, `y_position`)."""
    xy = np.stack([quantities["x_position"], quantities["y_position"]], axis=-1)
    return goal_distance_reward(xy, goal)
