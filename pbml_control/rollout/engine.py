"""The rollout engine: steps the genomes of one chunk in lockstep, one batched policy forward per
step, on environments that live as long as the worker.

A job's result depends only on (genome, goal, seed): every environment is reset with a seed
derived from the job's seed and the episode index, and genome k's actions do not depend on which
other genomes share its batch. So the pool may chunk and schedule jobs however it likes.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from pbml_control.rollout.actions import scale_actions
from pbml_control.rollout.types import Chunk, EnvSpec, RolloutResult


def episode_seed(job_seed: int, episode: int) -> int:
    """The reset seed of one episode of a job, independent of any worker state."""
    return int(np.random.SeedSequence([int(job_seed), episode]).generate_state(1)[0])


class EnvCache:
    """Persistent environments of one worker, per environment spec (built once, reused).

    With `fast=True` (the default) a task that has a fast path (`pbml_envs.fast`: raw MuJoCo
    simulations, batched observations and rewards) runs on it; it gives the same results as the
    Gymnasium task, several times cheaper in Python. `fast=False` forces plain Gymnasium.
    """

    def __init__(self, fast: bool = True) -> None:
        self.fast = fast
        self._envs: dict[EnvSpec, list[Any]] = defaultdict(list)
        self._fast: dict[EnvSpec, Any] = {}
        self._policies: dict[str, Any] = {}

    def envs(self, spec: EnvSpec, count: int) -> list[Any]:
        pool = self._envs[spec]
        while len(pool) < count:
            pool.append(spec.make())
        return pool[:count]

    def fast_task(self, spec: EnvSpec, count: int) -> Any:
        """The spec's `pbml_envs.fast.FastTask` with room for `count` jobs, or None without one."""
        if not self.fast:
            return None
        task = self._fast.get(spec)
        if spec in self._fast and (task is None or task.capacity >= count):
            return task
        import pbml_envs

        if spec.task_id not in pbml_envs.BUILTIN_TASK_IDS:  # user tasks run plain Gymnasium
            task = None
        else:
            from pbml_envs.fast import make_fast_task

            task = make_fast_task(spec.task_id, dict(spec.kwargs), count)
        self._fast[spec] = task
        return task

    def policy(self, description: dict[str, Any]):
        from pbml_policies import policy_from_dict

        key = repr(sorted(description.items()))
        if key not in self._policies:
            self._policies[key] = policy_from_dict(description)
        return self._policies[key]

    def close(self) -> None:
        for pool in self._envs.values():
            for env in pool:
                env.close()
        self._envs.clear()
        self._fast.clear()


def _unstable(env: Any) -> str:
    """A rollout that made MuJoCo flag unstable physics is failed (see `pbml_envs.physics`)."""
    from pbml_envs.physics import env_unstable

    return env_unstable(env)


class _Episode:
    """Lockstep state of K environments during one episode."""

    def __init__(self, k: int, obs: np.ndarray) -> None:
        self.obs = obs
        self.active = np.ones(k, dtype=bool)
        self.returns = np.zeros(k)
        self.steps = np.zeros(k, dtype=np.int64)
        self.failure = [""] * k
        self.parts: list[dict[str, float]] = [defaultdict(float) for _ in range(k)]


def _run_episode(chunk: Chunk, envs: list[Any], act, normalize, episode: int, record) -> _Episode:
    k = len(chunk)
    obs_list = []
    for j, env in enumerate(envs):
        options = None if chunk.goals is None else {"goal": chunk.goals[j]}
        obs, _ = env.reset(seed=episode_seed(chunk.seeds[j], episode), options=options)
        obs_list.append(obs)
    ep = _Episode(k, np.asarray(obs_list, dtype=np.float64))
    space = envs[0].action_space
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    while ep.active.any():
        record(ep.obs, ep.active)
        inputs = ep.obs.astype(np.float32) if normalize is None else normalize(ep.obs)
        actions = scale_actions(act(inputs).astype(np.float64), low, high)
        for j in np.flatnonzero(ep.active):
            _step_one(ep, j, envs[j], actions[j])
    for j, env in enumerate(envs):
        if not ep.failure[j]:
            ep.failure[j] = _unstable(env)
    return ep


def _step_one(ep: _Episode, j: int, env: Any, action: np.ndarray) -> None:
    if not np.all(np.isfinite(action)):
        ep.failure[j], ep.active[j] = "non-finite action", False
        return
    obs, reward, terminated, truncated, info = env.step(action)
    ep.steps[j] += 1
    if not (np.isfinite(reward) and np.all(np.isfinite(obs))):
        ep.failure[j], ep.active[j] = "non-finite observation or reward", False
        return
    ep.obs[j] = obs
    ep.returns[j] += reward
    for key, value in info.items():
        if key.startswith("reward_"):
            ep.parts[j][key] += float(value)
    if terminated or truncated:
        ep.active[j] = False


