"""`pbml train CONFIG`: evolve controllers with the settings of a TOML config."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="evolve a population on a task (writes a run directory)",
        description="Evolve a population of controllers with the settings of a TOML config "
        "(see configs/). Writes config.toml, metrics.csv, lineages.csv, checkpoints/, best/ "
        "and plots/ into the run directory.",
    )
    p.add_argument(
        "config",
        type=Path,
        help="TOML config file (e.g. configs/quickstart.toml) or a packaged config's name "
        "(e.g. quickstart; `pbml config list`)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set population.size=128 (repeatable; default: none)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="run directory, created with missing parents (default: runs/<run.name>)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.running.config import load_config
    from pbml_control.running.packaged import resolve_config
    from pbml_control.running.run import start_run

    cfg = load_config(resolve_config(args.config), args.overrides)
    out = args.out if args.out is not None else Path("runs") / cfg.run.name
    # start_run creates missing parents, trains, prints the summary and writes the plots.
    start_run(cfg, out, overwrite=args.overwrite, progress=not args.quiet)
    return 0
