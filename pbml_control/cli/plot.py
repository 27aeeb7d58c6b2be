"""`pbml plot RUN_DIR`: write the run's PNG plots into RUN_DIR/plots/."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="write a run's plots (fitness, mutation, lineages) as PNGs",
        description="Write PNG plots into RUN_DIR/plots/: fitness.png (max, mean, median; goal "
        "changes marked), mutation.png (per-module radius and gate), muller.png (lineage "
        "shares, when lineage_shares.csv was recorded) and adaptation_<name>.png for each "
        "transfers/<name>/adaptation.csv.",
    )
    p.add_argument("run_dir", type=Path, help="run directory written by `pbml train`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.analysis.plots import plot_run
    from pbml_control.analysis.plots.shares import FILE
    from pbml_control.errors import UserError
    from pbml_control.running.lock import folder_lock

    if not args.run_dir.is_dir():
        raise UserError(f"run directory '{args.run_dir}' does not exist")
    with folder_lock(args.run_dir, "run directory"):
        written = plot_run(args.run_dir)
    for path in written:
        print(f"wrote {path}")
    if not (args.run_dir / FILE).is_file():
        print(f"no {FILE} in the run (recorded by the LineageShares callback): no muller.png")
    if not written:
        print("nothing to plot yet (no generation finished)")
    return 0
