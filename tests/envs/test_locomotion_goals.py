"""Goal sampling, train/test splits, goal validation and the task table (no physics)."""

from __future__ import annotations

import math
import warnings

import gymnasium
import numpy as np
import pbml_envs
import pytest
from pbml_envs.goals import BandSplit, InvalidGoalError

N = 4000


@pytest.mark.parametrize("task_id", pbml_envs.TASK_IDS)
@pytest.mark.parametrize("split", ["train", "test"])
def test_sampled_goals_have_the_task_shape_and_lie_in_range(task_id: str, split: str) -> None:
    spec = pbml_envs.task_spec(task_id)
    goals = pbml_envs.sample_goals(task_id, np.random.default_rng(0), N, split)
    assert goals.shape == (N, *spec.goal_shape) and goals.dtype == np.float64
    assert spec.goal_space.contains(goals).all()
    for goal in goals[:50]:
        pbml_envs.validate_goal(task_id, goal)


@pytest.mark.parametrize("task_id", pbml_envs.TASK_IDS)
def test_train_and_test_splits_are_disjoint(task_id: str) -> None:
    space = pbml_envs.task_spec(task_id).goal_space
    train = pbml_envs.sample_goals(task_id, np.random.default_rng(1), N, "train")
    test = pbml_envs.sample_goals(task_id, np.random.default_rng(2), N, "test")
    if not space.held_out:  # HalfCheetahDir: two goals, nothing to hold out
        assert set(np.unique(train)) == set(np.unique(test)) == {-1.0, 1.0}
        return
    assert not space.is_test(train).any()
    assert space.is_test(test).all()


@pytest.mark.parametrize("task_id", pbml_envs.TASK_IDS)
def test_sampling_is_reproducible_from_the_generator(task_id: str) -> None:
    first = pbml_envs.sample_goals(task_id, np.random.default_rng(7), 10)
    again = pbml_envs.sample_goals(task_id, np.random.default_rng(7), 10)
    np.testing.assert_array_equal(first, again)
    assert pbml_envs.sample_goals(task_id, np.random.default_rng(7), 0).shape[0] == 0


def test_velocity_splits_interleave_over_the_whole_range() -> None:
    rng = np.random.default_rng(3)
    train = pbml_envs.sample_goals("pbml/HalfCheetahVel-v0", rng, N, "train")
    test = pbml_envs.sample_goals("pbml/HalfCheetahVel-v0", rng, N, "test")
    assert train.min() < 0.05 and train.max() > 2.95
    counts = np.histogram(test, bins=[0.25, 0.5, 1.25, 1.5, 2.25, 2.5])[0]
    assert counts[0] > 0 and counts[2] > 0 and counts[4] > 0
    assert counts.sum() == N  # every test goal in a held-out band
    assert abs(train.mean() - 1.5) < 0.1  # the split removes bands evenly


def test_goal_positions_are_uniform_over_the_disc_area() -> None:
    goals = pbml_envs.sample_goals("pbml/AntGoal-v0", np.random.default_rng(4), N, "train")
    radius = np.linalg.norm(goals, axis=1)
    assert radius.max() <= 3.0
    assert abs(np.mean(radius < 1.5) - 0.25) < 0.03  # area-uniform, not radius-uniform


def test_band_split_rejects_a_bad_band() -> None:
    with pytest.raises(ValueError):
        BandSplit(0.0, 1.0, 2, test_band=(0.6, 0.2))


def test_a_bad_split_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'validation'.*'train', 'test'"):
        pbml_envs.sample_goals("pbml/AntDir-v0", np.random.default_rng(0), 3, "validation")


BAD_GOALS = [
    (
        "pbml/HalfCheetahVel-v0",
        101.0,
        r"not a valid goal; expected .*finite float with \|goal\| <= 100",
    ),
    ("pbml/HalfCheetahVel-v0", -1e9, r"not a valid goal"),
    ("pbml/HalfCheetahVel-v0", [1.0, 2.0], r"shape \(2,\), not \(\)"),
    ("pbml/HalfCheetahVel-v0", math.nan, r"not finite"),
    ("pbml/HalfCheetahVel-v0", "fast", r"not numeric"),
    ("pbml/HalfCheetahDir-v0", 0.5, r"not a valid goal; expected a direction, -1.0 or \+1.0"),
    ("pbml/HalfCheetahDir-v0", 2.0, r"not a valid goal"),
    ("pbml/AntDir-v0", math.inf, r"not finite"),
    ("pbml/AntGoal-v0", (100.0, 2.5), r"not a valid goal; expected .*norm <= 100"),
    ("pbml/AntGoal-v0", 1.0, r"shape \(\), not \(2,\)"),
    ("pbml/AntGoal-v0", (math.nan, 0.0), r"not finite"),
    ("pbml/SwimmerVel-v0", -200.0, r"<= 100"),
]


@pytest.mark.parametrize(("task_id", "goal", "message"), BAD_GOALS)
def test_a_bad_goal_names_the_task_and_the_accepted_range(
    task_id: str, goal: object, message: str
) -> None:
    with pytest.raises(InvalidGoalError, match=message) as caught:
        pbml_envs.validate_goal(task_id, goal)
    assert str(caught.value).startswith(task_id + ": goal")
    assert isinstance(caught.value, ValueError)


