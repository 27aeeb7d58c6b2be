"""Local worker processes with persistent environments.

Workers start through `forkserver` (never `fork`: a parent that rendered must not fork workers
that render), keep their environments between generations, and each runs one chunk at a time.
The parent hands out chunks, waits on pipes and process sentinels, and re-runs the chunk of a
worker that died or ran past the timeout on a fresh worker; a chunk that fails more than
`max_retries` times stops the evaluation with `PoolError`. A Python exception inside a worker is
a bug, not bad luck: it is raised at once with the worker's traceback.

Chunks are sent from a short-lived thread per chunk: a chunk larger than the pipe's buffer
(a 64x64 network's is already ~730 KiB) blocks its sender until the worker has read it, so a
worker that stopped reading (stuck, or stopped) must not block the parent. Its chunk then simply
runs past the timeout, and the worker is killed and replaced like one that stopped answering.

The parameter matrix does not travel in the chunks: the parent writes it once per evaluation into
shared memory (`pbml_control.rollout.shared`) and a chunk names only where its rows lie, so a
chunk is a few KiB whatever the population and network size (`shared_params=False` pickles the
rows as before; the benchmark uses it to measure the difference).
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait

from pbml_control.rollout.base import PoolError, WorkerPool
from pbml_control.rollout.engine import EnvCache, run_chunk
from pbml_control.rollout.queue import ChunkQueue
from pbml_control.rollout.shared import ParamReader, ParamSegment, SharingUnavailable
from pbml_control.rollout.types import Chunk, EvalBatch, RolloutResult
from pbml_control.signals import signals_deferred

_PRELOAD = ["pbml_control.rollout.engine", "pbml_envs", "pbml_policies"]


def _worker_main(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cache, params = EnvCache(), ParamReader()
    try:
        while True:
            chunk = conn.recv()
            if chunk is None:
                return
            try:
                reply = ("ok", run_chunk(params.resolve(chunk), cache))
            except SharingUnavailable as err:
                reply = ("unshared", str(err))
            except Exception:
                reply = ("error", traceback.format_exc())
            conn.send(reply)
    except (EOFError, OSError):
        return  # the parent closed the pipe or died (killed mid-run): nobody waits for a reply
    finally:
        params.close()
        cache.close()


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection
    chunk: int | None = None
    started: float = 0.0
    #: The thread that sends the current chunk, or sent the last one (None before the first).
    sender: threading.Thread | None = None

    def send(self, chunk: Chunk) -> int:
        """Send `chunk` without waiting for the worker to read it; the bytes it takes.

        It is pickled here, so that an unpicklable chunk raises at once, and written by a
        thread; the worker's `recv` unpickles it as if `conn.send` had sent it. The previous
        sender is done: the worker answered, so it had read all of its chunk.
        """
        data = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
        if self.sender is not None:
            self.sender.join()
        self.sender = threading.Thread(
            target=_send_bytes, args=(self.conn, data), name="pbml-chunk-sender", daemon=True
        )
        self.sender.start()
        return len(data)


def _send_bytes(conn: Connection, data: bytes) -> None:
    """A sender thread's body. A worker that died before it read its chunk breaks the pipe; its
    sentinel tells the parent, which replaces it, so the error needs no handling here."""
    try:
        conn.send_bytes(data)
    except OSError:
        pass


class ProcessPool(WorkerPool):
    def __init__(
        self,
        workers: int = 2,
        chunk_size: int = 8,
        job_timeout_s: float = 600.0,
        max_retries: int = 2,
        start_method: str = "forkserver",
        shared_params: bool = True,
    ) -> None:
        super().__init__(workers, chunk_size, job_timeout_s, max_retries)
        #: The generation's parameter matrix in shared memory, or None: rows are pickled.
        self._segment = ParamSegment() if shared_params and ParamSegment.available() else None
        #: Pickled chunk bytes sent to workers so far (the benchmark reports it per generation).
        self.bytes_sent = 0
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)
        self._workers = [self._spawn() for _ in range(workers)]

    def _spawn(self, attempts: int = 3) -> _Worker:
        """A fresh worker. A forkserver that dies while it forks one (killed, OOM) makes the start
        fail with EOFError or a broken connection; the next start runs a new forkserver, so the
        start is tried again before the failure is reported."""
        for attempt in range(attempts):
            parent, child = self._ctx.Pipe()
            process = self._ctx.Process(target=_worker_main, args=(child,), daemon=True)
            try:
                with signals_deferred():
                    process.start()
            except (EOFError, ConnectionError, OSError) as err:
                parent.close()
                child.close()
                if attempt == attempts - 1:
                    raise PoolError(
                        f"could not start a rollout worker ({type(err).__name__}: {err}); the "
                        "machine may be out of memory or processes"
                    ) from err
                time.sleep(0.1 * (attempt + 1))
                continue
            child.close()
            return _Worker(process, parent)
        raise AssertionError("unreachable")

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    @property
    def shares_params(self) -> bool:
        """Whether parameters reach workers through shared memory rather than in the chunks."""
        return self._segment is not None

    def evaluate(self, batch: EvalBatch) -> list[RolloutResult]:
        chunks = self.chunks(batch)
        if self._segment is not None:  # no worker holds a chunk now: the file may be rewritten
            self._segment.publish(batch.params)
            chunks = [self._segment.share(chunk) for chunk in chunks]
        queue = ChunkQueue(chunks, self.max_retries)
        try:
            while queue.pending or any(w.chunk is not None for w in self._workers):
                self._dispatch(queue)
                self._collect(queue)
        except BaseException:
            self._abandon()  # an error or Ctrl-C: no stale reply may reach the next batch
            raise
        return queue.ordered_results()

    def _abandon(self) -> None:
        """Replace every worker that still holds a chunk of an evaluation that was given up."""
        for slot, worker in enumerate(self._workers):
            if worker.chunk is not None:
                _kill(worker)
                self._workers[slot] = self._spawn()

    def _dispatch(self, queue: ChunkQueue) -> None:
        """Hand a chunk to every idle worker. The timeout counts from here, so a worker that
        does not read its chunk runs past it just like one that does not answer."""
        for worker in self._workers:
            if worker.chunk is None and queue.pending:
                index = queue.pending.popleft()
                worker.chunk, worker.started = index, time.monotonic()
                self.bytes_sent += worker.send(queue.chunks[index])

    def _collect(self, queue: ChunkQueue) -> None:
        busy = {slot: w for slot, w in enumerate(self._workers) if w.chunk is not None}
        if not busy:
            return
        deadline = min(w.started for w in busy.values()) + self.job_timeout_s
        handles = [w.conn for w in busy.values()] + [w.process.sentinel for w in busy.values()]
        ready = set(wait(handles, timeout=max(0.0, deadline - time.monotonic())))
        now = time.monotonic()
        for slot, worker in busy.items():
            if worker.conn in ready:
                self._receive(slot, worker, queue)
            elif worker.process.sentinel in ready:
                self._replace(slot, queue, f"died ({exit_text(worker.process)})")
            elif now - worker.started > self.job_timeout_s:
                self._replace(slot, queue, f"ran past the timeout of {self.job_timeout_s:g} s")

    def _receive(self, slot: int, worker: _Worker, queue: ChunkQueue) -> None:
        try:
            status, payload = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(slot, queue, f"died ({exit_text(worker.process)})")
            return
        index, worker.chunk = worker.chunk, None
        if status == "unshared":
            self._stop_sharing(queue, payload)
            queue.pending.appendleft(index)
            return
        if status == "error":
            raise queue.raised(index, "a worker", payload)
        queue.results[index] = payload

    def _stop_sharing(self, queue: ChunkQueue, why: str) -> None:
        """A worker cannot read the shared parameters: pickle them into the chunks from now on."""
        if self._segment is not None:
            warnings.warn(f"{why}; parameters are pickled to workers instead", stacklevel=2)
            self._segment.close()
            self._segment = None
        queue.chunks = [replace(chunk, shared=None) for chunk in queue.chunks]

    def _replace(self, slot: int, queue: ChunkQueue, why: str) -> None:
        """Kill the worker in `slot`, start a fresh one, and queue its chunk again."""
        worker = self._workers[slot]
        index = worker.chunk
        _kill(worker)
        self.restarts += 1
        self._workers[slot] = self._spawn()
        if index is not None:
            queue.retry(index, f"worker {why}")

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self._workers:
            worker.process.join(timeout=2.0)
            _kill(worker)
        self._workers = []
        if self._segment is not None:
            self._segment.close()


def _kill(worker: _Worker) -> None:
    """Kill the worker, then close its pipe once no sender writes to it: the reader is gone, so
    a send still blocked on the pipe fails at once. A pipe that a sender might still write to is
    left open, since a closed descriptor may be reused under that sender's feet."""
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(timeout=5.0)
    if worker.sender is not None:
        worker.sender.join(timeout=5.0)
        if worker.sender.is_alive():
            return
    worker.conn.close()


def exit_text(process) -> str:
    """How a worker process ended, in words (its exit status may need a moment to arrive)."""
    process.join(timeout=1.0)
    code = process.exitcode
    if code is None:
        return "no exit status: it stopped responding and was killed"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"
