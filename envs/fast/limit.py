"""The physics limit of a workload: how fast bare MuJoCo steps it, for the throughput benchmark.

`pbml bench` reports every rollout backend as a share of this number, measured in the same run.

`replay_limit` is the limit: it replays a generation's own controls, recorded from a run of the
same genomes (`ActionLog`), through bare MuJoCo. The simulations start from the same reset and
receive the same controls, so they follow the same trajectories and do the same physics work as
the rollout did; the only thing left out is what a rollout engine adds (policy, observations,
rewards, bookkeeping, processes). With MuJoCo >= 4 the replay runs on a `mujoco.batch.Batch` on
`threads` threads, the fastest way MuJoCo offers to step many simulations (one C call per step);
without it, on `threads` Python threads calling `mj_step` (which releases the GIL).

`zero_control_limit` is the earlier yardstick, kept for comparison: the same number of
simulations stepped with zero controls from Python threads. A robot that gets no controls falls
and lies still, so its physics is cheaper than a moving robot's: stepped the same way, zero
controls ran 12% (HalfCheetah) and 19% (Ant) faster than a generation's own controls. The
replay's `mujoco.batch` stepping is in turn faster than threads calling `mj_step`, so the two
yardsticks land close on HalfCheetah and 8-12% apart on Ant (`pbml bench --backends limit
limit-zero` shows both).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np
from pbml_envs.fast.bodies import HAS_BATCH, FastTask
from pbml_envs.fast.sim import BatchSim, MjBatch


@dataclass
class ActionLog:
    """The controls a rollout applied, to replay through bare physics.

    One entry per episode: the reset seeds of its simulations, and per lockstep step the
    (k, nu) controls given to the physics and the rows that were stepped.
    """

    episodes: list[tuple[list[int], list[tuple[np.ndarray, list[int]]]]] = field(
        default_factory=list
    )

    @property
    def steps(self) -> int:
        """Simulation steps in the log (one per stepped row and lockstep step)."""
        return sum(len(rows) for _, log in self.episodes for _, rows in log)


class RecordingTask:
    """A `FastTask` that logs every episode's seeds and controls into an `ActionLog`."""

    def __init__(self, task: FastTask, log: ActionLog) -> None:
        self._task, self.log = task, log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def reset(self, seeds: Sequence[int], goals: np.ndarray | None) -> np.ndarray:
        self.log.episodes.append(([int(s) for s in seeds], []))
        return self._task.reset(seeds, goals)

    def step(self, actions: np.ndarray, rows: Sequence[int]):
        self.log.episodes[-1][1].append((np.array(actions, dtype=np.float64), list(rows)))
        return self._task.step(actions, rows)


def replay_limit(task: FastTask, log: ActionLog, threads: int) -> float:
    """Simulation steps per second of bare MuJoCo replaying `log` on `task`'s model."""
    return log.steps / replay(task, log, threads)[0]


def replay(task: FastTask, log: ActionLog, threads: int) -> tuple[float, np.ndarray]:
    """Replay `log` on `task`'s model; the seconds the steps took (resets excluded), and the
    (qpos, qvel) rows the last episode ended in (a test compares them with the rollout's)."""
    model, skip = task.sim.model, task.sim.frame_skip
    capacity = max(len(seeds) for seeds, _ in log.episodes)
    elapsed = 0.0
    if HAS_BATCH:
        sim: BatchSim | MjBatch = BatchSim(model, capacity, skip, nthread=threads)
        for seeds, steps in log.episodes:
            sim.reset_rows(seeds, task.init_qpos, task.init_qvel, task.reset_noise)
            elapsed += _replay_batch(sim, steps)
    else:
        sim = MjBatch(model, capacity, skip)
        for seeds, steps in log.episodes:
            sim.reset_rows(seeds, task.init_qpos, task.init_qvel, task.reset_noise)
            elapsed += _replay_threads(sim, steps, threads)
        for j, d in enumerate(sim.datas):
            sim._gather(j, d)  # the threads stepped the MjData only
    return elapsed, np.concatenate([sim.qpos, sim.qvel], axis=1)


def _replay_batch(sim: BatchSim, steps: list[tuple[np.ndarray, list[int]]]) -> float:
    prepared = [(a, sim.ids(rows)) for a, rows in steps]
    ctrl, step, skip = sim.ctrl, sim.batch.step, sim.frame_skip
    start = time.perf_counter()
    for actions, ids in prepared:
        ctrl[: len(actions)] = actions
        step(ids, nstep=skip)
    return time.perf_counter() - start


def _replay_threads(sim: MjBatch, steps: list[tuple[np.ndarray, list[int]]], threads: int) -> float:
    model, skip, datas = sim.model, sim.frame_skip, sim.datas
    size = -(-len(datas) // threads)

    def run(lo: int, hi: int) -> None:
        for actions, rows in steps:
            for j in rows:
                if lo <= j < hi:
                    d = datas[j]
                    d.ctrl[:] = actions[j]
                    mujoco.mj_step(model, d, skip)

    return _timed_threads(run, len(datas), size)


def zero_control_limit(
    task_id: str,
    population: int,
    steps: int,
    threads: int,
    kwargs: Mapping[str, Any] | None = None,
) -> float:
    """Steps per second of `population` simulations stepped `steps` times with zero controls,
    from `threads` Python threads (the earlier yardstick; see the module docstring)."""
    from pbml_envs.fast import make_fast_task

    task = make_fast_task(task_id, kwargs, population)
    if task is None:
        raise ValueError(f"{task_id} has no fast path, so no physics limit is measured")
    sim = MjBatch(task.sim.model, population, task.sim.frame_skip)
    sim.reset_rows(range(population), task.init_qpos, task.init_qvel, task.reset_noise)
    model, skip, datas = sim.model, sim.frame_skip, sim.datas

    def run(lo: int, hi: int) -> None:
        group = datas[lo:hi]
        for _ in range(steps):
            for d in group:
                mujoco.mj_step(model, d, skip)

    return population * steps / _timed_threads(run, population, -(-population // threads))


def _timed_threads(run, count: int, size: int) -> float:
    workers = [threading.Thread(target=run, args=(i, i + size)) for i in range(0, count, size)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start
