"""`pbml study`: run every (arm, seed) of a study, resumably, spread over cores or a Ray cluster.

Jobs run seed by seed (every arm of seed 0, then of seed 1, ...), so a study stopped part way
holds complete pairs. Each job trains on one core (serial rollouts); ``--workers N`` runs N jobs
at once in local processes, ``--backend ray`` as Ray tasks of one CPU each (the study folder
must then be on storage every node sees). A job's result depends only on (arm, seed), never
on where or when it ran, so the same study gives the same numbers however it was scheduled
(on one machine and software stack; the report names the CPUs that computed each run).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from pbml_control.errors import UserError
from pbml_control.running.checkpoint import atomic_write_text
from pbml_control.running.lock import folder_lock
from pbml_control.running.run_files import create_parents
from pbml_control.signals import die_with, interrupts_held
from pbml_control.study.jobs import RESULT, run_dir_of, run_job
from pbml_control.study.spec import Study, describe_changes

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
) -> dict[tuple[str, int], dict[str, Any]]:
    """Run (or finish) every job; returns the results by (arm, seed). The study folder is
    locked for the whole call: a second `pbml study` on it is refused, naming this one's PID."""
    with folder_lock(out, "study folder"):
        return _run_study(study, out, workers, backend, address, echo)


def _run_study(study, out, workers, backend, address, echo):
    prepare_study_dir(out, study)
    todo = jobs_of(study)
    done = sum((run_dir_of(out, a, s) / RESULT).is_file() for a, s in todo)
    echo(f"study '{study.head.name}': {len(todo)} runs, {done} already done, into {out}")
    if backend == "ray":
        results = _ray(study, out, todo, workers, address, echo)
    elif workers <= 1 or backend == "serial":
        results = {}
        for i, (arm, seed) in enumerate(todo):
            results[arm, seed] = run_job(study, arm, seed, out)
            echo(_line(i + 1, len(todo), results[arm, seed]))
    else:
        results = _processes(study, out, todo, workers, echo)
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


def _processes(study, out, todo, workers, echo) -> dict:
    results: dict = {}
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    pool = {"max_workers": workers, "mp_context": context,
            "initializer": die_with, "initargs": (os.getpid(),)}  # fmt: skip
    with ProcessPoolExecutor(**pool) as executor:
        futures = {
            executor.submit(_worker_job, study, arm, seed, out): (arm, seed) for arm, seed in todo
        }
        try:
            for i, future in enumerate(as_completed(futures)):
                results[futures[future]] = future.result()
                echo(_line(i + 1, len(todo), results[futures[future]]))
        except BaseException:
            stop_workers(executor)
            raise
    return results


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
    otherwise take the next job already in its queue)."""
    with interrupts_held():
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()


def _ray(study, out, todo, workers, address, echo) -> dict:
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
        refs = {remote.remote(study, arm, seed, str(out)): (arm, seed) for arm, seed in todo}
        results, pending = {}, list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            key = refs[ready[0]]
            results[key] = ray.get(ready[0])
            echo(_line(len(results), len(todo), results[key]))
        return results
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
