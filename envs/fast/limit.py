"""The physics limit of a task: how fast bare `mj_step` runs, for the throughput benchmark.

`pbml bench` reports every rollout backend as a share of this number, measured in the same run:
`population` MjData of the task's model, reset as the task resets them, stepped `steps` times
(`mj_step` with `nstep=frame_skip`, zero controls) from `threads` Python threads. `mj_step`
releases the GIL, so the threads run in parallel; there is no policy, no observation, no reward,
nothing a rollout engine could remove.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import mujoco
from pbml_envs.fast import make_fast_task
from pbml_envs.fast.sim import MjBatch


def physics_limit(
    task_id: str,
    population: int,
    steps: int,
    threads: int,
    kwargs: Mapping[str, Any] | None = None,
) -> float:
    """Genome-environment steps per second of bare physics (see the module docstring)."""
    task = make_fast_task(task_id, kwargs, population)
    if task is None:
        raise ValueError(f"{task_id} has no fast path, so no physics limit is measured")
    sim = MjBatch(task.sim.model, population, task.sim.frame_skip)
    sim.reset_rows(range(population), task.init_qpos, task.init_qvel, task.reset_noise)
    model, skip, datas = sim.model, sim.frame_skip, sim.datas
    size = -(-population // threads)
    groups = [datas[i : i + size] for i in range(0, population, size)]

    def run(group: list[mujoco.MjData]) -> None:
        for _ in range(steps):
            for d in group:
                mujoco.mj_step(model, d, skip)

    workers = [threading.Thread(target=run, args=(g,)) for g in groups]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return population * steps / (time.perf_counter() - start)
