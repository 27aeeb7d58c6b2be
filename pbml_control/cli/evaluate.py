"""`pbml evaluate RUN`: re-score a run's best genomes on fresh episode seeds."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="re-score the best genomes on fresh seeds (mean and 95%% CI)",
        description="A reported fitness is one episode on one seed, and locomotion returns are "
        "chaotic. This rolls each of the best genomes out on N fresh episode seeds, with the "
        "observation statistics that scored it, and prints the mean, sd and 95%% interval next "
        "to its training fitness and to a replay of the episode that scored it; the per-seed "
        "returns go to RUN/evaluation/evaluate.csv (or --out).",
    )
    p.add_argument("run", type=Path, help="run directory or checkpoint file")
    p.add_argument("--episodes", type=int, default=10, help="fresh episode seeds per genome")
    p.add_argument("--lineages", type=int, default=1, help="best genomes of this many lineages")
    p.add_argument("--goal", type=float, nargs="+", help="evaluate at this goal instead "
                   "(default: the goal of the run's last generation)")  # fmt: skip
    p.add_argument("--out", type=Path, help="CSV file (default: RUN/evaluation/evaluate.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import csv
    import io

    from pbml_control.running.checkpoint import atomic_write_text
    from pbml_control.running.evaluate import evaluate_run, evaluation_rows
    from pbml_control.running.run_files import create_parents

    goal, evaluations = evaluate_run(args.run, args.episodes, args.lineages, args.goal)
    print(f"goal {goal}; {args.episodes} fresh episode seeds per genome (one episode each)")
    print(f"{'rank':>4} {'lineage':>8} {'training':>10} {'replayed':>10} {'mean':>10} "
          f"{'sd':>8} {'95% CI':>21}")  # fmt: skip
    for e in evaluations:
        mean, sd, low, high = e.interval()
        print(f"{e.rank + 1:>4} {e.lineage:>8} {e.fitness:>10.2f} {e.replay:>10.2f} "
              f"{mean:>10.2f} {sd:>8.2f}   [{low:8.2f}, {high:8.2f}]")  # fmt: skip
    folder = args.run if args.run.is_dir() else args.run.parent.parent
    out = args.out or folder / "evaluation" / "evaluate.csv"
    create_parents(out)
    buffer = io.StringIO()
    rows = evaluation_rows(evaluations)
    writer = csv.DictWriter(buffer, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out, buffer.getvalue())
    print(f"wrote {out}")
    return 0
