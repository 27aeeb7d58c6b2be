"""`pbml resume RUN_DIR`: continue a run from its latest checkpoint, bit for bit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "resume",
        help="continue a run from its latest checkpoint",
        description="Continue a run from its latest checkpoint. The result is bit-identical to "
        "a run that was never interrupted.",
    )
    p.add_argument("run_dir", type=Path, help="run directory written by `pbml train`")
    p.add_argument(
        "--generations",
        type=int,
        help="total number of generations the run should reach (default: its run.generations)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        help="continue from this checkpoint of the run (RUN_DIR/checkpoints/gen_N.json) "
        "instead of the latest, e.g. when the latest is damaged (default: the latest)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resume, then (inside resume_run) the summary and plots; a finished run is not an error:
    the message says how to ask for more generations, and the exit status is 0."""
    from pbml_control.running.run import RunFinished, resume_run

    try:
        resume_run(args.run_dir, args.generations, not args.quiet, args.checkpoint)
    except RunFinished as done:
        print(f"pbml resume: {done}", file=sys.stderr)
    return 0
