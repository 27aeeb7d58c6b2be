"""Roll genomes out and render them with MuJoCo's tracking camera, one panel per genome.

A genome acts exactly as in training (`pbml_control.rollout.engine`): observations normalised by
the run's frozen statistics, the policy's [-1, 1] outputs scaled onto the action box, episodes
reset with `episode_seed(seed, episode)`. Everything runs in this process, one panel after the
other: an OpenGL context does not survive a fork, so a process that rendered never hands
rendering to forked workers (and recording a few genomes does not need them).

Frames: one after each reset, then one every `stride` steps and one at the end, where `stride`
makes the video play in real time at the requested fps (default: the task's control rate, capped
at 50).
An episode lasts until every panel's episode has ended; ended panels stay, dimmed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbml_control.errors import UserError
from pbml_control.rollout.actions import scale_actions
from pbml_control.rollout.engine import episode_seed
from pbml_control.video import overlay
from pbml_control.video.genomes import RankedGenome
from pbml_control.video.scene import GoalArt, VelocityMeter, goal_art

MAX_DEFAULT_FPS = 50


@dataclass(frozen=True)
class VideoSpec:
    """What to record: task, goal, episodes and picture size."""

    task_id: str
    goal: np.ndarray | None
    episodes: int = 1
    steps: int = 200
    width: int = 480
    height: int = 360
    #: Frames per second; None: the task's control rate, at most MAX_DEFAULT_FPS.
    fps: int | None = None
    seed: int = 0
    #: Constructor kwargs of the task, as in training (`cfg.task.kwargs`, `goal_in_obs`).
    env_kwargs: dict[str, Any] = field(default_factory=dict)


def make_env(spec: VideoSpec):
    """The task's environment, built like the trainer builds it (no Gymnasium render mode: the
    renderer is ours, so that goal markers can be added to the scene)."""
    import pbml_envs

    kwargs = {**spec.env_kwargs, "max_episode_steps": spec.steps}
    if spec.goal is not None:
        kwargs["goal"] = spec.goal
    if pbml_envs.is_goal_task(spec.task_id):
        return pbml_envs.make_env(spec.task_id, **kwargs)
    import gymnasium

    return gymnasium.make(spec.task_id, **kwargs)


def frame_timing(dt: float, fps: int | None) -> tuple[int, int]:
    """(fps, stride): render every `stride` steps so that playback at `fps` is real time."""
    rate = 1.0 / dt
    if fps is None:
        stride = max(1, math.ceil(rate / MAX_DEFAULT_FPS))
        return max(1, round(rate / stride)), stride
    return fps, max(1, round(rate / fps))


def _camera(model: Any, task_id: str) -> str | int:
    """The task's declared camera, else the body's `track` camera, else MuJoCo's free camera."""
    import mujoco
    import pbml_envs

    spec = pbml_envs.find_task(task_id)
    for name in (spec.camera if spec else None, "track"):
        if name and mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) >= 0:
            return name
    return -1


