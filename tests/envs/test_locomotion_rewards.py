"""The pure reward terms: vectorised, equal to the tasks' `info`, and right in sign and size.

Each body is driven at a known velocity or put at a known position (qpos/qvel set directly, zero
action), so the goal term's expected value is known in advance.
"""

from __future__ import annotations

import math

import numpy as np
import pbml_envs
import pytest
from pbml_envs import rewards


def _drive(task_id: str, goal: object, qpos_head=(), qvel_head=()) -> dict:
    """Set the body's leading qpos/qvel entries, take one zero-action step, return `info`."""
    env = pbml_envs.make_env(task_id, goal=goal).unwrapped
    env.reset(seed=0)
    qpos, qvel = env.init_qpos.copy(), np.zeros(env.model.nv)
    qpos[: len(qpos_head)] = qpos_head
    qvel[: len(qvel_head)] = qvel_head
    env.set_state(qpos, qvel)
    return env.step(np.zeros(env.action_space.shape))[4]


@pytest.mark.parametrize(
    "task_id", ["pbml/HalfCheetahVel-v0", "pbml/HopperVel-v0", "pbml/Walker2dVel-v0"]
)
@pytest.mark.parametrize(("goal", "expected"), [(2.0, 0.0), (0.5, -1.5), (3.0, -1.0)])
def test_velocity_term_is_minus_the_speed_error(task_id: str, goal: float, expected: float) -> None:
    info = _drive(task_id, goal, qvel_head=[2.0])
    assert info["x_velocity"] == pytest.approx(2.0, abs=0.02)
    assert info["reward_velocity"] == pytest.approx(expected, abs=0.02)


def test_swimmer_velocity_term() -> None:
    info = _drive("pbml/SwimmerVel-v0", 0.3, qvel_head=[0.2])
    assert info["reward_velocity"] == pytest.approx(-0.1, abs=0.01)


@pytest.mark.parametrize(("goal", "sign"), [(1.0, 1.0), (-1.0, -1.0)])
def test_direction_term_rewards_running_the_right_way(goal: float, sign: float) -> None:
    info = _drive("pbml/HalfCheetahDir-v0", goal, qvel_head=[2.0])
    assert info["reward_direction"] == pytest.approx(sign * 2.0, abs=0.02)


@pytest.mark.parametrize(
    ("angle", "expected"),
    [(0.0, 1.0), (math.pi / 2, -0.5), (math.pi, -1.0), (3 * math.pi / 2, 0.5)],
)
def test_ant_direction_term_projects_the_planar_velocity(angle: float, expected: float) -> None:
    info = _drive("pbml/AntDir-v0", angle, qvel_head=[1.0, -0.5])
    assert info["reward_direction"] == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize(("goal", "distance"), [((1.0, 1.0), 0.0), ((-2.0, 1.0), 3.0)])
def test_ant_goal_term_is_minus_the_distance(goal: tuple, distance: float) -> None:
    info = _drive("pbml/AntGoal-v0", goal, qpos_head=[1.0, 1.0])
    assert info["reward_goal"] == pytest.approx(-distance, abs=0.02)


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_changing_the_goal_changes_only_the_goal_term(task_id: str) -> None:
    goal_a, goal_b = pbml_envs.sample_goals(task_id, np.random.default_rng(5), 2)
    steps = [_random_steps(task_id, goal, seed=11) for goal in (goal_a, goal_b)]
    for (reward_a, info_a), (reward_b, info_b) in zip(*steps, strict=True):
        assert info_a["x_velocity"] == info_b["x_velocity"]  # same physics
        term = _goal_term_from_info(task_id, info_a["goal"], info_a)
        term_b = _goal_term_from_info(task_id, info_b["goal"], info_b)
        assert reward_a - reward_b == pytest.approx(term - term_b, abs=1e-9)


def _random_steps(task_id: str, goal: np.ndarray, seed: int) -> list[tuple[float, dict]]:
    env = pbml_envs.make_env(task_id, goal=goal)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return [env.step(env.action_space.sample())[1::3] for _ in range(20)]


def _goal_term_from_info(task_id: str, goal: np.ndarray, info: dict) -> float:
    """The goal term recomputed with the pure functions from the quantities in `info`."""
    return pbml_envs.task_spec(task_id).goal_term(info, goal)


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_pure_terms_reproduce_the_task_info_exactly(task_id: str) -> None:
    env = pbml_envs.make_env(task_id).unwrapped
    env.reset(seed=2)
    env.action_space.seed(2)
    for _ in range(30):
        action = env.action_space.sample()
        info = env.step(action)[4]
        assert info[env.task.goal_reward_key] == _goal_term_from_info(task_id, env.goal, info)
        ctrl = rewards.control_cost(action, env._ctrl_cost_weight)
        assert info["reward_ctrl"] == pytest.approx(-ctrl, rel=1e-6)
        if "reward_contact" in info:
            contact = rewards.contact_cost(env.data.cfrc_ext, env._contact_cost_weight)
            assert info["reward_contact"] == pytest.approx(-contact, rel=1e-12)
            healthy = rewards.is_healthy_z(env.data.qpos, env.data.qvel, env._healthy_z_range)
            assert info["reward_survive"] == float(healthy)


def test_pure_terms_broadcast_over_a_batch() -> None:
    rng = np.random.default_rng(0)
    velocity, xy = rng.normal(size=(5,)), rng.normal(size=(5, 2))
    assert rewards.velocity_reward(velocity, 1.0).shape == (5,)
    assert rewards.direction_reward(velocity, np.array([1, -1, 1, -1, 1])).shape == (5,)
    angles = rng.uniform(0, 2 * np.pi, size=5)
    batched = rewards.planar_direction_reward(xy, angles)
    assert batched[3] == rewards.planar_direction_reward(xy[3], angles[3])
    assert rewards.goal_distance_reward(xy, np.zeros(2)).shape == (5,)
    np.testing.assert_allclose(rewards.goal_distance_reward(xy, xy), 0.0)
    assert rewards.control_cost(rng.normal(size=(5, 8)), 0.5).shape == (5,)
    assert rewards.contact_cost(rng.normal(size=(5, 14, 6)), 5e-4).shape == (5,)
    qpos = np.tile([0, 0, 0.5], (5, 1))
    qpos[1, 2], qpos[2, 0] = 1.5, np.nan
    healthy = rewards.is_healthy_z(qpos, np.zeros((5, 3)), (0.2, 1.0))
    assert healthy.tolist() == [True, False, False, True, True]


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_task_goal_terms_broadcast_over_a_batch_of_states_and_goals(task_id: str) -> None:
    spec = pbml_envs.task_spec(task_id)
    goals = pbml_envs.sample_goals(task_id, np.random.default_rng(0), 6)
    quantities = {
        key: np.random.default_rng(1).normal(size=6)
        for key in ("x_velocity", "y_velocity", "x_position", "y_position")
    }
    batched = spec.goal_term(quantities, goals)
    assert batched.shape == (6,)
    for i in range(6):
        single = {key: value[i] for key, value in quantities.items()}
        assert batched[i] == pytest.approx(spec.goal_term(single, goals[i]), abs=1e-12)
