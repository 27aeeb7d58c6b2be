"""The registry of goal tasks: the public way to declare a task whose goal changes.

Why a registry of our own next to Gymnasium's: Gymnasium knows how to build an env, not what its
goal is. The trainer, `pbml transfer` and `pbml record` need a task's goal shape, which goals are
valid, the training distribution and its splits, and the reward part the goal drives, without
building the env. `register_goal_task` (or the `goal_task` class decorator) records that once,
in a `TaskSpec`, and registers the id with Gymnasium; the built-in `pbml/` tasks are declared
the same way (`pbml_envs.tasks`).

The env protocol (what the rollout pool, `pbml record` and Gymnasium users rely on):

- the env class takes `goal=None` at construction (None: the task's default goal) and
  `reset(options={"goal": g})` sets the goal from that episode on (until the next one is set);
- it validates goals with `pbml_envs.validate_goal(task_id, g)` (or `TaskSpec.validate`);
- `info[goal_reward_key]` holds the goal's reward part, and `info["goal"]` the current goal.

Packages add tasks through the entry point group `pbml_control.tasks`: each entry names a module
whose import registers tasks, or a callable that registers them. Entry points are loaded lazily,
the first time an id is looked up that is not registered yet, so `import pbml_envs` stays cheap
and a saved run never imports a module it names: only packages the user installed are loaded.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import gymnasium
import numpy as np
from gymnasium import error
from pbml_envs.goals import GoalSpace

#: Entry point group that packages use to register goal tasks.
ENTRY_POINT_GROUP = "pbml_control.tasks"

EPISODE_STEPS = 200
"""Default episode length: the meta-RL horizon (MAML, PEARL), not Gymnasium's 1000."""

GoalTerm = Callable[[dict[str, Any], np.ndarray], np.ndarray]
#: Draws a goal into a MuJoCo scene: `markers(mjvScene, MjData, goal)`.
Markers = Callable[[Any, Any, np.ndarray], None]


class UnknownTaskError(error.UnregisteredEnv, ValueError):
    """A task id that is not a registered goal task; the message lists the known ids."""


class GoalOutsideDistribution(UserWarning):
    """A valid goal outside the task's training distribution (accepted; noted once per goal)."""


@dataclass(frozen=True, eq=False)
class TaskSpec:
    """What the trainer needs to know about a goal task without building it.

    `goal_term(quantities, goal)` is the reward's goal part (reported in `info` under
    `goal_reward_key`); the built-in tasks' fast path computes rewards of raw MuJoCo states with
    it, other tasks may leave it None. `body`, `description`, `reward` document the task.
    """

    id: str
    entry_point: str | Callable[..., gymnasium.Env]
    goal_space: GoalSpace = field(repr=False)
    default_goal: np.ndarray
    goal_reward_key: str
    max_episode_steps: int = EPISODE_STEPS
    goal_term: GoalTerm | None = field(default=None, repr=False)
    body: str = ""
    description: str = ""
    reward: str = ""
    #: The camera `render_mode="rgb_array"` and `pbml record` use (None: MuJoCo's free camera).
    camera: str | None = None
    #: How videos draw the goal into the scene (None: the caption only).
    goal_markers: Markers | None = field(default=None, repr=False)
    #: The video caption for a goal (None: "goal" and its numbers).
    goal_caption: Callable[[np.ndarray], str] | None = field(default=None, repr=False)

    @property
    def goal_shape(self) -> tuple[int, ...]:
        return self.goal_space.shape

    @property
    def goal_low(self) -> np.ndarray:
        return self.goal_space.low

    @property
    def goal_high(self) -> np.ndarray:
        return self.goal_space.high

    @property
    def split(self) -> str:
        return self.goal_space.split_text

    def validate(self, goal: object, note: bool = True) -> np.ndarray:
        """The goal as a read-only float64 array; InvalidGoalError if it is not valid.

        A valid goal outside the training distribution is accepted; with `note`, a
        `GoalOutsideDistribution` warning says so, once per task and goal in this process.
        """
        array = self.goal_space.validate(goal, self.id)
        if note and not self.in_distribution(array):
            _note_outside(self, array)
        return array

    def in_distribution(self, goal: object) -> bool:
        """Whether a valid goal lies inside the task's training distribution."""
        array = self.goal_space.validate(goal, self.id)
        return bool(self.goal_space.in_distribution(array))


_REGISTRY: dict[str, TaskSpec] = {}
_NOTED: set[tuple[str, bytes]] = set()
_entry_points = {"loaded": False, "errors": []}


def _note_outside(spec: TaskSpec, goal: np.ndarray) -> None:
    key = (spec.id, goal.tobytes())
    if key in _NOTED:
        return
    _NOTED.add(key)
    shown = np.array2string(goal, precision=4) if goal.ndim else f"{float(goal):g}"
    warnings.warn(
        f"{spec.id}: goal {shown} is outside the training distribution "
        f"({spec.goal_space.range_text}); accepted",
        GoalOutsideDistribution,
        stacklevel=4,
    )


