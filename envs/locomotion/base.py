"""`GoalTask`: the mixin that puts a goal on a Gymnasium MuJoCo v5 body.

Why a mixin and not a fork: the task subclasses Gymnasium's env, so physics,
observations, costs, health checks and termination stay Gymnasium's. The mixin only

- holds the goal (set at construction with `goal=`, or per episode with
  `reset(options={"goal": g})`; a goal set at reset stays until the next one is set),
- swaps the body's forward-progress reward part for the task's goal term (`TaskSpec.goal_term`,
  a pure function of quantities Gymnasium reports in `info`), keeps Gymnasium's other parts
  (`reward_ctrl`, `reward_contact`, `reward_survive`), and returns the sum of the parts,
- adds the goal to `info` and, only with `goal_in_obs=True`, the goal's features to the
  observation (a velocity or a direction as itself, an angle as (cos, sin), a position as
  (x, y); see `GoalSpace.features`). By default the goal is hidden: a PBML population adapts
  by evolution, not by conditioning on the goal (docs/design.md, "Tasks with changing goals"),
- renders (`render_mode="rgb_array"`) from the task's camera (`track`) with the goal markers
  `pbml record` draws, so Gymnasium's RecordVideo shows the goal too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import utils
from gymnasium.spaces import Box
from numpy.typing import ArrayLike
from pbml_envs.glfw_library import default_headless_gl
from pbml_envs.markers import marker_geoms
from pbml_envs.mujoco_log import quiet_settotalmass
from pbml_envs.registry import TaskSpec, task_spec


class GoalTask:
    """Mixin placed before a Gymnasium MuJoCo v5 env class: `class X(GoalTask, AntEnv)`.

    A subclass names its `task_id` (the `pbml_envs.goal_task` decorator sets it), whose spec
    declares a `goal_term`; one whose goal term reads more than `x_velocity` overrides
    `_goal_quantities`.
    """

    task_id: ClassVar[str]

    def __init__(self, goal: ArrayLike | None = None, goal_in_obs: bool = False, **kwargs: Any):
        self.task: TaskSpec = task_spec(self.task_id)
        if self.task.goal_term is None:
            raise ValueError(
                f"{self.task_id}: a GoalTask env computes its reward with the task's goal_term; "
                "declare it with register_goal_task(..., goal_term=...)"
            )
        self._goal = self.task.default_goal if goal is None else self.task.validate(goal)
        self.goal_in_obs = bool(goal_in_obs)
        no_camera = kwargs.get("camera_name") is None and kwargs.get("camera_id") is None
        if kwargs.get("render_mode") is not None and no_camera and self.task.camera is not None:
            kwargs["camera_name"] = self.task.camera  # follow the robot, as `pbml record` does
        with quiet_settotalmass():  # Gymnasium's XML, not the user's: see envs/mujoco_log.py
            super().__init__(**kwargs)
        # Gymnasium's bodies record their own positional args; record ours so that a pickled env
        # comes back with its construction kwargs (a goal set later travels by reset options).
        utils.EzPickle.__init__(self, goal=goal, goal_in_obs=goal_in_obs, **kwargs)
        if self.goal_in_obs:
            size = self.observation_space.shape[0] + self.task.goal_space.feature_size
            self.observation_space = Box(-np.inf, np.inf, shape=(size,), dtype=np.float64)

    @property
    def goal(self) -> np.ndarray:
        """The current goal (read-only float64 array of the task's goal shape)."""
        return self._goal

    def set_goal(self, goal: ArrayLike) -> None:
        """Change the goal from the next step on; InvalidGoalError if it is not valid."""
        self._goal = self.task.validate(goal)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if options and options.get("goal") is not None:
            self.set_goal(options["goal"])
        return super().reset(seed=seed, options=options)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        info["goal"] = self._goal.copy()
        return observation, reward, terminated, truncated, info

    def _get_reset_info(self) -> dict[str, Any]:
        return {**super()._get_reset_info(), "goal": self._goal.copy()}

    def render(self) -> Any:
        """Gymnasium's rendering plus the goal markers `pbml record` draws (AntGoal's pole...);
        headless, with no `MUJOCO_GL` set, it renders with EGL (`default_headless_gl`)."""
        if self.render_mode in ("rgb_array", "depth_array", "rgbd_tuple"):
            default_headless_gl()
        if self.render_mode is not None and self.task.goal_markers is not None:
            viewer = self.mujoco_renderer._get_viewer(self.render_mode)
            for geom in marker_geoms(self.task.goal_markers, self.model, self.data, self._goal):
                viewer.add_marker(**geom)
        return super().render()

    def _get_obs(self) -> np.ndarray:
        observation = super()._get_obs()
        if not self.goal_in_obs:
            return observation
        return np.concatenate([observation, self.task.goal_space.features(self._goal)])

    def _get_rew(self, x_velocity: float, action: np.ndarray) -> tuple[float, dict[str, float]]:
        """Gymnasium's reward parts with `reward_forward` replaced by the goal term."""
        _, body_parts = super()._get_rew(x_velocity, action)
        del body_parts["reward_forward"]
        goal_term = self.task.goal_term(self._goal_quantities(x_velocity), self._goal)
        parts = {self.task.goal_reward_key: goal_term, **body_parts}
        # Python floats: Gymnasium's ctrl cost is float32, and float32 would win the sum (NEP 50).
        parts = {key: float(value) for key, value in parts.items()}
        return sum(parts.values()), parts

    def _goal_quantities(self, x_velocity: float) -> dict[str, float]:
        """The quantities the goal term reads, named as in `info`, after a step."""
        return {"x_velocity": x_velocity}
