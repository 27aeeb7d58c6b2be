"""Goal spaces: which goals are valid, which the task trains on, observation features, splits.

Valid is not the same as in distribution. A goal is *valid* when the task can pursue it at all:
the right shape, finite, physically meaningful (a velocity within a sane bound, a direction of
+-1, any angle -- wrapped into [0, 2pi) -- or any point within a sane radius). The *distribution*
is what the task trains on: `sample` draws from it and `in_distribution` says whether a goal lies
inside it. Valid goals outside the distribution are accepted everywhere (transfer to new goals is
what PBML is for); `pbml_envs.validate_goal` notes them in one line.

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
    """A goal has the wrong shape, is not finite, or is not physically meaningful for its task."""


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

    def sample(
        self, rng: np.random.Generator, n: int, split: str, stratified: bool = False
    ) -> np.ndarray:
        """Draw `n` coordinates uniformly from the split's part of [low, high).

        ``stratified``: the periods (bands) take turns, so `n` draws cover every band as evenly
        as `n` allows (a study's few probe goals then never miss a band by chance); which bands
        get one draw more is random. Within its band each draw is still uniform.
        """
        a, b = self.test_band
        width = b - a
        if stratified:
            period_index = rng.permutation(np.arange(n) % self.n_periods)
        else:
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
    """A task's goals: validity, the training distribution and its splits, observation features.

    Subclasses say what is valid (`is_valid`, after `canonical`), what is in the distribution
    (`in_distribution`) and how to draw from it (`sample`). `low`/`high` bound the distribution
    coordinate-wise; `range_text` describes the distribution and `valid_text` the valid goals, for
    messages. `held_out` is False for goal sets too small to hold goals out (two directions);
    their test split is the train split, and the task's documentation says so.
    """

    shape: tuple[int, ...] = ()
    held_out: bool = True

    def __init__(
        self,
        low: np.ndarray,
        high: np.ndarray,
        range_text: str,
        split_text: str,
        valid_text: str | None = None,
    ):
        self.low = _frozen(low)
        self.high = _frozen(high)
        self.range_text = range_text
        self.split_text = split_text
        self.valid_text = range_text if valid_text is None else valid_text

    @abstractmethod
    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
    ) -> np.ndarray:
        """Draw `n` goals, shape (n, *shape), float64, from one split; ``stratified`` spreads
        them evenly over the split's bands (see `BandSplit.sample`)."""

    @abstractmethod
    def in_distribution(self, goals: np.ndarray) -> np.ndarray:
        """True for each goal (leading batch axes allowed) inside the training distribution."""

    @abstractmethod
    def is_test(self, goals: np.ndarray) -> np.ndarray:
        """True for each goal in the held-out test split (all False when nothing is held out)."""

    def contains(self, goals: np.ndarray) -> np.ndarray:
        """Alias of `in_distribution` (the name of earlier versions)."""
        return self.in_distribution(goals)

    def is_valid(self, goal: np.ndarray) -> bool:
        """Whether a finite goal of the right shape (after `canonical`) is physically meaningful."""
        return True

    def canonical(self, goal: np.ndarray) -> np.ndarray:
        """The goal's one representation (an angle wrapped into [0, 2pi)); identity by default."""
        return goal

    def features(self, goal: np.ndarray) -> np.ndarray:
        """What the policy sees of the goal when a task puts it in the observation (1-D)."""
        return np.atleast_1d(np.asarray(goal, dtype=np.float64))

    @property
    def feature_size(self) -> int:
        return int(self.features(self.low).size)

    def validate(self, goal: object, task_id: str) -> np.ndarray:
        """Return `goal` as a read-only float64 array of `shape`, canonical; InvalidGoalError
        naming the task when it is not valid. Goals outside the distribution pass.

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
        array = np.array(self.canonical(array), dtype=np.float64)
        if not self.is_valid(array):
            raise self._error(goal, task_id, "is not a valid goal")
        array.flags.writeable = False
        return array

    def _error(self, goal: object, task_id: str, problem: str) -> InvalidGoalError:
        return InvalidGoalError(f"{task_id}: goal {goal!r} {problem}; expected {self.valid_text}")


class IntervalGoals(GoalSpace):
    """A scalar goal (a target velocity) trained on [low, high], split by interleaved bands.

    Valid: any finite value with |goal| <= `limit` (default: any finite value). The velocity
    tasks use `limit=VELOCITY_LIMIT`: a sanity bound, far beyond what any body reaches, that
    catches a goal typed in the wrong unit rather than saying what a body can do.
    """

    def __init__(
        self,
        low: float,
        high: float,
        n_periods: int,
        what: str,
        unit: str = "",
        limit: float = math.inf,
    ):
        self.bands = BandSplit(low, high, n_periods)
        self.limit = float(limit)
        bound = "" if math.isinf(self.limit) else f" with |goal| <= {self.limit:g}{unit}"
        super().__init__(
            np.float64(low),
            np.float64(high),
            f"{what}, a float in [{low:g}, {high:g}]{unit}",
            self.bands.describe(),
            f"{what}, a finite float{bound}",
        )

    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
    ) -> np.ndarray:
        return self.bands.sample(rng, n, split, stratified)

    def in_distribution(self, goals: np.ndarray) -> np.ndarray:
        return (goals >= self.low) & (goals <= self.high)

    def is_valid(self, goal: np.ndarray) -> bool:
        return bool(np.all(np.abs(goal) <= self.limit))

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        return self.bands.is_test(goals)


#: Sanity bound on a target velocity, m/s (see `IntervalGoals`).
VELOCITY_LIMIT = 100.0
_TWO_PI = 2.0 * math.pi


class AngleGoals(GoalSpace):
    """A direction angle (radians, counter-clockwise from +x), split by sectors.

    Every finite angle is valid and is wrapped into [0, 2pi) (-0.5 -> 2pi - 0.5, 2pi -> 0); the
    distribution covers all directions, so every valid angle is in it. The policy sees
    (cos, sin) rather than the angle, so that 0 and 2pi - eps look alike.
    """

    def __init__(self, n_periods: int = 4):
        self.bands = BandSplit(0.0, _TWO_PI, n_periods)
        super().__init__(
            np.float64(0.0),
            np.float64(_TWO_PI),
            "a direction angle in radians, a float in [0, 2pi)",
            self.bands.describe(_DEGREES, " deg"),
            "a direction angle in radians, a finite float (wrapped into [0, 2pi))",
        )

    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
    ) -> np.ndarray:
        return np.mod(self.bands.sample(rng, n, split, stratified), _TWO_PI)

    def canonical(self, goal: np.ndarray) -> np.ndarray:
        wrapped = np.mod(goal, _TWO_PI)  # exact for angles already in [0, 2pi)
        return np.where(wrapped >= _TWO_PI, 0.0, wrapped)  # a tiny negative angle rounds to 2pi

    def in_distribution(self, goals: np.ndarray) -> np.ndarray:
        return np.isfinite(goals)

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

    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
    ) -> np.ndarray:
        check_split(split)
        if stratified:  # the two directions take turns
            return rng.permutation(np.where(np.arange(n) % 2 == 0, -1.0, 1.0))
        return np.where(rng.random(n) < 0.5, -1.0, 1.0)

    def in_distribution(self, goals: np.ndarray) -> np.ndarray:
        return (goals == -1.0) | (goals == 1.0)

    def is_valid(self, goal: np.ndarray) -> bool:
        return bool(np.all(self.in_distribution(goal)))

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(goals), dtype=bool)


class DiscGoals(GoalSpace):
    """A goal position (x, y) trained uniformly in a disc around the origin, split by sectors.

    Area-uniform (radius = R * sqrt(u)), as in PEARL's ant-goal task; the held-out sectors are
    those of `AngleGoals`, applied to the angle of the goal position. Valid: any finite point
    with norm <= `limit` (default: any finite point).
    """

    shape = (2,)

    def __init__(self, radius: float = 3.0, n_periods: int = 4, limit: float = math.inf):
        self.radius = float(radius)
        self.limit = float(limit)
        self.bands = BandSplit(0.0, _TWO_PI, n_periods)
        bound = "" if math.isinf(self.limit) else f" with norm <= {self.limit:g}"
        super().__init__(
            np.full(2, -radius),
            np.full(2, radius),
            f"a goal position (x, y), shape (2,), with norm <= {radius:g}",
            self.bands.describe(_DEGREES, " deg") + " (sectors of the goal's polar angle)",
            f"a goal position (x, y), shape (2,), finite{bound}",
        )

    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train", stratified: bool = False
    ) -> np.ndarray:
        angle = self.bands.sample(rng, n, split, stratified)
        r = self.radius * np.sqrt(rng.random(n))
        return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)

    def in_distribution(self, goals: np.ndarray) -> np.ndarray:
        return np.linalg.norm(goals, axis=-1) <= self.radius * (1.0 + 1e-12)

    def is_valid(self, goal: np.ndarray) -> bool:
        return bool(np.linalg.norm(goal) <= self.limit)

    def is_test(self, goals: np.ndarray) -> np.ndarray:
        goals = np.asarray(goals, dtype=np.float64)
        return self.bands.is_test(np.arctan2(goals[..., 1], goals[..., 0]))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array
