"""The rollout pool API: `evaluate(batch)` returns one result per job, in job order.

Backends differ only in where chunks run. Chunks are cut by job index with a fixed size, so the
same batch gives bit-identical results on every backend and for any number of workers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pbml_control.errors import UserError
from pbml_control.rollout.types import Chunk, EvalBatch, RolloutResult


class PoolError(UserError):
    """A job failed past its retries, or a worker raised: the run stops (its last checkpoint is
    intact)."""


class Pool(ABC):
    """Evaluates batches of rollout jobs. Use as a context manager, or call `close()`."""

    def __init__(self, chunk_size: int = 8) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.chunk_size = chunk_size

    def chunks(self, batch: EvalBatch) -> list[Chunk]:
        n = len(batch)
        return [batch.chunk(i, min(i + self.chunk_size, n)) for i in range(0, n, self.chunk_size)]

    @abstractmethod
    def evaluate(self, batch: EvalBatch) -> list[RolloutResult]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and environments."""

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WorkerPool(Pool):
    """A pool of separate workers (processes, Ray actors): a worker that dies or runs past
    `job_timeout_s` is replaced and its chunk re-run, at most `max_retries` times."""

    def __init__(
        self, workers: int, chunk_size: int, job_timeout_s: float, max_retries: int
    ) -> None:
        super().__init__(chunk_size)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.job_timeout_s = job_timeout_s
        self.max_retries = max_retries
        #: Workers replaced so far (tests read it).
        self.restarts = 0
