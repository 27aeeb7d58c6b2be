"""The fast rollout path (pbml_envs.fast + rollout.fast_engine) against the Gymnasium reference.

The fast path must be invisible: the same observations, rewards, reward parts and terminations as
`gymnasium.make` on the same actions and reset seed, and the same rollout results (bit for bit)
as the engine's plain Gymnasium loop, on any pool and worker count.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import pbml_envs
import pbml_policies
import pytest
from pbml_envs.fast import has_fast_path, make_fast_task
from pbml_envs.mujoco_log import quiet_settotalmass

from pbml_control.rollout import EnvSpec, EvalBatch, make_pool
from pbml_control.rollout.engine import EnvCache, run_chunk
from tests.core.test_rollout_pool import same_results

GOALS = {
    "pbml/HalfCheetahVel-v0": [0.5, 2.5, 1.0],
    "pbml/HalfCheetahDir-v0": [1.0, -1.0, 1.0],
    "pbml/AntDir-v0": [0.3, 2.0, 4.5],
    "pbml/AntGoal-v0": [[1.0, 1.0], [0.0, 2.0], [-1.5, 0.5]],
}


def _compare_steps(task_id: str, kwargs: dict, steps: int, scale: float) -> int:
    """Step the fast path and `gymnasium.make` envs side by side; return the steps compared."""
    goals = GOALS[task_id]
    fast = make_fast_task(task_id, kwargs, len(goals))
    with quiet_settotalmass():
        refs = [gymnasium.make(task_id, **kwargs) for _ in goals]
    seeds = [7, 8, 9]
    obs = fast.reset(seeds, np.asarray(goals, dtype=np.float64))
    for j, env in enumerate(refs):
        ref_obs, _ = env.reset(seed=seeds[j], options={"goal": goals[j]})
        np.testing.assert_array_equal(obs[j], ref_obs)
    rng = np.random.default_rng(0)
    active, compared = np.ones(len(goals), dtype=bool), 0
    for _ in range(steps):
        actions = scale * rng.uniform(-1.0, 1.0, size=(len(goals), fast.action_low.size))
        out = fast.step(actions, np.flatnonzero(active).tolist())
        for j in np.flatnonzero(active):
            ref_obs, reward, terminated, truncated, info = refs[j].step(actions[j])
            np.testing.assert_array_equal(out.obs[j], ref_obs)
            assert out.reward[j] == reward and bool(out.terminated[j]) == terminated
            assert {k: v[j] for k, v in out.parts.items()} == {
                k: v for k, v in info.items() if k.startswith("reward_")
            }
            active[j] = not (terminated or truncated)
            compared += 1
    return compared


@pytest.mark.parametrize("task_id", sorted(GOALS))
def test_fast_path_equals_gymnasium_make_step_for_step(task_id):
    # Large random actions make the Ants fall, so termination is compared too.
    assert _compare_steps(task_id, {}, steps=120, scale=1.0) > 120


def test_fast_path_equals_gymnasium_with_goal_in_obs_and_custom_costs():
    kwargs = {"goal_in_obs": True, "ctrl_cost_weight": 0.3, "healthy_z_range": (0.3, 1.0)}
    assert _compare_steps("pbml/AntDir-v0", kwargs, steps=60, scale=0.5) > 60


def test_tasks_without_a_fast_path_run_through_gymnasium():
    assert not has_fast_path("pbml/HopperVel-v0")
    assert not has_fast_path("pbml/HalfCheetahVel-v0", {"render_mode": "rgb_array"})
    assert not has_fast_path("HalfCheetah-v5")
    assert has_fast_path("pbml/AntGoal-v0", {"max_episode_steps": 10, "goal": [1.0, 0.0]})
    batch = _batch("pbml/HopperVel-v0", n=2, steps=20, obs_dim=11, act_dim=3)
    cache = EnvCache()
    results = run_chunk(batch.chunk(0, 2), cache)
    assert cache.fast_task(batch.env, 2) is None and len(results) == 2
    assert all(r.steps > 0 for r in results)


def _batch(task_id, n, steps, obs_dim, act_dim, sigma=0.0, episodes=2) -> EvalBatch:
    policy = pbml_policies.make_policy("mlp", obs_dim, act_dim, hidden=[16])
    rng = np.random.default_rng(1)
    params = np.stack([policy.init_flat(rng) for _ in range(n)])
    params += sigma * rng.standard_normal(params.shape).astype(np.float32)
    stats = pbml_policies.RunningStats.zeros(obs_dim)
    stats.update(rng.normal(size=(40, obs_dim)))
    return EvalBatch(
        env=EnvSpec.of(task_id, max_episode_steps=steps),
        policy=policy.to_dict(),
        params=params,
        goals=pbml_envs.sample_goals(task_id, rng, n),
        seeds=np.arange(n, dtype=np.int64) + 5,
        episodes=episodes,
        obs_stats=stats.to_arrays(),
        collect_obs_stats=True,
    )


@pytest.mark.parametrize(
    "task_id,obs_dim,act_dim",
    [("pbml/HalfCheetahVel-v0", 17, 6), ("pbml/AntDir-v0", 105, 8)],
)
def test_fast_chunks_equal_gymnasium_chunks_bit_for_bit(task_id, obs_dim, act_dim):
    # sigma 0.5 gives strong actions: some Ants fall (terminate) at different steps.
    batch = _batch(task_id, n=5, steps=80, obs_dim=obs_dim, act_dim=act_dim, sigma=0.5)
    batch.params[3] = np.nan  # a failed job on both paths
    fast_cache, gym_cache = EnvCache(), EnvCache(fast=False)
    fast = run_chunk(batch.chunk(0, 5), fast_cache)
    reference = run_chunk(batch.chunk(0, 5), gym_cache)
    assert fast_cache.fast_task(batch.env, 5) is not None
    same_results(fast, reference)
    assert fast[3].failed and fast[3].failure == "non-finite action"
    assert [r.failed for r in fast] == [False, False, False, True, False]
    if task_id == "pbml/AntDir-v0":
        assert any(r.steps < 160 for r in fast)  # termination was exercised
    # A second generation on the cached simulations is the same again.
    same_results(run_chunk(batch.chunk(0, 5), fast_cache), reference)


def test_fast_ant_results_do_not_depend_on_pool_or_workers():
    batch = _batch("pbml/AntDir-v0", n=6, steps=40, obs_dim=105, act_dim=8, sigma=0.3)
    with make_pool("serial", chunk_size=6) as pool:
        reference = pool.evaluate(batch)
    with make_pool("process", workers=2, chunk_size=2) as pool:
        same_results(pool.evaluate(batch), reference)


def test_unstable_physics_is_reported_on_both_simulators():
    for task_id in ("pbml/HalfCheetahVel-v0", "pbml/AntDir-v0"):  # mujoco.batch and MjData loop
        task = make_fast_task(task_id, {}, 2)
        task.reset([1, 2], None)
        if hasattr(task.sim, "datas"):
            task.sim.datas[1].qvel[:] = 1e12
        else:
            task.sim.qvel[1] = 1e12  # a view of the batch's state rows
        task.step(np.zeros((2, task.action_low.size)), [0, 1])  # MuJoCo flags it, resets it
        assert task.unstable(0) == "" and task.unstable(1) == "unstable physics (mjWARN_BADQVEL)"
        task.reset([1, 2], None)
        assert task.unstable(1) == ""  # a new episode starts clean


def test_quiet_settotalmass_drops_only_that_warning(capfd):
    import mujoco

    with quiet_settotalmass():
        env = gymnasium.make("HalfCheetah-v5").unwrapped
        env.data.qvel[:] = 1e12
        mujoco.mj_step(env.model, env.data)  # a different warning: it must still be shown
    captured = capfd.readouterr()
    assert "settotalmass" not in captured.out + captured.err
    assert "huge value in QVEL" in captured.err
    assert mujoco.get_mju_user_warning() is None  # the default handler is back
