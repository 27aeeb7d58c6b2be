"""Rollout throughput: genome-environment steps per second of a whole generation, per backend.

Evolution is rollout-bound, so this is the number that decides how long a run takes. Every row is
measured in the same run as the physics limit (bare MuJoCo on `workers` threads replaying the
controls the generation's rollouts apply, so the same trajectories and the same physics work; see
`pbml_envs.fast.limit`) and reported as a share of it, because absolute
numbers on a shared machine move with its load; rounds are interleaved (every backend once per
round, in a rotating order) and summarised by medians. Startup is excluded: pools are built and
their environments created before the first timed round. The batch is what the trainer sends: one
goal per genome, frozen observation statistics, statistics collected, genomes from the policy's
initialiser (as in generation 0).

Rows of worker pools also report the workers' memory (the largest peak RSS, VmHWM, of any worker
after the rounds) and the pickled bytes sent to workers per generation; 'process-pickled' is the
process backend with the parameters pickled into every chunk, as before they went through shared
memory, kept to measure the difference.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from pbml_control.bench import others
from pbml_control.bench.memory import peak_rss_mib, worker_pids
from pbml_control.bench.others import OTHERS
from pbml_control.errors import UserError
from pbml_control.rollout import EnvSpec, EvalBatch, make_pool
from pbml_control.rollout.process import ProcessPool

TASKS = ("pbml/HalfCheetahVel-v0", "pbml/AntDir-v0")
#: 'limit' is the bare physics replaying the generation's own controls, the yardstick of every
#: row; 'limit-zero' the bare physics with zero controls (the earlier, cheaper yardstick, for
#: comparison); 'process-1' is the process backend with one worker; 'envpool' and
#: 'evotorch' are other libraries on the plain body (see `bench_others`), skipped if not installed.
#: 'process-pickled' is the process backend with its parameters pickled into every chunk.
LIMITS = ("limit", "limit-zero")
BACKENDS = (*LIMITS, "serial", "process-1", "process", "process-pickled", "ray", *OTHERS)
#: What runs without --backends: nothing that starts Ray (ray, evotorch), since a Ray start
#: writes into the user's home and opens ports, nor the old pickled path; ask for those by name.
DEFAULT_BACKENDS = tuple(
    b for b in BACKENDS if b not in ("limit-zero", "ray", "evotorch", "process-pickled")
)


@dataclass(frozen=True)
class Settings:
    tasks: tuple[str, ...] = TASKS
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    population: int = 64
    steps: int = 1000
    repeats: int = 5
    workers: int = 2
    hidden: tuple[int, ...] = (64, 64)
    #: Jobs per chunk; None: population / workers (one chunk per worker and generation).
    chunk_size: int | None = None

    @property
    def chunk(self) -> int:
        return self.chunk_size or max(1, -(-self.population // self.workers))


@dataclass
class Row:
    """One backend on one task: a throughput sample per round, and the round's limit."""

    task: str
    backend: str
    samples: list[float] = field(default_factory=list)
    limits: list[float] = field(default_factory=list)
    note: str = ""
    #: The largest peak resident memory of any worker (VmHWM), MiB; None where not measured.
    peak_rss_mib: float | None = None
    #: Pickled bytes sent to the workers, per timed generation (process backends only).
    sent_bytes: list[int] = field(default_factory=list)

    @property
    def bytes_per_generation(self) -> float | None:
        return statistics.median(self.sent_bytes) if self.sent_bytes else None

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def ratio(self) -> float | None:
        """Median over rounds of (this round's throughput / this round's physics limit)."""
        if not self.limits or not self.samples:
            return None
        return statistics.median(s / lim for s, lim in zip(self.samples, self.limits, strict=True))

    def record(self, settings: Settings) -> dict[str, Any]:
        """A JSON record; throughputs are None for a row that was not measured."""
        limit = statistics.median(self.limits) if self.limits else None
        measured = bool(self.samples)
        return {
            "task": self.task,
            "backend": self.backend,
            "steps_per_s": self.median if measured else None,
            "min_steps_per_s": min(self.samples) if measured else None,
            "max_steps_per_s": max(self.samples) if measured else None,
            "limit_steps_per_s": limit,
            "ratio_to_limit": self.ratio if measured else None,
            "note": self.note,
            "worker_peak_rss_mib": self.peak_rss_mib,
            "bytes_per_generation": self.bytes_per_generation,
            **{key: value for key, value in asdict(settings).items() if key != "tasks"},
        }


