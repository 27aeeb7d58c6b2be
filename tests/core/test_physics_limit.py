"""The physics limit replays the rollouts' own controls, so it does the rollouts' physics work;
and the allocation-free pieces of the fast step compute what the plain formulas compute."""

from __future__ import annotations

import pickle

import numpy as np
import pbml_policies
import pytest
from pbml_envs import rewards
from pbml_envs.fast import limit

from pbml_control.rollout import EvalBatch
from pbml_control.rollout.actions import scale_actions
from pbml_control.rollout.engine import EnvCache, record_controls, run_chunk
from pbml_control.rollout.fast_engine import ActionScaler
from tests.core.test_fast_engine import _batch as fast_batch

CASES = [("pbml/HalfCheetahVel-v0", 17, 6), ("pbml/AntDir-v0", 105, 8)]


def _batch(task_id: str, obs_dim: int, act_dim: int, steps: int = 60) -> EvalBatch:
    # Strong genomes (sigma 0.5): some Ants fall, so rows drop out of the lockstep steps.
    return fast_batch(task_id, n=4, steps=steps, obs_dim=obs_dim, act_dim=act_dim, sigma=0.5)


@pytest.mark.parametrize("task_id,obs_dim,act_dim", CASES)
@pytest.mark.parametrize("batched", [True, False], ids=["mujoco.batch", "threads"])
def test_the_replay_follows_the_rollout_to_the_same_final_state(
    task_id, obs_dim, act_dim, batched, monkeypatch
):
    batch = _batch(task_id, obs_dim, act_dim, steps=120)
    cache = EnvCache()
    chunk = batch.chunk(0, len(batch.params))
    log = record_controls(chunk, cache)
    if task_id == "pbml/AntDir-v0":  # some Ant fell: later steps replay fewer rows
        assert any(len(rows) < 4 for _, steps in log.episodes for _, rows in steps)
    results = run_chunk(chunk, cache)  # the recording changed nothing: same steps as a rollout
    assert log.steps == sum(r.steps for r in results)
    assert len(log.episodes) == 2 and all(len(seeds) == 4 for seeds, _ in log.episodes)
    task = cache.fast_task(batch.env, len(chunk))
    final = np.concatenate([task.sim.qpos, task.sim.qvel], axis=1)
    if not batched:
        monkeypatch.setattr(limit, "HAS_BATCH", False)
    seconds, replayed = limit.replay(task, log, threads=2)
    assert seconds > 0
    np.testing.assert_array_equal(replayed, final)  # the same trajectories, bit for bit
    assert limit.replay_limit(task, log, threads=1) > 0


def test_ant_rows_that_ended_early_are_not_replayed_past_their_end():
    batch = _batch("pbml/AntDir-v0", 105, 8, steps=200)
    log = record_controls(batch.chunk(0, 4), EnvCache())
    first_episode = log.episodes[0][1]
    assert any(len(rows) < 4 for _, rows in first_episode)  # some Ant fell: fewer rows
    assert log.steps < 2 * 4 * 200


def test_zero_control_limit_still_measures():
    assert limit.zero_control_limit("pbml/HalfCheetahVel-v0", 2, 3, 2) > 0
    with pytest.raises(ValueError, match="no fast path"):
        limit.zero_control_limit("pbml/HopperVel-v0", 2, 3, 1)


def test_action_scaler_equals_scale_actions_bit_for_bit():
    rng = np.random.default_rng(0)
    low, high = np.array([-1.0, -0.4, 0.0]), np.array([1.0, 0.7, 3.0])
    scale = ActionScaler(low, high, 5)
    for _ in range(3):
        raw = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
        raw[0, 0] = np.nan
        np.testing.assert_array_equal(scale(raw), scale_actions(raw.astype(np.float64), low, high))


def test_lean_cost_terms_equal_the_numpy_formulas():
    rng = np.random.default_rng(1)
    forces = 3 * rng.standard_normal((7, 14, 6))
    forces[0, 0, 0], forces[1, 2, 3] = np.nan, -0.0
    clipped = rewards.clip_forces(forces, (-1.0, 1.0))
    np.testing.assert_array_equal(clipped, np.clip(forces, -1.0, 1.0))
    assert np.signbit(clipped[1, 2, 3])
    expected = 5e-4 * np.sum(np.square(np.clip(forces, -1.0, 1.0)), axis=(-2, -1))
    np.testing.assert_array_equal(rewards.contact_cost(forces, 5e-4), expected)
    actions = rng.uniform(-1, 1, (7, 8))
    np.testing.assert_array_equal(
        rewards.control_cost(actions, 0.1), 0.1 * np.sum(np.square(actions), axis=-1)
    )


def test_batched_forward_returns_its_own_array_and_pickles():
    policy = pbml_policies.make_policy("mlp", 5, 2, hidden=[8])
    rng = np.random.default_rng(2)
    params = np.stack([policy.init_flat(rng) for _ in range(3)])
    forward = policy.batched(params)
    obs = rng.standard_normal((3, 5)).astype(np.float32)
    first = forward(obs)
    kept = first.copy()
    forward(-obs)  # the next call reuses the buffers, not the returned array
    np.testing.assert_array_equal(first, kept)
    again = pickle.loads(pickle.dumps(forward))
    np.testing.assert_array_equal(again(obs), kept)
    # One genome at a time gives the same actions (rows are independent).
    for k in range(3):
        np.testing.assert_array_equal(policy.batched(params[k : k + 1])(obs[k : k + 1])[0], kept[k])
