"""Running observation statistics that merge exactly across workers.

Observation normalisation is part of the policy: a genome's weights only make sense with the
statistics they were evolved under, so the statistics are saved next to the policy and restored
with it. During a generation the statistics are frozen (every genome sees the same
normalisation); each worker accumulates a fresh *delta* ``RunningStats`` of the raw observations
it saw, and the parent merges the deltas in job order. The merge is Chan et al.'s parallel
algorithm ("Updating formulae and a pairwise algorithm for computing sample variances", 1979),
carried out in float64, so the merged statistics equal those of the concatenated data to float64
round-off and depend only on the job order, never on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-8


@dataclass(eq=False)
class RunningStats:
    """Count, mean and sum of squared deviations (``m2``) per observation dimension, in float64.

    ``count`` is a float64 scalar (not an int) so the merge formulae stay in one dtype and the
    arrays round-trip through ``npz`` unchanged.
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    def __post_init__(self) -> None:
        self.count = np.asarray(self.count, dtype=np.float64).reshape(())
        self.mean = np.asarray(self.mean, dtype=np.float64)
        self.m2 = np.asarray(self.m2, dtype=np.float64)
        if self.mean.ndim != 1 or self.mean.shape != self.m2.shape:
            raise ValueError(
                f"mean and m2 must be 1-D of the same shape, got {self.mean.shape} and "
                f"{self.m2.shape}"
            )

    @classmethod
    def zeros(cls, dim: int) -> RunningStats:
        """Empty statistics: ``normalize`` is the identity until data arrives."""
        return cls(np.float64(0.0), np.zeros(dim), np.zeros(dim))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def var(self) -> np.ndarray:
        """Population variance (``m2 / count``); zeros before any data."""
        if self.count == 0:
            return np.zeros_like(self.m2)
        return self.m2 / self.count

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var + _EPS)

    def update(self, batch: np.ndarray) -> None:
        """Add a batch of raw observations, shape ``(n, dim)`` (or one observation ``(dim,)``)."""
        data = np.asarray(batch, dtype=np.float64).reshape(-1, self.dim)
        if data.shape[0] == 0:
            return
        batch_mean = data.mean(axis=0)
        batch_m2 = ((data - batch_mean) ** 2).sum(axis=0)
        merged = self.merge(RunningStats(np.float64(data.shape[0]), batch_mean, batch_m2))
        self.count, self.mean, self.m2 = merged.count, merged.mean, merged.m2

    def merge(self, other: RunningStats) -> RunningStats:
        """Statistics of the union of both data sets (Chan et al. 1979); neither input changes.

        Deterministic for a fixed order of merges, which is what makes a run reproducible
        whatever the number of workers that produced the deltas.
        """
        if other.dim != self.dim:
            raise ValueError(f"cannot merge stats of dim {self.dim} and {other.dim}")
        if other.count == 0:
            return self.copy()
        if self.count == 0:
            return other.copy()
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / count)
        return RunningStats(count, mean, m2)

    def normalize(self, obs: np.ndarray, clip: float = 10.0) -> np.ndarray:
        """``clip((obs - mean) / sqrt(var + eps))`` as float32; the identity before any data.

        One-off convenience; a rollout loop should take ``normalizer()`` once per generation.
        """
        return self.normalizer(clip)(obs)

    def normalizer(self, clip: float = 10.0) -> Normalizer:
        """A frozen snapshot for the steps of one generation (statistics fixed, scale cached)."""
        if self.count == 0:
            return Normalizer(np.zeros(self.dim), np.ones(self.dim), np.inf)
        return Normalizer(self.mean.copy(), 1.0 / self.std, float(clip))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain float64 arrays for an ``npz`` checkpoint (``allow_pickle=False`` safe)."""
        return {"count": self.count.copy(), "mean": self.mean.copy(), "m2": self.m2.copy()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RunningStats:
        missing = {"count", "mean", "m2"} - set(arrays)
        if missing:
            raise ValueError(f"RunningStats arrays lack {sorted(missing)}")
        return cls(arrays["count"], arrays["mean"], arrays["m2"]).copy()

    def copy(self) -> RunningStats:
        return RunningStats(self.count.copy(), self.mean.copy(), self.m2.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunningStats):
            return NotImplemented
        return bool(
            self.count == other.count
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.m2, other.m2)
        )


@dataclass(frozen=True, eq=False)
class Normalizer:
    """``obs -> clip((obs - mean) * inv_std)`` in float64, returned as float32.

    Float64 arithmetic keeps precision when a feature's mean is large next to its spread; rows
    are computed independently, so a genome's input never depends on its batch neighbours.
    Identity (``mean`` 0, ``inv_std`` 1, no clip) for statistics without data.
    """

    mean: np.ndarray
    inv_std: np.ndarray
    clip: float

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.subtract(obs, self.mean, dtype=np.float64)
        x *= self.inv_std
        np.minimum(x, self.clip, out=x)
        np.maximum(x, -self.clip, out=x)
        return x.astype(np.float32)
