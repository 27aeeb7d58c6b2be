"""`pbml study`: run every (arm, seed) of a study, resumably, spread over cores or a Ray cluster.

Jobs run seed by seed (every arm of seed 0, then of seed 1, ...), so a study stopped part way
holds complete pairs. Each job trains on one core (serial rollouts); ``--workers N`` runs N jobs
at once in local processes, ``--backend ray`` as Ray tasks of one CPU each (the study folder
must then be on storage every node sees). A job's result depends only on (arm, seed), never
on where or when it ran, so the same study gives the same numbers however it was scheduled
(on one machine and software stack; the report names the CPUs that computed each run).

With a compute cap (``--max-core-hours H``) no run starts once H core-hours are spent (finished
runs and runs stopped part way, as ``--status`` counts them); runs already going finish, and the
report says which runs the cap left out.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from pbml_control.errors import UserError
from pbml_control.running.checkpoint import atomic_write_text
from pbml_control.running.lock import folder_lock
from pbml_control.running.run_files import create_parents
from pbml_control.signals import die_with, interrupts_held
from pbml_control.study.design import describe_changes
from pbml_control.study.jobs import RESULT, run_dir_of, run_job
from pbml_control.study.spec import Study

DESIGN = "study.json"
Echo = Callable[[str], None]


def check_study_dir(out: Path, study: Study) -> bool:
    """True if ``out`` is a folder of this study's design, False if it holds no study yet;
    UserError if it is a file or holds another design. Writes nothing."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out '{out}' is a file, not a folder")
    design = out / DESIGN
    if not design.is_file():
        return False
    changes = describe_changes(json.loads(design.read_text()), study.resolved())
    if changes:
        raise UserError(
            f"'{out}' holds results of a different design; refusing to mix them. Changed: "
            + "; ".join(changes)
            + ". Write the change as a new study file (or use another --out)."
        )
    return True


def prepare_study_dir(out: Path, study: Study) -> None:
    """Create the study folder, or check that it was run with exactly this design."""
    create_parents(out)
    if check_study_dir(out, study):
        return
    new = study.resolved()
    design = out / DESIGN
    if out.exists() and any(out.iterdir()):
        raise UserError(
            f"'{out}' exists and is not a study folder (no {DESIGN}); use another --out"
        )
    out.mkdir(exist_ok=True)
    atomic_write_text(design, json.dumps(new, indent=1))
    if study.source is not None:
        atomic_write_text(out / "study.toml", study.source.read_text())


def jobs_of(study: Study) -> list[tuple[str, int]]:
    """(arm, seed) in run order: seed-major, so partial results are complete pairs."""
    return study.jobs()


def run_study(
    study: Study,
    out: Path,
    workers: int = 1,
    backend: str = "process",
    address: str = "",
    echo: Echo = print,
    max_core_hours: float | None = None,
) -> dict[tuple[str, int], dict[str, Any]]:
    """Run (or finish) every job, or those the compute cap lets start; returns the results of
    every finished job by (arm, seed). The study folder is locked for the whole call: a second
    `pbml study` on it is refused, naming this one's PID."""
    check_cap(max_core_hours)
    with folder_lock(out, "study folder"):
        return _run_study(study, out, workers, backend, address, echo, max_core_hours)


def check_cap(max_core_hours: float | None) -> None:
    if max_core_hours is not None and not (max_core_hours > 0 and max_core_hours < float("inf")):
        raise UserError(f"--max-core-hours must be a positive number, got {max_core_hours}")


class CapGate:
    """Whether another run may start: always without a cap; with one, while the core-hours
    spent on the study (its folder, as `--status` counts them) stay under it."""

    def __init__(self, study: Study, out: Path, max_core_hours: float | None, echo: Echo):
        self.study, self.out, self.cap, self.echo = study, out, max_core_hours, echo
        self.closed = False

    def allows(self) -> bool:
        if self.cap is None:
            return True
        if not self.closed:
            from pbml_control.study.status import spent_core_seconds

            spent = spent_core_seconds(self.study, self.out) / 3600
            if spent >= self.cap:
                self.closed = True
                self.echo(
                    f"compute cap reached: {spent:.2f} of {self.cap:g} core-hours spent; "
                    "no further run starts (runs already going finish)"
                )
        return not self.closed


