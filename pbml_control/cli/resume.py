"""`pbml resume RUN_DIR`: continue a run from its latest checkpoint, bit for bit."""

from __future__ import annotations

import argparse
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
        "--generations", type=int, help="total number of generations the run should reach"
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        help="continue from this checkpoint of the run (RUN_DIR/checkpoints/gen_N.json) "
        "instead of the latest, e.g. when the latest is damaged",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.cli.train import finish
    from pbml_control.running.config import load_config
    from pbml_control.running.run import resume_run

    resume_run(args.run_dir, args.generations, not args.quiet, args.checkpoint)
    finish(args.run_dir, load_config(args.run_dir / "config.toml"))
    return 0