def test_valid_goals_come_back_as_float64_arrays() -> None:
    goal = pbml_envs.validate_goal("pbml/AntGoal-v0", [1, -2])
    assert goal.dtype == np.float64 and goal.shape == (2,)
    assert pbml_envs.validate_goal("pbml/HalfCheetahVel-v0", 3).shape == ()
    assert pbml_envs.validate_goal("pbml/HalfCheetahVel-v0", [2.5]).shape == ()  # TOML-style list
    assert pbml_envs.validate_goal("pbml/HalfCheetahDir-v0", -1) == -1.0


def test_an_unknown_task_lists_the_known_ids() -> None:
    with pytest.raises(pbml_envs.UnknownTaskError, match="pbml/HalfCheetahVel-v0, ") as caught:
        pbml_envs.task_spec("pbml/HalfCheetahVel-v9")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, gymnasium.error.UnregisteredEnv)
    with pytest.raises(pbml_envs.UnknownTaskError):
        pbml_envs.sample_goals("HalfCheetah-v5", np.random.default_rng(0), 1)


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_task_specs_are_registered_versioned_and_consistent(task_id: str) -> None:
    spec = pbml_envs.task_spec(task_id)
    assert spec.id == task_id and task_id.startswith("pbml/") and task_id.endswith("-v0")
    assert gymnasium.spec(task_id).max_episode_steps == pbml_envs.EPISODE_STEPS == 200
    assert gymnasium.spec(task_id).entry_point == spec.entry_point
    assert spec.body in spec.description and spec.reward and spec.split
    assert spec.default_goal.shape == spec.goal_shape
    assert not spec.goal_space.is_test(spec.default_goal)  # the default goal is a train goal


@pytest.mark.parametrize(
    ("task_id", "goal"),
    [
        ("pbml/HalfCheetahVel-v0", 3.5),
        ("pbml/HalfCheetahVel-v0", -1.0),
        ("pbml/SwimmerVel-v0", 1.0),
        ("pbml/AntGoal-v0", (4.0, -3.0)),
    ],
)
def test_valid_goals_outside_the_distribution_are_accepted(task_id: str, goal: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbml_envs.GoalOutsideDistribution)
        np.testing.assert_array_equal(pbml_envs.validate_goal(task_id, goal), goal)
    assert not pbml_envs.in_distribution(task_id, goal)


def test_a_goal_outside_the_distribution_is_noted_once_in_one_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            pbml_envs.validate_goal("pbml/HalfCheetahVel-v0", 3.75)
        pbml_envs.validate_goal("pbml/HalfCheetahVel-v0", 2.0)  # inside: no note
    assert len(caught) == 1 and caught[0].category is pbml_envs.GoalOutsideDistribution
    message = str(caught[0].message)
    assert "\n" not in message
    assert message.startswith("pbml/HalfCheetahVel-v0: goal 3.75 is outside the training")
    assert "[0, 3]" in message


@pytest.mark.parametrize(
    ("angle", "wrapped"),
    [(-0.5, 2 * math.pi - 0.5), (2 * math.pi, 0.0), (4 * math.pi + 1.0, 1.0), (-1e-300, 0.0)],
)
def test_angles_are_wrapped_into_0_to_2pi(angle: float, wrapped: float) -> None:
    goal = pbml_envs.validate_goal("pbml/AntDir-v0", angle)
    assert goal == pytest.approx(wrapped, abs=1e-12) and 0.0 <= goal < 2 * math.pi
    assert pbml_envs.in_distribution("pbml/AntDir-v0", angle)  # every direction is trained on


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_goals_in_the_distribution_are_unchanged_bit_for_bit(task_id: str) -> None:
    """Wrapping changes no in-range goal, so rewards and goal features of existing runs stay."""
    space = pbml_envs.task_spec(task_id).goal_space
    goals = pbml_envs.sample_goals(task_id, np.random.default_rng(5), 200)
    edges = [space.low, space.high, np.nextafter(2 * math.pi, 0.0)]
    edges = [e for e in edges if np.shape(e) == space.shape and space.contains(np.asarray(e))]
    edges = [e for e in edges if task_id != "pbml/AntDir-v0" or e < 2 * math.pi]
    for goal in [*goals, *edges]:
        valid = pbml_envs.validate_goal(task_id, goal)
        assert valid.tobytes() == np.asarray(goal, dtype=np.float64).tobytes()
        assert space.features(valid).tobytes() == space.features(np.asarray(goal)).tobytes()


def test_an_env_accepts_a_goal_outside_the_distribution() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbml_envs.GoalOutsideDistribution)
        env = pbml_envs.make_env("pbml/AntDir-v0", goal=-0.5, goal_in_obs=True)
        obs, info = env.reset(seed=0)
        assert info["goal"] == pytest.approx(2 * math.pi - 0.5)
        np.testing.assert_allclose(obs[-2:], [math.cos(-0.5), math.sin(-0.5)], atol=1e-12)
        _, info = env.reset(options={"goal": 3.5 * math.pi})
        assert info["goal"] == pytest.approx(1.5 * math.pi)
