"""`pbml analyse directions RUN`: do a run's learned mutation directions point where behaviour
changes? (pbml_control.analysis.directions)"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "analyse",
        help="diagnostics of a run's genomes (mutation directions)",
        description="Diagnostics of a run's genomes. `directions`: for the best genome, the "
        "|cosine| between each mutation direction and the finite-difference gradient of its "
        "mean forward velocity (its fitness on tasks without a velocity goal) in that module, "
        "next to the same number for random directions.",
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", parser_class=type(p))
    what.required = True
    d = what.add_parser("directions", help="directions vs the velocity gradient")
    d.add_argument("run", type=Path, help="run directory or checkpoint file")
    d.add_argument("--episodes", type=int, default=4, help="episodes per evaluation")
    d.add_argument("--random", type=int, default=16, help="random directions per module")
    d.add_argument("--step", type=float, default=0.02, help="finite-difference step length")
    d.add_argument("--seed", type=int, default=0, help="seed of the random directions")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.analysis.directions import analyse_directions, format_alignment
    from pbml_control.errors import UserError

    if args.episodes < 1 or args.random < 2 or not args.step > 0:
        raise UserError("--episodes must be >= 1, --random >= 2 and --step > 0")
    measure, rows = analyse_directions(args.run, args.episodes, args.random, args.step, args.seed)
    print(format_alignment(measure, rows))
    return 0
