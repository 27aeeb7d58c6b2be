"""The Ray backend: the process pool's contract on Ray actors, for one machine or a cluster.

Each actor holds an `EnvCache` (persistent environments and fast-path simulations) for the whole
run and evaluates one chunk at a time with the same `run_chunk` as the other backends, so results
are bit-identical to the serial and process backends. The driver hands out chunks, waits with a
timeout, and replaces an actor that died or ran past `job_timeout_s`, re-running its chunk on
another; a chunk that fails more than `max_retries` times stops the evaluation with `PoolError`.
A replacement that Ray cannot place (its node is gone and the other CPUs are taken) waits for a
CPU without holding up the run. On a cluster, `close` prints which nodes computed how many
chunks. A Python exception inside a rollout is a bug, not bad luck: it is raised at once with the
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
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from pbml_control.errors import UserError
from pbml_control.rollout.base import PoolError, WorkerPool
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
    start_reaper(_session_dir(ray))
    node_ip = ray.util.get_node_ip_address()
    if not _is_loopback(node_ip):
        ray.shutdown()
        raise UserError(
            f"the private local Ray started on {node_ip}, which the network can reach, instead "
            f"of {LOOPBACK}, so it was shut down; use a Ray cluster secured as the README says "
            "(pool.address) instead"
        )


#: Run by `start_reaper` in its own process: once the command that started a private Ray is
#: gone (SIGKILL leaves it no chance to shut Ray down), kill every process of that Ray session.
_REAPER = """
import os, signal, sys, time
owner, session = int(sys.argv[1]), sys.argv[2].encode()

def table():
    # pid -> (parent pid, start time), and the pids whose command line names the session
    found, named = {}, set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            found[int(name)] = (int(fields[1]), fields[19])
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if session in handle.read():
                    named.add(int(name))
        except (OSError, IndexError, ValueError):
            pass
    return found, named

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead, however long its parent takes to collect it
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True

known = {}  # this Ray's processes: named ones and everything below them, with start times
while alive(owner):
    found, named = table()
    todo = list(named)
    below = set(named)
    while todo:
        parent = todo.pop()
        for pid, (ppid, _) in found.items():
            if ppid == parent and pid not in below:
                below.add(pid)
                todo.append(pid)
    known.update({pid: found[pid][1] for pid in below if pid in found and pid != os.getpid()})
    time.sleep(0.5)
for _ in range(10):
    found, _ = table()
    for pid, start in known.items():
        if found.get(pid, (None, None))[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.3)
"""


def _session_dir(ray: Any) -> str | None:
    """The private Ray's session directory (its processes name it on their command lines)."""
    try:
        return ray._private.worker.global_worker.node.get_session_dir_path()
    except AttributeError:  # a Ray version that moved it: no reaper, Ray's own fate sharing
        return None


def start_reaper(session: str | None) -> None:
    """Make a private Ray die with this process, however it ends.

    Ray shares the fate of its driver only in part: after a SIGKILL of the driver two agents of
    the node outlived it by more than 50 s. A small process in its own session (so a signal to
    this process group does not reach it) notes, twice a second, every process whose command
    line names this Ray's session directory and every process below those (Ray renames its
    agents, so their command lines do not say whose they are); once this process is gone it
    kills them, and only them (those whose start time still matches: no reused PID). Nothing
    else this process started is touched. Linux /proc only."""
    import subprocess
    import sys

    if not session or not os.path.isdir("/proc"):
        return
    subprocess.Popen(
        [sys.executable, "-c", _REAPER, str(os.getpid()), session],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )  # fmt: skip


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
        self.node = import_ray().util.get_node_ip_address()

    def run(self, chunk: Chunk, params: Any = None) -> tuple[str, list[RolloutResult]]:
        """The chunk's results, and the address of the node that computed them. `params`: the
        whole batch's matrix (from the object store) when the chunk has no rows."""
        if params is not None:
            rows = params[chunk.start : chunk.start + len(chunk.seeds)]
            chunk = replace(chunk, params=rows.copy())  # writable: the store's copy is read-only
        return self.node, run_chunk(chunk, self.cache)

    def pid(self) -> int:
        return os.getpid()


@dataclass
class _Running:
    slot: int
    chunk: int
    started: float


