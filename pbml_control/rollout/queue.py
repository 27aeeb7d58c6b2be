"""The chunks of one evaluation and their retry accounting, shared by the process and Ray pools.

A chunk whose worker died, hung or was lost goes back to the front of the queue; one that has
failed more than `max_retries` times stops the evaluation with a `PoolError` that names its jobs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pbml_control.rollout.base import PoolError
from pbml_control.rollout.types import Chunk, RolloutResult


@dataclass
class ChunkQueue:
    chunks: list[Chunk]
    max_retries: int
    pending: deque[int] = field(default_factory=deque)
    attempts: dict[int, int] = field(default_factory=dict)
    results: dict[int, list[RolloutResult]] = field(default_factory=dict)
    #: Backend bookkeeping of the chunks in flight (e.g. Ray object refs -> slot and start).
    running: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pending.extend(range(len(self.chunks)))

    def jobs(self, index: int) -> str:
        chunk = self.chunks[index]
        return f"jobs {chunk.start}..{chunk.start + len(chunk) - 1}"

    def retry(self, index: int, why: str) -> None:
        """Queue chunk `index` again after a failure of its worker (`why`), or give up."""
        attempts = self.attempts.get(index, 0) + 1
        self.attempts[index] = attempts
        if attempts > self.max_retries:
            raise PoolError(
                f"{self.jobs(index)} failed {attempts} times (last: {why}); raise "
                "pool.max_retries or pool.job_timeout_s if this is expected"
            )
        self.pending.appendleft(index)

    def raised(self, index: int, where: str, detail: str) -> PoolError:
        """The error for a rollout that raised: a bug, not bad luck, so it is never retried."""
        return PoolError(f"a rollout raised in {where} ({self.jobs(index)}):\n{detail}")

    def ordered_results(self) -> list[RolloutResult]:
        return [r for i in range(len(self.chunks)) for r in self.results[i]]
