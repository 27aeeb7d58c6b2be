"""Goal spaces of the locomotion tasks: range checks, observation features and train/test splits.

Why a split: PBML is judged on how well a population adapts to goals it was never selected on
(docs/design.md, claim 1), so a held-out goal must be unreachable from the train sampler.

The split (our design; MAML and PEARL only fix the ranges) is *interleaved held-out bands*: the
goal's coordinate (a velocity, or the angle of a direction or of a goal position) is cut into
equal periods, and one band of each period -- by default its second quarter -- is held out for
testing. Interleaving keeps both splits spread over the whole range, so test goals measure
adaptation to new goals inside the training range rather than extrapolation to its edge, and the
two splits are disjoint by construction (a test checks it). Sampling is exact inverse-CDF
sampling: each split is uniform on its own part of the range, with a fixed number of draws.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "test")
_DEGREES = 180.0 / math.pi


class InvalidGoalError(ValueError):
    """A goal has the wrong shape, is not finite, or lies outside its task's range."""


def check_split(split: str) -> str:
    """Return `split` if it names a split; otherwise raise a ValueError listing the valid ones."""
    if split not in SPLITS:
        raise ValueError(f"unknown goal split {split!r}; expected one of {SPLITS}")
    return split


@dataclass(frozen=True)
class BandSplit:
    """Interleaved held-out bands on a 1-D coordinate in [low, high).

    The coordinate's range is `n_periods` periods long; a coordinate belongs to the test split
    when its phase within its period lies in `test_band` (fractions of a period, half-open).
    """

    low: float
    high: float
    n_periods: int
    test_band: tuple[float, float] = (0.25, 0.5)

    def __post_init__(self) -> None:
        a, b = self.test_band
        if not (0.0 <= a < b <= 1.0) or self.n_periods < 1 or self.high <= self.low:
            raise ValueError(f"bad BandSplit: {self}")

    @property
    def period(self) -> float:
        return (self.high - self.low) / self.n_periods

    def is_test(self, x: np.ndarray) -> np.ndarray:
        """True where coordinate `x` lies in a held-out band (vectorised)."""
        phase = np.mod(np.asarray(x, dtype=np.float64) - self.low, self.period) / self.period
        return (phase >= self.test_band[0]) & (phase < self.test_band[1])

    def sample(self, rng: np.random.Generator, n: int, split: str) -> np.ndarray:
        """Draw `n` coordinates uniformly from the split's part of [low, high)."""
        a, b = self.test_band
        width = b - a
        period_index = rng.integers(self.n_periods, size=n)
        u = rng.random(n)
        if check_split(split) == "test":
            phase = a + u * width
        else:
            phase = u * (1.0 - width)
            phase = np.where(phase >= a, phase + width, phase)
        return self.low + (period_index + phase) * self.period

    def describe(self, scale: float = 1.0, unit: str = "") -> str:
        """Say which goals are held out, e.g. `test = [0.25, 0.5) + k*1 for k = 0..2`."""
        a, b = (self.low + t * self.period for t in self.test_band)
        return (
            f"test = [{a * scale:g}, {b * scale:g}) + k*{self.period * scale:g}{unit} "
            f"for k = 0..{self.n_periods - 1}; train = the rest"
        )


