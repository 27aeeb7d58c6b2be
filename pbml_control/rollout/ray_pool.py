"""The Ray backend: the process pool's contract on Ray actors, for one machine or a cluster.

Each actor holds an `EnvCache` (persistent environments and fast-path simulations) for the whole
run and evaluates one chunk at a time with the same `run_chunk` as the other backends, so results
are bit-identical to the serial and process backends. The driver hands out chunks, waits with a
timeout, and replaces an actor that died or ran past `job_timeout_s`, re-running its chunk on the
new one; a chunk that fails more than `max_retries` times stops the evaluation with `PoolError`.
A Python exception inside a rollout is a bug, not bad luck: it is raised at once with the
actor's traceback. The parameter matrix goes into the object store once per evaluation and every
chunk's task gets its reference (each node fetches it once), not a pickled slice per task.

`address=''` starts a private local Ray with `num_cpus=workers`, listening on the loopback
interface only (see `init_local_ray`), and shuts it down on `close`; any other address ('auto',
'HOST:PORT', 'ray://...') joins an existing cluster, whose nodes need this package installed in
the same version. If Ray is already initialised in this process, the pool uses that. Ray is an
optional dependency, imported only here.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from pbml_control.errors import UserError
from pbml_control.rollout.base import WorkerPool
from pbml_control.rollout.engine import EnvCache, run_chunk
from pbml_control.rollout.queue import ChunkQueue
from pbml_control.rollout.types import Chunk, EvalBatch, RolloutResult

INSTALL_HINT = "pip install pbml-control[ray]"
LOOPBACK = "127.0.0.1"


def import_ray() -> Any:
    """`ray`, or a UserError that gives the install command."""
    try:
        import ray
    except ImportError as err:
        raise UserError(
            f"pool.backend = 'ray' needs Ray, which is not installed: {INSTALL_HINT}"
        ) from err
    return ray


def init_local_ray(ray: Any, num_cpus: int, **kwargs: Any) -> None:
    """Start a private local Ray whose servers listen on 127.0.0.1 only, not on every interface.

    Ray binds its servers (GCS, raylet, workers) to the loopback interface only when the node's
    address is 127.0.0.1, but `ray.init` turns a loopback `_node_ip_address` into the machine's
    network address while multi-node clusters are enabled (Linux's default; macOS and Windows
    turn them off, see `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`). So they are off while this Ray
    starts. Should a Ray version end up on another address anyway, it is shut down at once.
    """
    with _single_node(ray):
        ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address=LOOPBACK, **kwargs)
    node_ip = ray.util.get_node_ip_address()
    if not _is_loopback(node_ip):
        ray.shutdown()
        raise UserError(
            f"the private local Ray started on {node_ip}, which the network can reach, instead "
            f"of {LOOPBACK}, so it was shut down; use a Ray cluster secured as the README says "
            "(pool.address) instead"
        )


@contextmanager
def _single_node(ray: Any) -> Iterator[None]:
    """Ray with multi-node clusters turned off, as `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` would
    (that variable is read once, when `ray` is imported, so it is too late to set it here)."""
    constants = importlib.import_module("ray._private.ray_constants")
    enabled = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if enabled is None:  # a Ray without that switch: `init_local_ray` checks the address
        yield
        return
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = enabled


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class RolloutActor:
    """The body of a Ray actor: persistent environments, one chunk at a time."""

    def __init__(self) -> None:
        self.cache = EnvCache()

    def run(self, chunk: Chunk, params: Any = None) -> list[RolloutResult]:
        """`params`: the whole batch's matrix (from the object store) when the chunk has no rows."""
        if params is not None:
            rows = params[chunk.start : chunk.start + len(chunk.seeds)]
            chunk = replace(chunk, params=rows.copy())  # writable: the store's copy is read-only
        return run_chunk(chunk, self.cache)

    def pid(self) -> int:
        return os.getpid()


