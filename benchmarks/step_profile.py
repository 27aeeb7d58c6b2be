"""Where a rollout worker's time goes, next to the physics it has to do.

`pbml bench` says how close a backend comes to the physics limit; this says where the rest goes,
for one worker stepping one chunk of K genomes on a task's fast path (population 2K, MLP 64x64
tanh, as `pbml bench` builds it):

1. Per lockstep step, in microseconds (medians over repeats): the physics call, the policy
   forward, the observation normaliser, the action scaling, the task's numpy (observation,
   reward, health), the engine's bookkeeping, and what is left (the loop itself, the trace,
   checks). Timers wrap each piece, so the total is a little above an untimed run.
2. The physics inside the rollout against the same physics alone: bare MuJoCo replaying the
   chunk's controls on one thread (`pbml_envs.fast.limit.replay`). Inside the rollout every
   physics call starts with caches that the forward and the numpy have filled, and the policy
   and numpy start cold after the physics; the ratio shows what that costs.
3. The pool: two workers, one chunk each (what `pbml bench` runs at population 2K), and the
   share of core time left idle because one worker finished before the other.

    python benchmarks/step_profile.py [--tasks ...] [--genomes 32] [--steps 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from dataclasses import replace

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
from pbml_envs.fast.limit import replay  # noqa: E402

import pbml_control.rollout.fast_engine as fast_engine  # noqa: E402
from pbml_control.bench.throughput import Settings, bench_batch, machine  # noqa: E402
from pbml_control.rollout.engine import EnvCache, record_controls, run_chunk  # noqa: E402
from pbml_control.rollout.process import ProcessPool  # noqa: E402

TASKS = ("pbml/HalfCheetahVel-v0", "pbml/AntDir-v0")


class Timers:
    """Wraps callables so that each adds its time to a named total."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn):
        totals, clock = self.totals, time.perf_counter

        def timed(*args, **kwargs):
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += clock() - start

        return timed


def profile_worker(task_id: str, k: int, steps: int, repeats: int) -> dict[str, float]:
    """Microseconds per lockstep step of each piece, medians over `repeats` episodes."""
    batch = bench_batch(task_id, Settings(population=k, steps=steps))
    chunk = batch.chunk(0, k)
    cache = EnvCache()
    log = record_controls(chunk, cache)
    task = cache.fast_task(batch.env, k)
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        timers = Timers()
        sim = task.sim
        step_rows = sim.step_rows
        sim.step_rows = timers.wrap("physics", sim.step_rows)
        for name in ("_refresh", "_rewards", "_observe"):
            setattr(task, name, timers.wrap("task numpy", getattr(task, name)))
        account, scaler = fast_engine._account, fast_engine.ActionScaler.__call__
        fast_engine._account = timers.wrap("bookkeeping", account)
        fast_engine.ActionScaler.__call__ = timers.wrap("action scaling", scaler)
        controllers = _timed_controllers(timers)
        try:
            start = time.perf_counter()
            controllers(lambda: run_chunk(chunk, cache))
            total = time.perf_counter() - start
        finally:
            sim.step_rows = step_rows
            for name in ("_refresh", "_rewards", "_observe"):
                task.__dict__.pop(name, None)
            fast_engine._account, fast_engine.ActionScaler.__call__ = account, scaler
        bare, _ = replay(task, log, threads=1)
        per_step = 1e6 / steps
        known = sum(timers.totals.values())
        for name, seconds in timers.totals.items():
            samples[name].append(seconds * per_step)
        samples["rest (loop, trace, checks)"].append((total - known) * per_step)
        samples["total"].append(total * per_step)
        samples["physics alone (replay)"].append(bare * per_step)
    return {name: statistics.median(values) for name, values in samples.items()}


def _timed_controllers(timers: Timers):
    """Run a callable with the chunk's forward and normaliser timed (they are built per chunk)."""
    import pbml_control.rollout.engine as engine

    def run(fn):
        build = engine._controllers

        def timed_build(chunk, cache):
            act, normalize = build(chunk, cache)
            normalize = None if normalize is None else timers.wrap("normaliser", normalize)
            return timers.wrap("policy forward", act), normalize

        engine._controllers = timed_build
        try:
            return fn()
        finally:
            engine._controllers = build

    return run


def pool_idle_share(task_id: str, k: int, steps: int, repeats: int) -> list[float]:
    """Per evaluation of 2k genomes on two workers (one chunk each): the share of the two cores'
    time that a worker sat idle after its chunk while the other still ran."""
    batch = bench_batch(task_id, Settings(population=2 * k, steps=steps))
    pool = ProcessPool(workers=2, chunk_size=k)
    shares = []
    try:
        pool.evaluate(replace(batch, params=np.full_like(batch.params, np.nan)))  # start envs
        replies: list[float] = []
        receive = pool._receive

        def stamped(slot, worker, queue):
            replies.append(time.perf_counter())
            return receive(slot, worker, queue)

        pool._receive = stamped
        for _ in range(repeats):
            replies.clear()
            start = time.perf_counter()
            pool.evaluate(batch)
            end = time.perf_counter()
            shares.append(sum(end - t for t in replies) / (2 * (end - start)))
    finally:
        pool.close()
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--genomes", type=int, default=32, help="K, genomes per chunk")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"one worker, {args.genomes} genomes x {args.steps} steps, MLP 64x64 tanh, medians of "
        f"{args.repeats}\n"
    )
    for task_id in args.tasks:
        times = profile_worker(task_id, args.genomes, args.steps, args.repeats)
        total, bare = times.pop("total"), times.pop("physics alone (replay)")
        print(f"## {task_id}\n")
        print("| piece | us per lockstep step | share of the step |")
        print("|---|---:|---:|")
        for name, value in sorted(times.items(), key=lambda item: -item[1]):
            print(f"| {name} | {value:,.0f} | {value / total:.1%} |")
        print(f"| total | {total:,.0f} | 100% |")
        print(
            f"\nphysics alone (replay of the same controls, 1 thread): {bare:,.0f} us per step; "
            f"inside the rollout it took {times['physics'] / bare:.3f}x that; the whole step "
            f"took {total / bare:.3f}x (a worker at {bare / total:.0%} of its physics)"
        )
        idle = pool_idle_share(task_id, args.genomes, args.steps, args.repeats)
        print(
            f"two workers, one chunk of {args.genomes} each: idle core share after the first "
            f"worker finished, median {statistics.median(idle):.1%} "
            f"(min {min(idle):.1%}, max {max(idle):.1%})\n"
        )


if __name__ == "__main__":
    main()