class Panel:
    """One genome in its own environment, drawn by its own MuJoCo renderer."""

    def __init__(self, genome: RankedGenome, policy: Any, normalize, spec: VideoSpec) -> None:
        import mujoco

        self.genome, self.spec, self.normalize = genome, spec, normalize
        self.env = make_env(spec)
        self.act = policy.batched(np.ascontiguousarray(genome.params[None], dtype=np.float32))
        space = self.env.action_space
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
        model = self.env.unwrapped.model
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, spec.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, spec.height)
        self.renderer = mujoco.Renderer(model, spec.height, spec.width)
        self.camera = _camera(model, spec.task_id)
        self.art: GoalArt = goal_art(spec.task_id)
        self.meter = VelocityMeter(round(1.0 / self.env.unwrapped.dt))
        self.obs = np.zeros(0)
        self.active = False
        self.episode_return = 0.0

    def reset(self, seed: int) -> None:
        options = None if self.spec.goal is None else {"goal": self.spec.goal}
        self.obs, _ = self.env.reset(seed=seed, options=options)
        self.active, self.episode_return = True, 0.0
        self.meter.reset()

    def step(self) -> None:
        if not self.active:
            return
        obs = np.asarray(self.obs, dtype=np.float64)[None]
        inputs = obs.astype(np.float32) if self.normalize is None else self.normalize(obs)
        action = scale_actions(self.act(inputs).astype(np.float64), self.low, self.high)[0]
        self.obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.meter.add(info)
        self.active = not (terminated or truncated) and bool(np.all(np.isfinite(self.obs)))

    def frame(self, label: str) -> np.ndarray:
        data = self.env.unwrapped.data
        self.renderer.update_scene(data, camera=self.camera)
        if self.spec.goal is not None:
            self.art.markers(self.renderer.scene, data, self.spec.goal)
        image = self.renderer.render()
        lines = [
            label,
            self.genome.fitness_line,
            f"this episode's return {self.episode_return:.1f}",
        ]
        image = overlay.draw_lines(image, lines)
        image = overlay.draw_lines(image, self._caption(), top=False, color=overlay.YELLOW)
        return image if self.active else overlay.dim(image)

    def _caption(self) -> list[str]:
        if self.spec.goal is None:
            return []
        lines = [self.art.caption(self.spec.goal)]
        return lines + [self.meter.text()] if self.art.velocity else lines

    def close(self) -> None:
        self.renderer.close()
        self.env.close()


class Recorder:
    """Steps K panels in lockstep and composes their frames side by side."""

    def __init__(self, genomes: list[RankedGenome], policy_dict: dict, obs_stats, spec: VideoSpec):
        from pbml_policies import RunningStats, policy_from_dict

        try:  # a run of a policy this interpreter cannot find (not registered, not installed)
            policy = policy_from_dict(policy_dict)
        except ValueError as err:
            raise UserError(f"the run's policy: {err}") from err
        self.spec = spec
        self.panels: list[Panel] = []
        try:
            for genome in genomes:
                # A genome's own statistics (those that scored it, from best/) before the run's.
                stats = obs_stats if genome.obs_stats is None else genome.obs_stats
                normalize = None if stats is None else RunningStats.from_arrays(stats).normalizer()
                self.panels.append(Panel(genome, policy, normalize, spec))
            self._check_dims(policy)
        except BaseException:
            self.close()
            raise
        self.fps, self.stride = frame_timing(self.panels[0].env.unwrapped.dt, spec.fps)
        self.labels = [g.label for g in genomes]

    def _check_dims(self, policy: Any) -> None:
        env = self.panels[0].env
        obs_dim = int(np.prod(env.observation_space.shape))
        act_dim = int(np.prod(env.action_space.shape))
        if (obs_dim, act_dim) != (policy.obs_dim, policy.act_dim):
            raise UserError(
                f"task {self.spec.task_id} has {obs_dim} observations and {act_dim} actions; "
                f"the run's policy expects {policy.obs_dim} and {policy.act_dim}"
            )

    @property
    def max_frames(self) -> int:
        """Frames if no episode ends early (for progress)."""
        return self.spec.episodes * (1 + math.ceil(self.spec.steps / self.stride))

    def frames(self) -> Iterator[np.ndarray]:
        for episode in range(self.spec.episodes):
            for panel in self.panels:
                panel.reset(episode_seed(self.spec.seed, episode))
            yield self._compose()
            steps = 0
            while any(p.active for p in self.panels):
                for panel in self.panels:
                    panel.step()
                steps += 1
                if steps % self.stride == 0:
                    yield self._compose()
            if steps % self.stride:
                yield self._compose()  # the final state

    def _compose(self) -> np.ndarray:
        frames = [p.frame(label) for p, label in zip(self.panels, self.labels, strict=True)]
        return overlay.side_by_side(frames)

    def close(self) -> None:
        for panel in self.panels:
            panel.close()
