"""Peak memory of a pool's workers, for `pbml bench`: the kernel's VmHWM of each worker process.

VmHWM (from /proc/<pid>/status) is the peak resident set size over the process's life, so it
catches the largest generation, not whatever is resident when it is read. It counts pages shared
with other processes (libraries, the parameter file) in every worker that touched them. Linux
only: elsewhere, and for workers on other machines, there is no figure.
"""

from __future__ import annotations

from typing import Any


def worker_pids(pool: Any) -> list[int]:
    """The pids of a process pool's workers or a Ray pool's actors ([] for in-process pools)."""
    if hasattr(pool, "worker_pids"):
        return list(pool.worker_pids())
    if hasattr(pool, "actors"):
        import ray

        return list(ray.get([actor.pid.remote() for actor in pool.actors()]))
    return []


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident memory in KiB, or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mib(pids: list[int]) -> float | None:
    """The largest peak resident memory of the processes, MiB; None if none could be read."""
    peaks = [kib for kib in map(peak_rss_kib, pids) if kib is not None]
    return max(peaks) / 1024 if peaks else None
