"""The public goal-task registry: user tasks next to built-in ones, entry points loaded lazily,
and ids that name a module never import it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium
import pbml_envs
import pytest
from pbml_envs.goals import DiscGoals

from tests.helpers import user_task

ROOT = Path(__file__).resolve().parents[2]


def test_the_user_task_is_registered_like_a_built_in() -> None:
    ids = pbml_envs.task_ids()
    assert ids[: len(pbml_envs.BUILTIN_TASK_IDS)] == pbml_envs.BUILTIN_TASK_IDS
    assert user_task.TASK_ID in ids and user_task.TASK_ID in pbml_envs.TASK_IDS
    assert list(pbml_envs.TASK_IDS) == list(ids) and len(pbml_envs.TASK_IDS) == len(ids)
    assert pbml_envs.is_goal_task(user_task.TASK_ID)
    spec = pbml_envs.task_spec(user_task.TASK_ID)
    assert spec.goal_shape == (2,) and spec.goal_reward_key == "reward_dist"
    assert gymnasium.spec(user_task.TASK_ID).max_episode_steps == 50
    assert not pbml_envs.is_goal_task("HalfCheetah-v5")  # Gymnasium's own: no goal


def test_registering_an_id_again_with_another_entry_point_is_refused() -> None:
    spec = pbml_envs.task_spec(user_task.TASK_ID)
    with pytest.raises(ValueError, match="already registered"):
        pbml_envs.register_goal_task(
            user_task.TASK_ID,
            entry_point="elsewhere:Env",
            goal_space=DiscGoals(0.2),
            default_goal=(0.0, 0.0),
            goal_reward_key="reward_dist",
        )
    assert pbml_envs.task_spec(user_task.TASK_ID) is spec


def test_a_bad_default_goal_is_refused_at_registration() -> None:
    with pytest.raises(pbml_envs.InvalidGoalError, match="pbml_test/Broken-v0"):
        pbml_envs.register_goal_task(
            "pbml_test/Broken-v0",
            entry_point=user_task.ReacherTargetEnv,
            goal_space=DiscGoals(0.2, limit=0.27),
            default_goal=(1.0, 0.0),
            goal_reward_key="reward_dist",
        )
    assert not pbml_envs.is_goal_task("pbml_test/Broken-v0")


def test_a_module_id_is_a_goal_task_only_once_its_module_is_imported() -> None:
    assert pbml_envs.is_goal_task(f"tests.helpers.user_task:{user_task.TASK_ID}")
    assert not pbml_envs.is_goal_task("pbml_never_imported_module:pbml/HalfCheetahVel-v0")
    assert "pbml_never_imported_module" not in sys.modules


ENTRY_MODULE = '''
import sys
from pathlib import Path

import pbml_envs
from pbml_envs.goals import IntervalGoals
from pbml_envs.locomotion.half_cheetah import HalfCheetahVelEnv
from pbml_envs.rewards import velocity_term

Path(sys.argv[1]).write_text("imported")


@pbml_envs.goal_task(
    "cheetah_pkg/HalfCheetahFast-v0",
    goal_space=IntervalGoals(0.0, 6.0, 3, "a target velocity in m/s", limit=100.0),
    default_goal=4.0,
    goal_reward_key="reward_velocity",
    goal_term=velocity_term,
)
class HalfCheetahFastEnv(HalfCheetahVelEnv):
    """HalfCheetahVel trained on faster targets: a package's task reusing a built-in env."""
'''

PROBE = """
import sys
import pbml_envs
marker = __import__("pathlib").Path(sys.argv[1])
assert not marker.exists(), "imported by import pbml_envs"
assert pbml_envs.is_goal_task("pbml/HalfCheetahVel-v0") and not marker.exists()
assert pbml_envs.is_goal_task("cheetah_pkg/HalfCheetahFast-v0") and marker.exists()
env = pbml_envs.make_env("cheetah_pkg/HalfCheetahFast-v0")
_, info = env.reset(seed=0)
_, reward, _, _, step_info = env.step(env.action_space.sample())
assert step_info["reward_velocity"] == -abs(step_info["x_velocity"] - 4.0)
task = env.unwrapped.task_id
print(task, float(info["goal"]), pbml_envs.in_distribution(task, 5))
try:
    pbml_envs.task_spec("pbml/Nothing-v0")
except pbml_envs.UnknownTaskError as err:
    print(err)
"""


def _package(site: Path, entry: str, module_text: str) -> None:
    (site / "cheetah_pkg").mkdir(parents=True)
    (site / "cheetah_pkg" / "__init__.py").write_text(textwrap.dedent(module_text))
    info = site / "cheetah_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cheetah_pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pbml_control.tasks]\n{entry}\n")


def _probe(site: Path, marker: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(marker)],
        env=env,
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_entry_point_package_is_imported_only_when_an_unknown_id_is_looked_up(tmp_path):
    site = tmp_path / "site"
    _package(site, "fast = cheetah_pkg", ENTRY_MODULE)
    done = _probe(site, tmp_path / "marker")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "cheetah_pkg/HalfCheetahFast-v0 4.0 True"
    assert "cheetah_pkg/HalfCheetahFast-v0" in lines[1]  # the known ids include the package's


def test_a_broken_entry_point_is_named_when_its_task_is_missing(tmp_path):
    site = tmp_path / "site"
    _package(
        site, "broken = cheetah_pkg:register", "def register():\n    raise RuntimeError('boom')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    code = "import pbml_envs\npbml_envs.task_spec('cheetah_pkg/HalfCheetahFast-v0')"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "UnknownTaskError" in done.stderr and "broken = cheetah_pkg:register" in done.stderr
    assert "boom" in done.stderr
    assert "RuntimeWarning: pbml_control.tasks entry point failed to load" in done.stderr