@dataclass
class _Running:
    slot: int
    chunk: int
    started: float


class RayPool(WorkerPool):
    def __init__(
        self,
        workers: int = 2,
        chunk_size: int = 8,
        job_timeout_s: float = 600.0,
        max_retries: int = 2,
        address: str = "",
    ) -> None:
        super().__init__(workers, chunk_size, job_timeout_s, max_retries)
        self._ray = import_ray()
        self._owns_ray = not self._ray.is_initialized()
        if self._owns_ray:
            self._init_ray(workers, address)
        self._actor_class = self._ray.remote(num_cpus=1, max_restarts=0)(RolloutActor)
        self._actors = [self._actor_class.remote() for _ in range(workers)]
        #: The current evaluation's parameter matrix in the object store (None between them).
        self._params: Any = None

    def _init_ray(self, workers: int, address: str) -> None:
        if address:
            self._ray.init(address=address, log_to_driver=True)
        else:
            init_local_ray(self._ray, workers)

    def actors(self) -> list[Any]:
        """The actor handles, slot by slot (tests kill one to check that nothing is lost)."""
        return list(self._actors)

    def evaluate(self, batch: EvalBatch) -> list[RolloutResult]:
        queue = ChunkQueue(self.chunks(batch), self.max_retries)
        self._params = self._ray.put(batch.params)  # held until the evaluation returns
        try:
            while queue.pending or queue.running:
                self._dispatch(queue)
                self._collect(queue)
        except BaseException:
            self._abandon(queue)  # an error or Ctrl-C: actors must not keep working on it
            raise
        finally:
            self._params = None
        return queue.ordered_results()

    def _abandon(self, queue: ChunkQueue) -> None:
        """Replace every actor that still runs a chunk of an evaluation that was given up."""
        for run in queue.running.values():
            self._ray.kill(self._actors[run.slot], no_restart=True)
            self._actors[run.slot] = self._actor_class.remote()
        queue.running.clear()

    def _dispatch(self, queue: ChunkQueue) -> None:
        busy = {run.slot for run in queue.running.values()}
        for slot, actor in enumerate(self._actors):
            if slot not in busy and queue.pending:
                index = queue.pending.popleft()
                chunk = queue.chunks[index]
                ref = actor.run.remote(replace(chunk, params=chunk.params[:0]), self._params)
                queue.running[ref] = _Running(slot, index, time.monotonic())

    def _collect(self, queue: ChunkQueue) -> None:
        if not queue.running:
            return
        oldest = min(run.started for run in queue.running.values())
        timeout = max(0.0, oldest + self.job_timeout_s - time.monotonic())
        ready, _ = self._ray.wait(list(queue.running), num_returns=1, timeout=timeout)
        for ref in ready:
            self._receive(ref, queue)
        now = time.monotonic()
        for ref, run in list(queue.running.items()):
            if now - run.started > self.job_timeout_s:
                del queue.running[ref]
                self._replace(run, queue, f"ran past the timeout of {self.job_timeout_s:g} s")

    def _receive(self, ref: Any, queue: ChunkQueue) -> None:
        exceptions = self._ray.exceptions
        run = queue.running.pop(ref)
        try:
            queue.results[run.chunk] = self._ray.get(ref)
        except exceptions.RayTaskError as err:
            raise queue.raised(run.chunk, "a Ray actor", str(err)) from None
        except exceptions.RayError as err:  # the actor or its node is gone
            self._replace(run, queue, f"was lost ({type(err).__name__})")

    def _replace(self, run: _Running, queue: ChunkQueue, why: str) -> None:
        """Kill the actor of `run`, start a fresh one in its slot, and queue its chunk again."""
        self._ray.kill(self._actors[run.slot], no_restart=True)
        self._actors[run.slot] = self._actor_class.remote()
        self.restarts += 1
        queue.retry(run.chunk, f"Ray actor {why}")

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
