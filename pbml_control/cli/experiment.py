"""`pbml experiment numeric|square|moving`: reproduce the paper's toy-world experiments.

Runs every selection strategy over several seeds, writes one CSV per run, PNG plots and
summary.md under --out, and prints the summary table with the verdict of each claim. `moving`
is our positive control: a world where a reusable mutation function exists by construction.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pbml_control.errors import UserError
from pbml_control.evolution.selection import STRATEGIES
from pbml_control.experiments import common, moving, numeric, square, subspace


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "experiment",
        help="reproduce the paper's toy-world experiments",
        description=__doc__.splitlines()[0],
    )
    worlds = parser.add_subparsers(dest="world", metavar="WORLD", parser_class=type(parser))
    worlds.required = True
    num = worlds.add_parser("numeric", help="Numeric world: does R (learning ability) rise?")
    _common(num, numeric.NumericSettings, "pbml-numeric")
    sq = worlds.add_parser("square", help="Square world, then transfer to Hard Square")
    _common(sq, square.SquareSettings, "pbml-square")
    _period(sq, square.SquareSettings, "generations between square relocations")
    sq.add_argument(
        "--transfer-generations",
        type=_positive,
        default=square.SquareSettings.transfer_generations,
        help="generations of evolution in Hard Square (default %(default)s)",
    )
    _add_moving(worlds)
    _add_subspace(worlds)
    parser.set_defaults(func=run)


def _period(parser, settings: type, what: str = "generations between goal jumps") -> None:
    parser.add_argument(
        "--period", type=_positive, default=settings.period, help=f"{what} (default %(default)s)"
    )


def _add_subspace(worlds: argparse._SubParsersAction) -> None:
    sp = worlds.add_parser(
        "subspace", help="Subspace world: learned vs random mutation directions (control)"
    )
    _common(sp, subspace.SubspaceSettings, "pbml-subspace")
    _period(sp, subspace.SubspaceSettings)
    sp.add_argument(
        "--rate",
        type=float,
        default=subspace.SubspaceSettings.rate,
        help="direction_rate of the learned arms (default %(default)s)",
    )


def _add_moving(worlds: argparse._SubParsersAction) -> None:
    mv = worlds.add_parser("moving", help="Moving Target: evolved vs frozen mutation (control)")
    _common(mv, moving.MovingSettings, "pbml-moving")
    _period(mv, moving.MovingSettings)
    mv.add_argument(
        "--horizon",
        type=_positive,
        default=moving.MovingSettings.horizon,
        help="generations after a jump at which the adaptation gain is read (default %(default)s)",
    )


def _common(parser: argparse.ArgumentParser, settings: type, out: str) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(out),
        help="output folder, created with any missing parents",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output folder"
    )
    parser.add_argument(
        "--seeds",
        type=_positive,
        default=settings.seeds,
        help="seeds per strategy (default %(default)s)",
    )
    parser.add_argument(
        "--generations",
        type=_positive,
        default=settings.generations,
        help="generations per run (default %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=_positive,
        default=settings.size,
        help="distinct genomes per generation (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default %(default)s)")
    parser.add_argument(
        "--strategies",
        type=_strategies,
        default=settings.strategies,
        help=f"comma-separated strategies (default: all of {','.join(settings.strategies)})",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _strategies(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or not names:
        known = ", ".join(sorted(STRATEGIES))
        raise argparse.ArgumentTypeError(f"unknown strategy {','.join(unknown)!r}; known: {known}")
    return names


def run(args: argparse.Namespace) -> int:
    keys = dict(
        out=args.out,
        seeds=args.seeds,
        generations=args.generations,
        size=args.size,
        seed=args.seed,
        strategies=args.strategies,
    )
    common.claim_out(args.out, args.overwrite)
    start = time.perf_counter()
    if args.world == "numeric":
        summary = numeric.run_numeric(numeric.NumericSettings(**keys))
    elif args.world == "subspace":
        if not 0 < args.rate <= 1:
            raise UserError(f"--rate must be in (0, 1], got {args.rate}")
        keys["strategies"] = args.strategies[:1]
        settings = subspace.SubspaceSettings(**keys, period=args.period, rate=args.rate)
        summary = subspace.run_subspace(settings)
    elif args.world == "moving":
        settings = moving.MovingSettings(**keys, period=args.period, horizon=args.horizon)
        summary = moving.run_moving(settings)
    else:
        settings = square.SquareSettings(
            **keys, period=args.period, transfer_generations=args.transfer_generations
        )
        summary = square.run_square(settings)
    print(summary)
    print(f"\nwrote {args.out}/ in {time.perf_counter() - start:.1f} s")
    return 0
