"""In-process rollouts: the reference backend, and the one to debug with."""

from __future__ import annotations

from pbml_control.rollout.base import Pool
from pbml_control.rollout.engine import EnvCache, run_chunk
from pbml_control.rollout.types import EvalBatch, RolloutResult


class SerialPool(Pool):
    def __init__(self, chunk_size: int = 8) -> None:
        super().__init__(chunk_size)
        self._cache = EnvCache()

    def evaluate(self, batch: EvalBatch) -> list[RolloutResult]:
        results: list[RolloutResult] = []
        for chunk in self.chunks(batch):
            results.extend(run_chunk(chunk, self._cache))
        return results

    def close(self) -> None:
        self._cache.close()
