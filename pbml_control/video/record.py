"""`record_video`: from a run (or checkpoint) to a video file; what `pbml record` calls.

Order matters: every user input is checked first (run, task, goal, output path), then the GL
backend is chosen (before MuJoCo is imported, see `pbml_control.video.gl`), then frames are
rendered and written one at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.cli.args import parse_goal
from pbml_control.errors import UserError
from pbml_control.running.config import Config
from pbml_control.video.genomes import RankedGenome, RunGenomes, load_run_genomes
from pbml_control.video.output import FrameProgress, check_suffix, check_video, open_writer


@dataclass
class RecordOptions:
    """The choices of `pbml record`; None means the run's own setting."""

    source: Path
    task: str | None = None
    goal: str | None = None
    lineages: int = 1
    episodes: int = 1
    steps: int | None = None
    out: Path | None = None
    width: int = 480
    height: int = 360
    fps: int | None = None
    seed: int = 0
    progress: bool = True


@dataclass
class RecordResult:
    path: Path
    frames: int
    fps: int
    goal: np.ndarray | None
    genomes: list[RankedGenome]


def check_sizes(opts: RecordOptions) -> None:
    for name, value in (("width", opts.width), ("height", opts.height)):
        if value < 16 or value % 2:
            raise UserError(f"--{name} must be an even number >= 16, got {value}")
    for name, value in (("episodes", opts.episodes), ("steps", opts.steps), ("fps", opts.fps)):
        if value is not None and value < 1:
            raise UserError(f"--{name} must be >= 1, got {value}")


def validated_goal(text: str, task_id: str) -> np.ndarray:
    """'1.5', '2,0' or '2 0' -> the task's validated goal; UserError otherwise."""
    import pbml_envs

    goal = parse_goal(text)
    try:
        return pbml_envs.validate_goal(task_id, goal)
    except ValueError as err:
        raise UserError(f"--goal '{text}': {err}") from err


def check_task(task_id: str) -> bool:
    """True for a registered goal task; UserError for an id Gymnasium does not know."""
    import gymnasium
    import pbml_envs

    if pbml_envs.is_goal_task(task_id):
        return True
    if task_id.startswith("pbml/") or task_id not in gymnasium.registry:
        raise UserError(f"unknown task '{task_id}'; goal tasks: {', '.join(pbml_envs.task_ids())}")
    return False


def default_goal(cfg: Config, task_id: str, generation: int) -> np.ndarray:
    """The goal of the run's last generation; on another task, the task's first test goal."""
    from pbml_control.running.goals import make_schedule

    if task_id == cfg.task.id:
        schedule = make_schedule(cfg.goals, task_id, cfg.run.seed)
        return schedule.goal_at(max(generation - 1, 0))
    test = dataclasses.replace(cfg.goals, schedule="every", split="test")
    return make_schedule(test, task_id, cfg.run.seed).goal_at(0)


def resolve_goal(opts: RecordOptions, run: RunGenomes, task_id: str) -> np.ndarray | None:
    if not check_task(task_id):
        if opts.goal is not None:
            raise UserError(f"task '{task_id}' has no goals; drop --goal")
        return None
    if opts.goal is not None:
        return validated_goal(opts.goal, task_id)
    return default_goal(run.config, task_id, run.generation)


def default_out(run: RunGenomes, task_id: str, lineages: int) -> Path:
    name = task_id.split("/")[-1]
    tag = "best" if lineages == 1 else f"top{lineages}"
    return run.run_dir / "videos" / f"{name}_{tag}.mp4"


def record_video(opts: RecordOptions) -> RecordResult:
    """Render the best genomes of the top `opts.lineages` lineages into one video file."""
    from pbml_control.video.gl import ensure_gl

    check_sizes(opts)
    run = load_run_genomes(opts.source)
    genomes = run.top(opts.lineages)
    task_id = opts.task or run.config.task.id
    goal = resolve_goal(opts, run, task_id)
    out = opts.out or default_out(run, task_id, opts.lineages)
    check_suffix(out)
    ensure_gl()
    return _render(run, genomes, _spec(opts, run, task_id, goal), out, opts.progress)


def _spec(opts: RecordOptions, run: RunGenomes, task_id: str, goal):
    from pbml_control.video.render import VideoSpec

    cfg = run.config
    kwargs = cfg.task.env_kwargs()
    return VideoSpec(
        task_id=task_id,
        goal=goal,
        episodes=opts.episodes,
        steps=opts.steps or cfg.task.episode_steps,
        width=opts.width,
        height=opts.height,
        fps=opts.fps,
        seed=opts.seed,
        env_kwargs=kwargs,
    )


def _render(run: RunGenomes, genomes, spec, out: Path, progress: bool) -> RecordResult:
    from pbml_control.video.render import Recorder

    if not run.config.policy.obs_norm:
        genomes = [dataclasses.replace(g, obs_stats=None) for g in genomes]
    obs_stats = run.obs_stats if run.config.policy.obs_norm else None
    recorder = Recorder(genomes, run.policy, obs_stats, spec)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    count = 0
    try:
        writer = open_writer(partial, recorder.fps)
        bar = FrameProgress(recorder.max_frames, progress)
        try:
            for frame in recorder.frames():
                writer.append_data(frame)
                count += 1
                bar.update(count)
        finally:
            writer.close()
            bar.close()
        check_video(partial, count, out)
        partial.replace(out)  # a video appears only once it is whole
    finally:
        recorder.close()
        partial.unlink(missing_ok=True)
    return RecordResult(out, count, recorder.fps, spec.goal, genomes)