def run_chunk(chunk: Chunk, cache: EnvCache) -> list[RolloutResult]:
    """Evaluate every job of a chunk; results in job order.

    Goals outside a task's training distribution are not noted here: the trainer or the command
    that chose the goal notes it once, not every worker and environment again.
    """
    from pbml_envs import GoalOutsideDistribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GoalOutsideDistribution)
        return _evaluate_chunk(chunk, cache)


def _controllers(chunk: Chunk, cache: EnvCache):
    """The chunk's batched policy forward and its observation normaliser (None: raw inputs)."""
    batch = chunk.batch
    policy = cache.policy(batch.policy)
    act = policy.batched(np.ascontiguousarray(chunk.params, dtype=np.float32))
    normalize = None
    if batch.obs_stats is not None:
        from pbml_policies import RunningStats

        normalize = RunningStats.from_arrays(batch.obs_stats).normalizer()
    return act, normalize


def record_controls(chunk: Chunk, cache: EnvCache):
    """Run the chunk on its task's fast path and return the controls it applied, episode by
    episode (a `pbml_envs.fast.limit.ActionLog`, which the benchmark replays through bare physics).
    """
    from pbml_envs.fast.limit import ActionLog, RecordingTask

    from pbml_control.rollout.fast_engine import run_fast_episode

    fast = cache.fast_task(chunk.batch.env, len(chunk))
    if fast is None:
        raise ValueError(f"{chunk.batch.env.task_id} has no fast path to record controls on")
    act, normalize = _controllers(chunk, cache)
    log = ActionLog()
    task = RecordingTask(fast, log)
    for e in range(chunk.batch.episodes):
        run_fast_episode(chunk, task, act, normalize, _seeds(chunk, e), record=False)
    return log


def _evaluate_chunk(chunk: Chunk, cache: EnvCache) -> list[RolloutResult]:
    batch = chunk.batch
    act, normalize = _controllers(chunk, cache)
    fast = cache.fast_task(batch.env, len(chunk))
    if fast is not None:
        from pbml_control.rollout.fast_engine import observations, run_fast_episode

        episodes: list[Any] = [
            run_fast_episode(chunk, fast, act, normalize, _seeds(chunk, e), batch.collect_obs_stats)
            for e in range(batch.episodes)
        ]
        seen = observations(episodes, len(chunk))
    else:
        envs = cache.envs(batch.env, len(chunk))
        episodes, seen = _run_gymnasium(chunk, envs, act, normalize)
    return [_result(chunk.start + j, j, episodes, seen[j], batch) for j in range(len(chunk))]


def _seeds(chunk: Chunk, episode: int) -> list[int]:
    return [episode_seed(seed, episode) for seed in chunk.seeds]


def _run_gymnasium(chunk: Chunk, envs: list[Any], act, normalize):
    """The reference path: one Gymnasium environment per job."""
    batch = chunk.batch
    seen: list[list[np.ndarray]] = [[] for _ in range(len(chunk))]

    def record(obs: np.ndarray, active: np.ndarray) -> None:
        if batch.collect_obs_stats:
            for j in np.flatnonzero(active):
                seen[j].append(obs[j].copy())

    episodes = [_run_episode(chunk, envs, act, normalize, e, record) for e in range(batch.episodes)]
    return episodes, seen


def _result(index: int, j: int, episodes: list[_Episode], seen, batch) -> RolloutResult:
    returns = np.array([ep.returns[j] for ep in episodes])
    failure = next((ep.failure[j] for ep in episodes if ep.failure[j]), "")
    parts: dict[str, float] = defaultdict(float)
    for ep in episodes:
        for key, value in ep.parts[j].items():
            parts[key] += value / len(episodes)
    obs_stats = None
    if batch.collect_obs_stats and len(seen) and not failure:  # a list or an (n, obs) array
        from pbml_policies import RunningStats

        stats = RunningStats.zeros(len(seen[0]))
        stats.update(np.asarray(seen))
        obs_stats = stats.to_arrays()
    return RolloutResult(
        index=index,
        fitness=-np.inf if failure else float(returns.mean()),
        returns=returns,
        steps=int(sum(ep.steps[j] for ep in episodes)),
        reward_parts=dict(parts),
        failed=bool(failure),
        failure=failure,
        obs_stats=obs_stats,
    )