class GoalSpace(ABC):
    """A task's set of valid goals: shape, bounds, sampling per split, validation, obs features.

    `held_out` is False for goal sets too small to hold goals out (two directions); their test
    split is the train split, and the task's documentation says so.
    """

    shape: tuple[int, ...] = ()
    held_out: bool = True

    def __init__(self, low: np.ndarray, high: np.ndarray, range_text: str, split_text: str):
        self.low = _frozen(low)
        self.high = _frozen(high)
        self.range_text = range_text
        self.split_text = split_text

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        """Draw `n` goals, shape (n, *shape), float64, from one split."""

    @abstractmethod
    def contains(self, goals: np.ndarray) -> np.ndarray:
        """True for each goal (leading batch axes allowed) that lies in the task's range."""

    @abstractmethod
    def is_test(self, goals: np.ndarray) -> np.ndarray:
        """True for each goal in the held-out test split (all False when nothing is held out)."""

    def features(self, goal: np.ndarray) -> np.ndarray:
        """What the policy sees of the goal when a task puts it in the observation (1-D)."""
        return np.atleast_1d(np.asarray(goal, dtype=np.float64))

    @property
    def feature_size(self) -> int:
        return int(self.features(self.low).size)

    def validate(self, goal: object, task_id: str) -> np.ndarray:
        """Return `goal` as a float64 array of `shape`; raise InvalidGoalError naming the task.

        A scalar goal may also come as a one-item sequence (`[1.5]`), the way TOML configs list it.
        """
        try:
            array = np.array(goal, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise self._error(goal, task_id, "is not numeric") from exc
        if self.shape == () and array.shape == (1,):
            array = array.reshape(())  # a scalar goal written as a one-item list, as TOML gives it
        if array.shape != self.shape:
            raise self._error(goal, task_id, f"has shape {array.shape}, not {self.shape}")
        if not np.all(np.isfinite(array)):
            raise self._error(goal, task_id, "is not finite")
        if not bool(self.contains(array)):
            raise self._error(goal, task_id, "is out of range")
        array.flags.writeable = False
        return array

    def _error(self, goal: object, task_id: str, problem: str) -> InvalidGoalError:
        return InvalidGoalError(f"{task_id}: goal {goal!r} {problem}; expected {self.range_text}")


class IntervalGoals(GoalSpace):
    """A scalar goal in [low, high] (a target velocity), split by interleaved bands."""

    def __init__(self, low: float, high: float, n_periods: int, what: str, unit: str = ""):
        self.bands = BandSplit(low, high, n_periods)
        super().__init__(
            np.float64(low),
            np.float64(high),
            f"{what}, a float in [{low:g}, {high:g}]{unit}",
            self.bands.describe(),
        )

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        return self.bands.sample(rng, n, split)

    def contains(self, goals: np.ndarray) -> np.ndarray:
        return (goals >= self.low) & (goals <= self.high)

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        return self.bands.is_test(goals)


class AngleGoals(GoalSpace):
    """A direction angle in [0, 2pi) (radians, counter-clockwise from +x), split by sectors.

    The policy sees (cos, sin) rather than the angle, so that 0 and 2pi - eps look alike.
    """

    def __init__(self, n_periods: int = 4):
        self.bands = BandSplit(0.0, 2.0 * math.pi, n_periods)
        super().__init__(
            np.float64(0.0),
            np.float64(2.0 * math.pi),
            "a direction angle in radians, a float in [0, 2pi)",
            self.bands.describe(_DEGREES, " deg"),
        )

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        return np.mod(self.bands.sample(rng, n, split), 2.0 * math.pi)

    def contains(self, goals: np.ndarray) -> np.ndarray:
        return (goals >= 0.0) & (goals < 2.0 * math.pi)

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        return self.bands.is_test(goals)

    def features(self, goal: np.ndarray) -> np.ndarray:
        return np.array([np.cos(goal), np.sin(goal)], dtype=np.float64)


class SignGoals(GoalSpace):
    """A direction along x: +1 (forward) or -1 (backward). Nothing is held out: test = train."""

    held_out = False

    def __init__(self) -> None:
        super().__init__(
            np.float64(-1.0),
            np.float64(1.0),
            "a direction, -1.0 or +1.0",
            "no held-out goal (there are only two); test = train = {-1, +1}",
        )

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        check_split(split)
        return np.where(rng.random(n) < 0.5, -1.0, 1.0)

    def contains(self, goals: np.ndarray) -> np.ndarray:
        return (goals == -1.0) | (goals == 1.0)

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(goals), dtype=bool)


class DiscGoals(GoalSpace):
    """A goal position (x, y) uniform in a disc around the origin, split by angular sectors.

    Area-uniform (radius = R * sqrt(u)), as in PEARL's ant-goal task; the held-out sectors are
    those of `AngleGoals`, applied to the angle of the goal position.
    """

    shape = (2,)

    def __init__(self, radius: float = 3.0, n_periods: int = 4):
        self.radius = float(radius)
        self.bands = BandSplit(0.0, 2.0 * math.pi, n_periods)
        super().__init__(
            np.full(2, -radius),
            np.full(2, radius),
            f"a goal position (x, y), shape (2,), with norm <= {radius:g}",
            self.bands.describe(_DEGREES, " deg") + " (sectors of the goal's polar angle)",
        )

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        angle = self.bands.sample(rng, n, split)
        r = self.radius * np.sqrt(rng.random(n))
        return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)

    def contains(self, goals: np.ndarray) -> np.ndarray:
        return np.linalg.norm(goals, axis=-1) <= self.radius * (1.0 + 1e-12)

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        goals = np.asarray(goals, dtype=np.float64)
        return self.bands.is_test(np.arctan2(goals[..., 1], goals[..., 0]))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array
