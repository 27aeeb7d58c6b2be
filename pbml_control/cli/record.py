"""`pbml record RUN_DIR|CHECKPOINT`: a video of the best genomes, rendered by MuJoCo."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "record",
        help="render the best genomes of a run into an mp4 or gif",
        description="Render the best genome (or the best of the top K lineages, side by side) "
        "with MuJoCo's tracking camera, the goal drawn into the scene or written on the frames. "
        "Headless: uses MUJOCO_GL=egl, else osmesa (set MUJOCO_GL to choose). Needs the video "
        "extra: pip install 'pbml-control[video]'.",
    )
    p.add_argument("source", type=Path, help="run directory, or a checkpoint file (.json/.npz)")
    p.add_argument("--task", help="task id to act in (default: the run's task)")
    p.add_argument(
        "--goal",
        help="goal, e.g. 1.5 (velocity), 3.14 (angle) or 2,0 (position); default: the goal of "
        "the run's last generation (on another task: its first test goal)",
    )
    p.add_argument(
        "--lineages", type=int, default=1, metavar="K",
        help="show the best genomes of the top K lineages side by side (default 1)",
    )  # fmt: skip
    p.add_argument("--episodes", type=int, default=1, help="episodes to record (default 1)")
    p.add_argument("--steps", type=int, help="steps per episode (default: the run's)")
    p.add_argument(
        "--out", type=Path,
        help="output file, .mp4 or .gif (default RUN_DIR/videos/<task>_best.mp4)",
    )  # fmt: skip
    p.add_argument("--width", type=int, default=480, help="panel width in pixels (even)")
    p.add_argument("--height", type=int, default=360, help="panel height in pixels (even)")
    p.add_argument("--fps", type=int, help="frames per second (default: real time, <= 50)")
    p.add_argument("--seed", type=int, default=0, help="episode reset seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.cli.args import goal_text
    from pbml_control.video.record import RecordOptions, record_video

    opts = RecordOptions(
        source=args.source,
        task=args.task,
        goal=args.goal,
        lineages=args.lineages,
        episodes=args.episodes,
        steps=args.steps,
        out=args.out,
        width=args.width,
        height=args.height,
        fps=args.fps,
        seed=args.seed,
        progress=not args.quiet,
    )
    result = record_video(opts)
    if len(result.genomes) > 1:
        print("panels, left to right, by training fitness (best first):")
    for i, genome in enumerate(result.genomes):
        print(f"panel {i + 1}: {genome.label}, genome {genome.id}: {genome.origin()}")
    goal = goal_text(result.goal)
    print(f"wrote {result.path}  ({result.frames} frames at {result.fps} fps, goal {goal})")
    print(
        f"each panel also shows this episode's return (goal {goal}, episode seed from --seed "
        f"{args.seed}); it differs from the training fitness, which came from another episode"
    )
    return 0