class RayPool(WorkerPool):
    """A replacement actor gets chunks only once it has started: one that Ray cannot place (its
    node was lost and the other CPUs are taken) waits, in its slot, for a CPU, while the actors
    that run take all the chunks. So a lost node costs a re-run of its chunks, not `job_timeout_s`
    every generation, and the run goes on at the speed of what is left. The first actors get
    chunks at once (a cluster with a CPU for each starts them in seconds), so every node works
    from the first generation."""

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
        self._address = address
        if self._owns_ray:
            self._init_ray(workers, address)
        self._actor_class = self._ray.remote(num_cpus=1, max_restarts=0)(RolloutActor)
        self._actors = [self._actor_class.remote() for _ in range(workers)]
        #: The first call of each replacement that has not answered yet (ref -> slot): until it
        #: does, the actor may be waiting for a CPU, so it gets no chunk.
        self._starting: dict[Any, int] = {}
        self._start_failures = [0] * workers
        #: Chunks computed per node address, for the summary a cluster run ends with.
        self.chunks_by_node: Counter[str] = Counter()
        #: The current evaluation's parameter matrix in the object store (None between them).
        self._params: Any = None

    def _init_ray(self, workers: int, address: str) -> None:
        if address:
            self._ray.init(address=address, log_to_driver=True)
        else:
            init_local_ray(self._ray, workers)

    def _spawn(self, slot: int) -> None:
        """A new actor in `slot`, which takes chunks once it answers."""
        actor = self._actor_class.remote()
        self._actors[slot] = actor
        self._starting[actor.pid.remote()] = slot

    def actors(self) -> list[Any]:
        """The actor handles, slot by slot (tests kill one to check that nothing is lost)."""
        return list(self._actors)

    def evaluate(self, batch: EvalBatch) -> list[RolloutResult]:
        queue = ChunkQueue(self.chunks(batch), self.max_retries)
        idle_since = time.monotonic()  # since when no chunk has been running
        self._params = self._ray.put(batch.params)  # held until the evaluation returns
        try:
            while queue.pending or queue.running:
                self._dispatch(queue)
                if queue.running:
                    self._collect(queue)
                    idle_since = time.monotonic()
                else:  # the only actors left are replacements that have not started yet
                    self._await_start(idle_since)
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
            self._spawn(run.slot)
        queue.running.clear()

    def _dispatch(self, queue: ChunkQueue) -> None:
        busy = {run.slot for run in queue.running.values()} | set(self._starting.values())
        for slot, actor in enumerate(self._actors):
            if slot not in busy and queue.pending:
                index = queue.pending.popleft()
                chunk = queue.chunks[index]
                ref = actor.run.remote(replace(chunk, params=chunk.params[:0]), self._params)
                queue.running[ref] = _Running(slot, index, time.monotonic())

    def _collect(self, queue: ChunkQueue) -> None:
        """Wait for a chunk to finish or an actor to start, then handle whatever ran late."""
        oldest = min(run.started for run in queue.running.values())
        timeout = max(0.0, oldest + self.job_timeout_s - time.monotonic())
        waiting = [*queue.running, *self._starting]
        ready, _ = self._ray.wait(waiting, num_returns=1, timeout=timeout)
        for ref in ready:
            if ref in self._starting:
                self._started(ref)
            else:
                self._receive(ref, queue)
        now = time.monotonic()
        for ref, run in list(queue.running.items()):
            if now - run.started > self.job_timeout_s:
                del queue.running[ref]
                self._replace(run, queue, f"ran past the timeout of {self.job_timeout_s:g} s")

    def _await_start(self, idle_since: float) -> None:
        """Wait for a replacement actor to start; none in `job_timeout_s` is an error."""
        timeout = max(0.0, idle_since + self.job_timeout_s - time.monotonic())
        ready, _ = self._ray.wait(list(self._starting), num_returns=1, timeout=timeout)
        for ref in ready:
            self._started(ref)
        if not ready:
            raise PoolError(
                f"no Ray actor started within pool.job_timeout_s = {self.job_timeout_s:g} s: "
                "the cluster has no free CPU for one (see `ray status`), or its nodes cannot "
                "start this package's workers"
            )

    def _started(self, ref: Any) -> None:
        """An actor answered its first call: it takes chunks from now on, unless it failed to
        start, which a few times in a row in one slot is an error (say, a node without this
        package), not bad luck."""
        slot = self._starting.pop(ref)
        try:
            self._ray.get(ref)
        except self._ray.exceptions.RayError as err:
            self._start_failures[slot] += 1
            if self._start_failures[slot] > self.max_retries:
                raise PoolError(
                    f"a Ray actor failed to start {self._start_failures[slot]} times: {err}"
                ) from None
            self._spawn(slot)
            return
        self._start_failures[slot] = 0

    def _receive(self, ref: Any, queue: ChunkQueue) -> None:
        exceptions = self._ray.exceptions
        run = queue.running.pop(ref)
        try:
            node, queue.results[run.chunk] = self._ray.get(ref)
            self.chunks_by_node[node] += 1
        except exceptions.RayTaskError as err:
            raise queue.raised(run.chunk, "a Ray actor", str(err)) from None
        except exceptions.RayError as err:  # the actor or its node is gone
            self._replace(run, queue, f"was lost ({type(err).__name__})")

    def _replace(self, run: _Running, queue: ChunkQueue, why: str) -> None:
        """Kill the actor of `run`, start a fresh one in its slot, and queue its chunk again."""
        self._ray.kill(self._actors[run.slot], no_restart=True)
        self._spawn(run.slot)
        self.restarts += 1
        queue.retry(run.chunk, f"Ray actor {why}")

    def summary(self) -> str:
        """Where the chunks ran and how many actors were replaced, in one line."""
        nodes = ", ".join(f"{ip} {n}" for ip, n in sorted(self.chunks_by_node.items()))
        return f"Ray: chunks per node: {nodes}; actors replaced: {self.restarts}"

    def close(self) -> None:
        if self._address and self.chunks_by_node:  # on a cluster, say which nodes did the work
            print(self.summary(), file=sys.stderr)
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []
        self._starting.clear()
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
