"""`pbml transfer RUN_DIR --task ID`: adapt a trained population to a new goal or task."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "transfer",
        help="adapt a trained population to new goals or a sibling task",
        description="Seed a population from a run's final population (all lineages, with their "
        "mutation functions), evolve it for K generations on held-out goals or another task of "
        "the same body, and write the adaptation curve (fitness after 0..K generations) as CSV "
        "and PNG. --compare adds, under the same budget and seeds, a population started from "
        "scratch and populations from baseline runs.",
    )
    p.add_argument("run_dir", type=Path, help="run directory written by `pbml train`")
    p.add_argument("--task", help="task id (default: the run's task)")
    goal = p.add_mutually_exclusive_group()
    goal.add_argument(
        "--goal", help="one goal, e.g. 1.5 or '2.0,-1.0' (default: goals sampled with --goals)"
    )
    goal.add_argument(
        "--goals",
        choices=("test", "train"),
        default="test",
        help="sample goals from the task's held-out test split or train",
    )
    p.add_argument("--num-goals", type=int, default=3, help="goals sampled with --goals")
    p.add_argument("--generations", type=int, default=10, help="K: generations of adaptation")
    p.add_argument("--seeds", type=int, default=2, help="seeds per goal")
    p.add_argument("--strategy", help="selection during transfer (default: the run's)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also evolve a population from scratch and the --baseline runs",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME=RUN_DIR",
        help="a baseline run to compare, e.g. greedy=runs/hc_greedy (repeatable; default: none)",
    )
    p.add_argument(
        "--out", type=Path,
        help="output folder, created with missing parents (default: "
        "RUN_DIR/transfers/<task>_<goal or split and count>)",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.cli.args import parse_goal
    from pbml_control.errors import UserError
    from pbml_control.running.transfer import TransferPlan, load_source_config
    from pbml_control.running.transfer_folder import (
        default_folder,
        plan_goals,
        transfer_into,
        transfer_sources,
    )

    if args.generations < 1 or args.seeds < 1:
        raise UserError("--generations and --seeds must be >= 1")
    base = load_source_config(args.run_dir)
    task_id = args.task or base.task.id
    goal = None if args.goal is None else parse_goal(args.goal)
    goals = plan_goals(task_id, goal, args.goals, args.num_goals)
    plan = TransferPlan(task_id, goals, args.generations, args.seeds, args.strategy)
    out = args.out or default_folder(args.run_dir, task_id, args.goal, args.goals, args.num_goals)
    sources = transfer_sources(args.run_dir, args.compare, args.baseline)
    result = transfer_into(out, sources, plan, args.overwrite)
    if result.completed_only:
        print(f"completing the transfer in '{out}' (its CSV is whole; writing the plot)")
    else:
        print_table(result.summary(), task_id, plan)
    for path in result.written:
        print(f"wrote {path}")
    return 0


def print_table(table: list[dict], task_id: str, plan) -> None:
    print(
        f"adaptation on {task_id}: {len(plan.goals)} goals x {plan.seeds} seeds, "
        f"fitness max of the population (mean over goals and seeds)"
    )
    keys = list(table[0])
    print(" | ".join(f"{k:>15}" for k in keys))
    for row in table:
        cells = [f"{row[k]:>15}" if isinstance(row[k], str) else f"{row[k]:15.2f}" for k in keys]
        print(" | ".join(cells))