Runner = Callable[[], float]


def bench_batch(task_id: str, settings: Settings) -> EvalBatch:
    """The population's evaluation batch, as `trainer.make_batch` builds it."""
    import pbml_envs
    import pbml_policies
    from pbml_envs.mujoco_log import quiet_settotalmass

    with quiet_settotalmass():
        probe = pbml_envs.make_env(task_id)
    obs_dim, act_dim = probe.observation_space.shape[0], probe.action_space.shape[0]
    probe.close()
    policy = pbml_policies.make_policy("mlp", obs_dim, act_dim, hidden=list(settings.hidden))
    rng = np.random.default_rng(0)
    n = settings.population
    return EvalBatch(
        env=EnvSpec.of(task_id, max_episode_steps=settings.steps),
        policy=policy.to_dict(),
        params=np.stack([policy.init_flat(rng) for _ in range(n)]),
        goals=pbml_envs.sample_goals(task_id, rng, n),
        seeds=np.full(n, 12345, dtype=np.int64),
        obs_stats=pbml_policies.RunningStats.zeros(obs_dim).to_arrays(),
        collect_obs_stats=True,
    )


def _make_pool(backend: str, settings: Settings):
    if backend == "process-pickled":
        return ProcessPool(settings.workers, settings.chunk, shared_params=False)
    name, workers = ("process", 1) if backend == "process-1" else (backend, settings.workers)
    return make_pool(name, workers=workers, chunk_size=settings.chunk)


def _pool_runner(pool: Any, batch: EvalBatch, row: Row) -> Runner:
    warm = replace(batch, params=np.full_like(batch.params, np.nan))
    pool.evaluate(warm)  # builds every worker's environments: NaN genomes fail at once

    def run() -> float:
        sent = getattr(pool, "bytes_sent", None)
        start = time.perf_counter()
        results = pool.evaluate(batch)
        elapsed = time.perf_counter() - start
        if sent is not None:
            row.sent_bytes.append(pool.bytes_sent - sent)
        return sum(r.steps for r in results) / elapsed

    return run


def _memory_probe(pool: Any, backend: str, rows: dict) -> Callable[[], None]:
    """Reads the workers' peak memory into the backend's rows; runs just before the pool closes."""

    def probe() -> None:
        peak = peak_rss_mib(worker_pids(pool))
        for (_, name), row in rows.items():
            if name == backend:
                row.peak_rss_mib = peak

    return probe


def _limit_runner(batch: EvalBatch, settings: Settings) -> Runner:
    """The physics limit: bare MuJoCo replaying the controls this batch's rollouts apply
    (recorded once, untimed, from one in-process run of the batch on the fast path)."""
    from pbml_envs.fast.limit import replay_limit

    from pbml_control.rollout.engine import EnvCache, record_controls

    cache = EnvCache()
    chunk = batch.chunk(0, len(batch.params))
    log = record_controls(chunk, cache)
    task = cache.fast_task(batch.env, len(chunk))
    return lambda: replay_limit(task, log, settings.workers)


def _zero_limit_runner(task_id: str, settings: Settings) -> Runner:
    from pbml_envs.fast.limit import zero_control_limit

    kwargs = {"max_episode_steps": settings.steps}
    return lambda: zero_control_limit(
        task_id, settings.population, settings.steps, settings.workers, kwargs
    )


def _skip_reason(backend: str) -> str:
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            return "skipped: Ray is not installed (pip install pbml-control[ray])"
    if backend in OTHERS:
        return others.skip_reason(backend)
    return ""


def _runners(settings: Settings, rows: dict, closers: list) -> dict[tuple[str, str], Runner]:
    """A timed generation per (task, backend). One pool per backend serves every task (a local
    Ray has room for one set of actors)."""
    pools: dict = {}
    foreign: list[str] = []  # EnvPool, EvoTorch: `others` is the module that runs them
    for backend in settings.backends:
        reason = _skip_reason(backend)
        for task in settings.tasks:
            rows[(task, backend)].note = reason
        if reason or backend in LIMITS:
            continue
        if backend in OTHERS:
            foreign.append(backend)
            for task in settings.tasks:
                rows[(task, backend)].note = others.note(task)
        else:
            pools[backend] = _make_pool(backend, settings)
            closers.append(pools[backend].close)
            closers.append(_memory_probe(pools[backend], backend, rows))  # closers run reversed
    runners: dict[tuple[str, str], Runner] = {}
    for task in settings.tasks:
        batch = bench_batch(task, settings)
        for backend in settings.backends:
            if backend == "limit":
                runners[(task, backend)] = _limit_runner(batch, settings)
            elif backend == "limit-zero":
                runners[(task, backend)] = _zero_limit_runner(task, settings)
            elif backend in pools:
                runners[(task, backend)] = _pool_runner(
                    pools[backend], batch, rows[(task, backend)]
                )
            elif backend in foreign:
                runners[(task, backend)] = others.make_runner(backend, task, settings, closers)
    return runners


