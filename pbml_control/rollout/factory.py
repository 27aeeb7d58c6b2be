"""Building a pool by backend name.

The backends import `base` for the `Pool` class; this module imports the backends, so nothing
imports itself round a cycle.
"""

from __future__ import annotations

from pbml_control.errors import UserError
from pbml_control.rollout.base import Pool
from pbml_control.rollout.process import ProcessPool
from pbml_control.rollout.ray_pool import RayPool
from pbml_control.rollout.serial import SerialPool


def make_pool(
    backend: str = "process",
    workers: int = 2,
    chunk_size: int = 8,
    job_timeout_s: float = 600.0,
    max_retries: int = 2,
    address: str = "",
) -> Pool:
    """Build a pool by backend name ('serial', 'process', 'ray')."""
    if backend == "serial":
        return SerialPool(chunk_size)
    if backend == "process":
        return ProcessPool(workers, chunk_size, job_timeout_s, max_retries)
    if backend == "ray":
        return RayPool(workers, chunk_size, job_timeout_s, max_retries, address)
    raise UserError(f"unknown pool backend '{backend}' (pool.backend: serial, process or ray)")


def pool_from_config(cfg) -> Pool:
    """The pool a config's `[pool]` table describes (`pbml_control.running.config.PoolConfig`)."""
    return make_pool(
        cfg.backend, cfg.workers, cfg.chunk_size, cfg.job_timeout_s, cfg.max_retries, cfg.address
    )