def _run_study(study, out, workers, backend, address, echo, max_core_hours=None):
    prepare_study_dir(out, study)
    todo = jobs_of(study)
    results, pending = {}, []
    for arm, seed in todo:
        path = run_dir_of(out, arm, seed) / RESULT
        if path.is_file():
            results[arm, seed] = json.loads(path.read_text())
        else:
            pending.append((arm, seed))
    cap = f" (compute cap {max_core_hours:g} core-hours)" if max_core_hours is not None else ""
    echo(f"study '{study.head.name}': {len(todo)} runs, {len(results)} already done, into {out}"
         + cap)  # fmt: skip
    for i, key in enumerate(list(results)):
        echo(_line(i + 1, len(todo), results[key]))
    gate = CapGate(study, out, max_core_hours, echo)

    def finished(key, result):
        results[key] = result
        echo(_line(len(results), len(todo), result))

    if backend == "ray":
        _ray(study, out, pending, workers, address, gate, finished)
    elif workers <= 1 or backend == "serial":
        for arm, seed in pending:
            if not gate.allows():
                break
            finished((arm, seed), run_job(study, arm, seed, out))
    else:
        _processes(study, out, pending, workers, gate, finished)
    return results


def collect(study: Study, out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """The results of the jobs that are done (for a report part way)."""
    with folder_lock(out, "study folder"):
        prepare_study_dir(out, study)
    found = {}
    for arm, seed in jobs_of(study):
        path = run_dir_of(out, arm, seed) / RESULT
        if path.is_file():
            found[arm, seed] = json.loads(path.read_text())
    return found


def _processes(study, out, pending, workers, gate, finished) -> None:
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    pool = {"max_workers": workers, "mp_context": context,
            "initializer": die_with, "initargs": (os.getpid(),)}  # fmt: skip
    queue = list(pending)
    with ProcessPoolExecutor(**pool) as executor:
        running: dict = {}

        def fill() -> None:  # one job per free worker, in study order, while the cap allows
            while queue and len(running) < workers and gate.allows():
                arm, seed = queue.pop(0)
                running[executor.submit(_worker_job, study, arm, seed, out)] = (arm, seed)

        try:
            fill()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: pending.index(running[f])):
                    finished(running.pop(future), future.result())
                fill()
        except BaseException:
            stop_workers(executor)
            raise


def _worker_job(study: Study, arm: str, seed: int, out: Path) -> dict[str, Any]:
    """`run_job` in a study worker process. A worker that was told to stop (SIGTERM: its run
    checkpointed) exits instead of taking the next job already queued to it."""
    try:
        return run_job(study, arm, seed, out)
    except KeyboardInterrupt:
        os._exit(143)


def stop_workers(executor: ProcessPoolExecutor) -> None:
    """Stop a study's jobs now (Ctrl-C, SIGTERM, a failed job): queued jobs are cancelled and
    the running ones get SIGTERM, on which a run checkpoints its last whole generation and
    ends, so nothing keeps training after the study has said it stopped (a worker would
    otherwise take the next job already in its queue).

    The executor's manager thread is joined last: `shutdown(wait=False)` forgets it, and if it
    is still closing its wakeup pipe when the interpreter exits, Python 3.11's exit hook writes
    to the closed pipe and prints an "OSError: Bad file descriptor" traceback after the study
    has said it stopped."""
    with interrupts_held():
        processes = list((getattr(executor, "_processes", None) or {}).values())
        manager = getattr(executor, "_executor_manager_thread", None)
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
        if manager is not None:
            manager.join(timeout=60)


def _ray(study, out, pending, workers, address, gate, finished) -> None:
    try:
        import ray
    except ImportError:
        raise UserError("the Ray backend needs Ray: pip install 'pbml-control[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a private local Ray, reachable from this machine only
            from pbml_control.rollout.ray_pool import init_local_ray

            init_local_ray(ray, max(1, workers), log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1, max_retries=2)(run_job)
        queue, refs = list(pending), {}
        # Without a cap every job goes to the cluster at once (it spreads them over its CPUs);
        # with one, a job is sent only when the cap allows, as many in flight as --workers.
        limit = len(queue) if gate.cap is None else max(1, workers)
        while queue or refs:
            while queue and len(refs) < limit and gate.allows():
                arm, seed = queue.pop(0)
                refs[remote.remote(study, arm, seed, str(out))] = (arm, seed)
            if not refs:
                break
            ready, _ = ray.wait(list(refs), num_returns=1)
            finished(refs.pop(ready[0]), ray.get(ready[0]))
    finally:
        if started_here:
            ray.shutdown()


def _line(i: int, total: int, result: dict[str, Any]) -> str:
    """A finished job, without its outcome: a study is read once, in its report."""
    core = result["train_s"] + result.get("probe_s", 0.0)
    return (
        f"[{i}/{total}] {result['arm']} seed {result['seed']} done: {result['generations']} "
        f"generations, {result['rollouts']} rollouts, {core / 60:.1f} core-min"
    )


def elapsed_since(start: float) -> str:
    minutes, seconds = divmod(int(time.perf_counter() - start), 60)
    return f"{minutes} min {seconds} s"