def register_goal_task(
    id: str,  # noqa: A002 - Gymnasium's name for it
    *,
    entry_point: str | Callable[..., gymnasium.Env],
    goal_space: GoalSpace,
    default_goal: Any,
    goal_reward_key: str,
    max_episode_steps: int = EPISODE_STEPS,
    **details: Any,
) -> TaskSpec:
    """Declare a goal task and register its id with Gymnasium; returns its `TaskSpec`.

    `entry_point` is what `gymnasium.register` takes ("module:Class" keeps the id importable in
    worker processes). `details` are the optional `TaskSpec` fields (goal_term, body,
    description, reward, camera, goal_markers, goal_caption). Registering an id again with the
    same entry point replaces the spec (a reloaded module); another entry point is a ValueError.
    """
    if not isinstance(goal_space, GoalSpace):
        raise TypeError(f"{id}: goal_space must be a pbml_envs.goals.GoalSpace")
    old = _REGISTRY.get(id)
    if old is not None and old.entry_point != entry_point:
        raise ValueError(
            f"goal task {id!r} is already registered with entry point {old.entry_point!r}"
        )
    spec = TaskSpec(
        id=id,
        entry_point=entry_point,
        goal_space=goal_space,
        default_goal=goal_space.validate(default_goal, id),
        goal_reward_key=goal_reward_key,
        max_episode_steps=int(max_episode_steps),
        **details,
    )
    _REGISTRY[id] = spec
    gym_spec = gymnasium.registry.get(id)
    if gym_spec is None or gym_spec.entry_point != entry_point:
        gymnasium.register(id=id, entry_point=entry_point, max_episode_steps=spec.max_episode_steps)
    return spec


def goal_task(id: str, **declaration: Any) -> Callable[[type], type]:  # noqa: A002
    """Class decorator: `register_goal_task(id, entry_point="module:Class", ...)` for the class.

    Also sets the class's `task_id`, which `pbml_envs.locomotion.GoalTask` reads.
    """

    def register(cls: type) -> type:
        cls.task_id = id
        register_goal_task(id, entry_point=f"{cls.__module__}:{cls.__qualname__}", **declaration)
        return cls

    return register


def load_entry_points() -> None:
    """Import the `pbml_control.tasks` entry points of installed packages (once per process).

    A failing entry point does not stop the others; it is warned about, and named again when an
    id is not found.
    """
    if _entry_points["loaded"]:
        return
    _entry_points["loaded"] = True
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if callable(loaded) and not isinstance(loaded, ModuleType):
                loaded()
        except Exception as exc:  # a broken third-party package must not hide the others
            problem = f"{entry.name} = {entry.value}: {exc!r}"
            _entry_points["errors"].append(problem)
            warnings.warn(
                f"{ENTRY_POINT_GROUP} entry point failed to load, its tasks are missing: {problem}",
                RuntimeWarning,
                stacklevel=2,
            )


def _registered_name(task_id: str) -> str:
    """The id without Gymnasium's `module:` prefix when that module is already imported.

    A module that is not imported is never imported here (a saved run must not import it).
    """
    module, sep, name = task_id.partition(":")
    return name if sep and module in sys.modules else task_id


def find_task(task_id: str) -> TaskSpec | None:
    """The spec of a registered goal task, or None (loads entry points for an unknown id)."""
    name = _registered_name(task_id)
    spec = _REGISTRY.get(name)
    if spec is None and ":" not in name and not _entry_points["loaded"]:
        load_entry_points()
        spec = _REGISTRY.get(name)
    return spec


def is_goal_task(task_id: str) -> bool:
    """Whether `task_id` names a registered goal task (built in, or registered by a package)."""
    return find_task(task_id) is not None


def task_ids() -> tuple[str, ...]:
    """The ids of all registered goal tasks, built-in first (loads entry points)."""
    load_entry_points()
    return tuple(_REGISTRY)


def task_spec(task_id: str) -> TaskSpec:
    """The spec of a registered goal task; UnknownTaskError listing the known ids otherwise."""
    spec = find_task(task_id)
    if spec is None:
        broken = _entry_points["errors"]
        hint = f"; entry points that failed to load: {'; '.join(broken)}" if broken else ""
        raise UnknownTaskError(
            f"unknown goal task {task_id!r}; registered goal tasks: {', '.join(task_ids())} "
            f"(register one with pbml_envs.register_goal_task){hint}"
        )
    return spec


class TaskIds(Sequence[str]):
    """A live, read-only view of the registered goal task ids (what `pbml_envs.TASK_IDS` is)."""

    def __getitem__(self, index):  # type: ignore[override]
        return task_ids()[index]

    def __len__(self) -> int:
        return len(task_ids())

    def __iter__(self) -> Iterator[str]:
        return iter(task_ids())

    def __contains__(self, task_id: object) -> bool:
        return isinstance(task_id, str) and is_goal_task(task_id)

    def __repr__(self) -> str:
        return f"TaskIds{task_ids()!r}"
