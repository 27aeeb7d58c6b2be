"""Goal schedules: when the fitness landscape changes (docs/design.md, "Tasks with changing goals").

A schedule maps a generation to a goal and carries no hidden state: goal segments are drawn from
the seed stream keyed by segment index, so a resumed run sees the same goals. Schedules are named
registry entries: `SCHEDULES[name](cfg, task_id, seed)`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pbml_control.running.config import GoalConfig
from pbml_control.seeding import Purpose, stream


def plain_goal(goal) -> float | list:
    """A goal as Python floats (a float, or a list of them): what a goal error should quote
    ("goal 5.0 is out of range", never "array(5.)"); validation turns it back into an array."""
    return np.asarray(goal, dtype=np.float64).tolist()


def _has_goals(task_id: str) -> bool:
    import pbml_envs

    return pbml_envs.is_goal_task(task_id)


class GoalSchedule:
    """Base: `goal_at(generation)` and `segment(generation)` (index of the goal period)."""

    def __init__(self, cfg: GoalConfig, task_id: str, seed: int) -> None:
        self.cfg, self.task_id, self.seed = cfg, task_id, seed
        self.has_goals = _has_goals(task_id)

    def segment(self, generation: int) -> int:
        return generation // self.cfg.every

    def goal_at(self, generation: int) -> np.ndarray | None:
        if not self.has_goals:
            return None
        return self._goal(self.segment(generation))

    def _goal(self, segment: int) -> np.ndarray:
        raise NotImplementedError

    def _sample(self, segment: int) -> np.ndarray:
        import pbml_envs

        rng = stream(self.seed, Purpose.GOALS, segment)
        return pbml_envs.sample_goals(self.task_id, rng, 1, split=self.cfg.split)[0]

    def changes_at(self, generation: int) -> bool:
        """True when the goal at `generation` differs from the one before it."""
        return generation > 0 and self.segment(generation) != self.segment(generation - 1)


class EverySchedule(GoalSchedule):
    """A new goal from the task's split every `every` generations: the changing landscape."""

    def _goal(self, segment: int) -> np.ndarray:
        return self._sample(segment)


class FixedSchedule(GoalSchedule):
    """One goal for the whole run: the static-environment baseline."""

    def segment(self, generation: int) -> int:
        return 0

    def _goal(self, segment: int) -> np.ndarray:
        if self.cfg.goal:
            import pbml_envs

            return pbml_envs.validate_goal(self.task_id, plain_goal(self.cfg.goal))
        return self._sample(0)


class ListSchedule(GoalSchedule):
    """The goals of `goals.goals` in order, `every` generations each, cycled."""

    def _goal(self, segment: int) -> np.ndarray:
        import pbml_envs

        goal = self.cfg.goals[segment % len(self.cfg.goals)]
        return pbml_envs.validate_goal(self.task_id, plain_goal(goal))


SCHEDULES: dict[str, Callable[..., GoalSchedule]] = {
    "every": EverySchedule,
    "fixed": FixedSchedule,
    "list": ListSchedule,
}


def make_schedule(cfg: GoalConfig, task_id: str, seed: int) -> GoalSchedule:
    return SCHEDULES[cfg.schedule](cfg, task_id, seed)