def run_bench(settings: Settings, progress: Callable[[str], None] = print) -> list[Row]:
    """Measure every (task, backend) `repeats` times in interleaved rounds; rows in order."""
    unknown = set(settings.backends) - set(BACKENDS)
    if unknown:
        raise UserError(f"unknown backend(s) {sorted(unknown)}; known: {', '.join(BACKENDS)}")
    rows = {(t, b): Row(t, b) for t in settings.tasks for b in settings.backends}
    closers: list[Callable[[], None]] = []
    try:
        runners = _runners(settings, rows, closers)
        for round_ in range(settings.repeats):
            progress(f"round {round_ + 1}/{settings.repeats} (load {_load()})")
            _one_round(rows, runners, settings, round_)
    finally:
        for close in reversed(closers):
            close()
    return list(rows.values())


def _one_round(rows: dict, runners: dict, settings: Settings, round_: int) -> None:
    for task in settings.tasks:
        keys = [(task, b) for b in settings.backends if (task, b) in runners]
        shift = round_ % max(1, len(keys))
        for key in keys[shift:] + keys[:shift]:  # rotate: no backend always runs first
            rows[key].samples.append(runners[key]())
        limit = rows[(task, "limit")].samples[-1] if (task, "limit") in runners else None
        if limit is not None:
            for key in keys:
                rows[key].limits.append(limit)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> str:
    """One line about the machine: CPU model, core count, load averages."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, load average {_load()}"


def describe(settings: Settings) -> str:
    """What was measured, and the load when it ended."""
    return (
        f"population {settings.population}, MLP {'x'.join(map(str, settings.hidden))} tanh, "
        f"{settings.steps}-step episodes, {settings.workers} workers, chunk {settings.chunk}, "
        f"{settings.repeats} interleaved rounds; load average at the end {_load()}"
    )


def table(rows: list[Row], settings: Settings) -> str:
    """The rows as a markdown table: median, min-max and the share of the physics limit."""
    lines = [
        "| task | backend | genome-env-steps/s (median) | min-max | share of physics limit "
        "| note | worker peak RSS (MiB) | sent per generation |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        extra = f"{memory_cell(row)} | {sent_cell(row)}"
        if not row.samples:
            lines.append(f"| {row.task} | {row.backend} | - | - | - | {row.note} | {extra} |")
            continue
        spread = f"{min(row.samples):,.0f}-{max(row.samples):,.0f}"
        cells = f"{row.median:,.0f} | {spread} | {ratio_cell(row)} | {row.note} | {extra}"
        lines.append(f"| {row.task} | {row.backend} | {cells} |")
    lines.extend(_speedups(rows, settings))
    return "\n".join(lines)


def ratio_cell(row: Row) -> str:
    return "-" if row.ratio is None or not row.samples else f"{row.ratio:.0%}"


def memory_cell(row: Row) -> str:
    return "-" if row.peak_rss_mib is None else f"{row.peak_rss_mib:,.0f}"


def sent_cell(row: Row) -> str:
    """Bytes per generation in binary units: '1.4 MiB'."""
    value = row.bytes_per_generation
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return "-"


def _speedups(rows: list[Row], settings: Settings) -> list[str]:
    by_key = {(r.task, r.backend): r for r in rows if r.samples}
    out = []
    for task in settings.tasks:
        one, many = by_key.get((task, "process-1")), by_key.get((task, "process"))
        if one and many:
            ratios = [b / a for a, b in zip(one.samples, many.samples, strict=True)]
            out.append(
                f"\n{task}: process backend, 1 -> {settings.workers} workers: "
                f"x{statistics.median(ratios):.2f} (median over rounds)"
            )
    return out
