"""Every registered goal task (the built-in `pbml/` ones and the test suite's user task): Gymnasium
API and determinism; the built-in ones: reward parts, goals in observations, rendering."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pbml_envs
import pytest
from gymnasium.utils.env_checker import check_env

STEPS = 300


def _rollout(env: gymnasium.Env, seed: int, steps: int) -> list[tuple]:
    """(obs, reward, terminated, info) per step under seeded random actions, across resets."""
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    records = [(obs, 0.0, False, {})]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        records.append((obs, reward, terminated, info))
        if terminated or truncated:
            obs, _ = env.reset()
    return records


@pytest.mark.parametrize("task_id", pbml_envs.TASK_IDS)
@pytest.mark.filterwarnings("ignore:.*Box observation space m.*infinity")  # Gymnasium's own spaces
def test_passes_gymnasium_env_checker(task_id: str) -> None:
    env = gymnasium.make(task_id)
    # "human" rendering needs a display; rgb_array rendering is tested below.
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("task_id", pbml_envs.TASK_IDS)
def test_same_seed_and_actions_give_the_same_episode(task_id: str) -> None:
    first = _rollout(pbml_envs.make_env(task_id), seed=3, steps=60)
    again = _rollout(pbml_envs.make_env(task_id), seed=3, steps=60)
    for (obs_a, rew_a, term_a, _), (obs_b, rew_b, term_b, _) in zip(first, again, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert rew_a == rew_b and term_a == term_b


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_reward_parts_sum_to_the_reward_and_info_holds_goal_and_quantities(task_id: str) -> None:
    env = pbml_envs.make_env(task_id)
    for _, reward, _, info in _rollout(env, seed=0, steps=STEPS)[1:]:
        parts = {key: value for key, value in info.items() if key.startswith("reward_")}
        assert len(parts) >= 2 and "reward_forward" not in parts
        assert reward == pytest.approx(sum(parts.values()), abs=1e-9)
        np.testing.assert_array_equal(info["goal"], pbml_envs.task_spec(task_id).default_goal)
        assert "x_velocity" in info and "x_position" in info


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_episodes_last_200_steps_by_default_and_the_length_is_configurable(task_id: str) -> None:
    assert pbml_envs.make_env(task_id).spec.max_episode_steps == 200
    env = pbml_envs.make_env(task_id, max_episode_steps=5)
    env.reset(seed=0)
    ends = [env.step(np.zeros(env.action_space.shape))[2:4] for _ in range(5)]
    assert ends[-1] == (False, True) and not any(any(end) for end in ends[:-1])


def test_entry_point_syntax_imports_the_package() -> None:
    env = gymnasium.make("pbml_envs:pbml/HalfCheetahVel-v0", goal=2.0)
    assert env.unwrapped.goal == 2.0 and env.spec.id == "pbml/HalfCheetahVel-v0"


@pytest.mark.parametrize("task_id", pbml_envs.BUILTIN_TASK_IDS)
def test_goal_is_hidden_unless_goal_in_obs(task_id: str) -> None:
    spec = pbml_envs.task_spec(task_id)
    goal = pbml_envs.sample_goals(task_id, np.random.default_rng(0), 1)[0]
    hidden = pbml_envs.make_env(task_id, goal=goal)
    shown = pbml_envs.make_env(task_id, goal=goal, goal_in_obs=True)
    obs_hidden, _ = hidden.reset(seed=1)
    obs_shown, _ = shown.reset(seed=1)
    features = spec.goal_space.features(goal)
    assert shown.observation_space.shape[0] == obs_hidden.size + features.size
    np.testing.assert_array_equal(obs_shown, np.concatenate([obs_hidden, features]))
    obs_shown, *_ = shown.step(np.zeros(shown.action_space.shape))
    assert shown.observation_space.contains(obs_shown)


def test_angle_goals_appear_as_cos_and_sin() -> None:
    env = pbml_envs.make_env("pbml/AntDir-v0", goal=np.pi / 2, goal_in_obs=True)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[-2:], [0.0, 1.0], atol=1e-12)


def test_reset_option_sets_the_goal_until_the_next_one() -> None:
    env = pbml_envs.make_env("pbml/AntGoal-v0", goal=(1.0, 0.0), goal_in_obs=True)
    obs, info = env.reset(seed=0, options={"goal": (0.0, -2.0)})
    np.testing.assert_array_equal(info["goal"], [0.0, -2.0])
    np.testing.assert_array_equal(obs[-2:], [0.0, -2.0])
    _, info = env.reset()
    np.testing.assert_array_equal(info["goal"], [0.0, -2.0])
    env.unwrapped.set_goal((0.5, 0.5))
    assert env.step(np.zeros(8))[4]["goal"].tolist() == [0.5, 0.5]


def test_a_bad_goal_is_refused_at_construction_reset_and_set_goal() -> None:
    with pytest.raises(pbml_envs.InvalidGoalError, match="pbml/HalfCheetahVel-v0.*<= 100"):
        pbml_envs.make_env("pbml/HalfCheetahVel-v0", goal=400.0)
    with pytest.raises(pbml_envs.InvalidGoalError, match="pbml/HalfCheetahVel-v0"):
        gymnasium.make("pbml/HalfCheetahVel-v0", goal=np.nan)
    env = pbml_envs.make_env("pbml/HalfCheetahDir-v0")
    with pytest.raises(pbml_envs.InvalidGoalError, match="pbml/HalfCheetahDir-v0"):
        env.reset(options={"goal": 0.0})
    with pytest.raises(pbml_envs.InvalidGoalError, match="shape"):
        env.unwrapped.set_goal([1.0, 1.0])


def test_make_env_refuses_an_unknown_task() -> None:
    with pytest.raises(
        pbml_envs.UnknownTaskError, match="registered goal tasks: pbml/HalfCheetahVel-v0"
    ):
        pbml_envs.make_env("pbml/CartPoleVel-v0")


def test_an_env_pickles_with_its_goal_and_options() -> None:
    env = pbml_envs.make_env("pbml/AntGoal-v0", goal=(0.0, 1.0), goal_in_obs=True).unwrapped
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.goal, [0.0, 1.0])
    assert clone.goal_in_obs and clone.observation_space == env.observation_space


@pytest.mark.parametrize("task_id", ["pbml/HalfCheetahVel-v0", "pbml/AntGoal-v0"])
def test_renders_rgb_frames_from_the_track_camera(task_id: str) -> None:
    env = pbml_envs.make_env(task_id, render_mode="rgb_array", width=64, height=48)
    assert env.unwrapped.camera_name == "track"
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    frame = env.render()
    env.close()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 0


def _colour_pixels(frame: np.ndarray, channel: int) -> int:
    """Pixels where one channel dominates: the marker's pure red or green, not the bodies' tan."""
    frame = frame.astype(int)
    others = np.delete(frame, channel, axis=-1)
    return int(((frame[..., channel] > 150) & (others.max(axis=-1) < 110)).sum())


def _first_frame(env: gymnasium.Env) -> np.ndarray:
    env.reset(seed=0)
    env.step(np.zeros(env.action_space.shape))
    assert env.unwrapped.camera_name == "track"
    frame = env.render()
    env.close()
    return frame


@pytest.mark.parametrize(
    ("task_id", "goal", "plain_id", "channel"),
    [
        ("pbml/AntGoal-v0", (1.0, 0.0), "Ant-v5", 0),  # a red pole and disc at the goal
        ("pbml/HalfCheetahDir-v0", -1.0, "HalfCheetah-v5", 1),  # a green arrow over the body
        ("pbml/HalfCheetahVel-v0", 2.0, "HalfCheetah-v5", 1),  # a green pacer and target arrow
        ("pbml/HopperVel-v0", 1.0, "Hopper-v5", 1),
    ],
)
def test_gymnasium_rgb_array_rendering_shows_the_goal_marker(task_id, goal, plain_id, channel):
    """`gymnasium.make(..., render_mode="rgb_array")` (what RecordVideo uses) follows the robot
    with the track camera and draws the goal as `pbml record` does; the plain body has none."""
    size = {"render_mode": "rgb_array", "width": 160, "height": 120}
    marked = _first_frame(gymnasium.make(task_id, goal=goal, **size))
    plain = _first_frame(gymnasium.make(plain_id, camera_name="track", **size))
    assert _colour_pixels(marked, channel) > 20 and _colour_pixels(plain, channel) < 3


def test_gymnasium_record_video_writes_a_video_that_shows_the_goal(tmp_path) -> None:
    """Gymnasium's own `RecordVideo` wrapper (moviepy comes with the [video] extra) on a
    HalfCheetahVel env: an mp4 of the whole episode whose frames are not blank and show the
    target velocity (the green pacer and target arrow) in every frame."""
    import imageio.v3 as iio

    env = pbml_envs.make_env(
        "pbml/HalfCheetahVel-v0", goal=1.5, render_mode="rgb_array", width=320, height=240,
        max_episode_steps=30,
    )  # fmt: skip
    env.action_space.seed(0)
    env = gymnasium.wrappers.RecordVideo(env, str(tmp_path / "videos"), disable_logger=True)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
    (video,) = (tmp_path / "videos").glob("*.mp4")
    frames = iio.imread(video)
    assert frames.shape[0] >= 30 and frames.shape[1:] == (240, 320, 3)
    assert all(frame.std() > 10 for frame in frames)  # not blank
    assert min(_colour_pixels(frame, 1) for frame in frames) > 20  # the goal, in every frame


def test_headless_rendering_defaults_to_egl_and_leaves_a_choice_alone(monkeypatch) -> None:
    from pbml_envs.glfw_library import default_headless_gl

    assert default_headless_gl({}) == "egl"
    chosen = {"MUJOCO_GL": "osmesa"}
    assert default_headless_gl(chosen) is None and chosen == {"MUJOCO_GL": "osmesa"}
    assert default_headless_gl({"DISPLAY": ":0"}) is None


def test_a_headless_script_without_mujoco_gl_renders(tmp_path) -> None:
    """What a user's script meets: no display, no MUJOCO_GL, a fresh interpreter."""
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MUJOCO_GL", "DISPLAY", "PYOPENGL_PLATFORM")
    }
    code = (
        "import pbml_envs\n"
        "env = pbml_envs.make_env('pbml/HalfCheetahVel-v0', render_mode='rgb_array',\n"
        "                         width=64, height=48)\n"
        "env.reset(seed=0)\n"
        "assert env.render().std() > 0\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
