"""The fast episode loop: a chunk's genomes on a task's fast path (`pbml_envs.fast`), in lockstep.

Why: with Gymnasium environments a worker spends 25-30% of the physics time in Python per step;
on the fast path the per-environment work is a few C calls and everything else is one numpy
operation per batch, so a worker runs close to the speed of the bare physics (see `pbml bench`).

What stays the same as `engine._run_episode`, so the two give bit-identical results: the reset
seeds, the policy inputs and actions, the failure rules (a non-finite action fails the job
before its step; a non-finite observation or reward fails it after, and is not added), the step
counts, the time limit, the reward-part sums and the observations recorded for the running
statistics. Every operation is row-wise, so a job's result does not depend on its batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pbml_control.rollout.types import Chunk


class FastEpisode:
    """Lockstep state of K simulations during one episode (the engine's `_Episode` fields)."""

    def __init__(self, obs: np.ndarray) -> None:
        k = len(obs)
        self.obs = obs
        self.active = np.ones(k, dtype=bool)
        self.returns = np.zeros(k)
        self.steps = np.zeros(k, dtype=np.int64)
        self.failure = [""] * k
        self.part_sums: dict[str, np.ndarray] = {}
        self.stepped_ok = np.zeros(k, dtype=bool)  # a part is reported once a step succeeded
        self.trace: list[tuple[np.ndarray, np.ndarray]] = []
        #: Per job, the reward-part sums, as the engine's `_Episode.parts` (set by `finish`).
        self.parts: list[dict[str, float]] = []

    def finish(self, task: Any) -> None:
        """Per-job reward parts, and the unstable-physics check of jobs that did not fail."""
        self.parts = [
            {key: float(sums[j]) for key, sums in self.part_sums.items()} if ok else {}
            for j, ok in enumerate(self.stepped_ok)
        ]
        for j, failure in enumerate(self.failure):
            if not failure:
                self.failure[j] = task.unstable(j)

    def fail(self, mask: np.ndarray, why: str) -> None:
        for j in np.flatnonzero(mask):
            self.failure[j] = why
        self.active &= ~mask


def run_fast_episode(
    chunk: Chunk,
    task: Any,
    act: Callable[[np.ndarray], np.ndarray],
    normalize: Callable[[np.ndarray], np.ndarray] | None,
    seeds: list[int],
    record: bool,
) -> FastEpisode:
    """One episode of every job of the chunk on `task` (an `pbml_envs.fast.FastTask`)."""
    ep = FastEpisode(task.reset(seeds, chunk.goals))
    limit = task.max_episode_steps or np.iinfo(np.int64).max
    everyone = list(range(len(seeds)))
    scale = ActionScaler(task.action_low, task.action_high, len(seeds))
    while ep.active.any():
        if record:  # ep.obs is never written in place, so the trace may keep it
            ep.trace.append((ep.obs, ep.active.copy()))
        inputs = ep.obs.astype(np.float32) if normalize is None else normalize(ep.obs)
        actions = scale(act(inputs))
        if not math.isfinite(actions.sum()):  # finite actions are bounded: no overflow
            ep.fail(ep.active & ~np.isfinite(actions).all(axis=1), "non-finite action")
        stepped = ep.active.copy()
        rows = everyone if stepped.all() else np.flatnonzero(stepped).tolist()
        _account(ep, stepped, task.step(actions, rows), limit)
    ep.finish(task)
    return ep


class ActionScaler:
    """`scale_actions` of the float32 policy outputs into one float64 buffer per episode: the same
    operations (`low + (raw + 1) * 0.5 * (high - low)` in float64), without an array allocated
    for each of them at every step. The actions are read within the step, never kept."""

    def __init__(self, low: np.ndarray, high: np.ndarray, k: int) -> None:
        self.low, self.span = low, high - low
        self.out = np.empty((k, low.size))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        out = self.out
        np.add(raw, 1.0, out=out, dtype=np.float64)  # raw cast to float64 first, as astype
        out *= 0.5
        out *= self.span
        out += self.low  # low + x == x + low: IEEE addition commutes
        return out


def _account(ep: FastEpisode, stepped: np.ndarray, out: Any, limit: int) -> None:
    """Add one step's outcome to the jobs that were stepped (masked ufuncs: one float64 addition
    per job, as the engine's scalar loop does)."""
    if math.isfinite(out.obs.sum() + out.reward.sum()):  # all finite (else the exact check)
        good = stepped
    else:
        good = stepped & np.isfinite(out.reward) & np.isfinite(out.obs).all(axis=1)
    if good.all():  # the common case: plain in-place operations, the same additions
        ep.steps += 1
        ep.obs = out.obs
        ep.returns += out.reward
        for key, values in out.parts.items():
            ep.part_sums.setdefault(key, np.zeros(len(good)))[...] += values
        ep.stepped_ok[...] = True
        ep.active &= ~(out.terminated | (ep.steps >= limit))
        return
    np.add(ep.steps, 1, out=ep.steps, where=stepped)
    if not np.array_equal(good, stepped):
        ep.fail(stepped & ~good, "non-finite observation or reward")
    ep.obs = np.where(good[:, None], out.obs, ep.obs)  # a new array: the trace holds the old
    np.add(ep.returns, out.reward, out=ep.returns, where=good)
    for key, values in out.parts.items():
        sums = ep.part_sums.setdefault(key, np.zeros(len(good)))
        np.add(sums, values, out=sums, where=good)
    ep.stepped_ok |= good
    ep.active &= ~(good & (out.terminated | (ep.steps >= limit)))


def observations(episodes: list[FastEpisode], k: int) -> list[np.ndarray]:
    """Per job, its recorded raw observations over all episodes in step order, as one (n, obs)
    array: the engine's `seen` rows, without a Python object per row."""
    traces = [
        (np.stack([o for o, _ in ep.trace]), np.stack([a for _, a in ep.trace]))
        for ep in episodes
        if ep.trace
    ]
    if not traces:
        return [np.zeros((0, 0)) for _ in range(k)]
    return [np.concatenate([obs[mask[:, j], j] for obs, mask in traces]) for j in range(k)]
