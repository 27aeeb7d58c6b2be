"""`pbml bench`: rollout throughput of every backend next to the physics limit, in one run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

QUICK = {"population": 8, "steps": 50, "repeats": 2}
#: Options that must be >= 1 when given.
COUNTS = ("steps", "repeats", "workers", "chunk-size")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="measure rollout throughput against the physics limit",
        description="Measure genome-environment steps per second of whole generations on the "
        "serial, process and (asked for by name) Ray backends, and of EnvPool and EvoTorch on the "
        "plain HalfCheetah-v5/Ant-v5 bodies (if installed), next to the physics limit (bare "
        "MuJoCo on `--workers` threads replaying the controls of the same generation's rollouts; "
        "'limit-zero': with zero controls, the earlier yardstick) measured in the same run, in "
        "interleaved rounds. Prints a markdown table with medians, min-max and each row's share "
        "of the limit.",
    )
    from pbml_control.bench.throughput import BACKENDS, DEFAULT_BACKENDS, TASKS

    p.add_argument("--tasks", nargs="+", default=list(TASKS), metavar="TASK", help="task ids")
    p.add_argument(
        "--backends",
        nargs="+",
        default=list(DEFAULT_BACKENDS),
        metavar="NAME",
        help=f"rows to measure, from: {', '.join(BACKENDS)} (default: all but ray and evotorch, "
        "which start Ray: name them to measure them)",
    )
    p.add_argument(
        "--population",
        help="genomes per generation, or a comma-separated list to sweep, e.g. 64,256,1024 "
        "(default 64)",
    )
    p.add_argument(
        "--hidden",
        help="hidden layer widths of the MLP, or a comma-separated list of networks to sweep, "
        "e.g. 64x64,256x256 (default 64x64)",
    )
    p.add_argument("--steps", type=int, help="steps per episode (default 1000)")
    p.add_argument("--repeats", type=int, help="interleaved rounds (default 5)")
    p.add_argument("--workers", type=int, default=2, help="workers and limit threads (default 2)")
    p.add_argument("--chunk-size", type=int, help="jobs per chunk (default population/workers)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: population 8, 50 steps, 2 rounds (explicit options win)",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write the records as JSON (default: not written)",
    )
    p.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> None:
    """UserError naming the flag for a count below 1 or a task the benchmark cannot run."""
    import pbml_envs
    from pbml_envs.fast import has_fast_path

    from pbml_control.bench.sweep import parse_counts, parse_hidden
    from pbml_control.errors import UserError

    args.populations = (
        None if args.population is None else parse_counts(args.population, "--population")
    )
    args.networks = None if args.hidden is None else parse_hidden(args.hidden)
    counts = {name: getattr(args, name.replace("-", "_")) for name in COUNTS}
    for name, value in counts.items():
        if value is not None and value < 1:
            raise UserError(f"--{name} must be >= 1, got {value}")
    for task in args.tasks:
        if not pbml_envs.is_goal_task(task):
            raise UserError(
                f"--tasks: unknown task '{task}'; known: {', '.join(pbml_envs.task_ids())}"
            )
        limits = sorted({"limit", "limit-zero"} & set(args.backends))
        if limits and not has_fast_path(task):
            raise UserError(
                f"--tasks: '{task}' has no fast path, so no physics limit; "
                f"drop {' and '.join(repr(b) for b in limits)} from --backends to measure it"
            )


def run(args: argparse.Namespace) -> int:
    from pbml_control.bench.throughput import Settings, describe, machine, run_bench, table

    check_args(args)
    if args.json:  # before the measurement, so a bad path fails at once
        from pbml_control.running.run_files import create_parents

        create_parents(args.json, "--json")
    base = QUICK if args.quick else {"population": 64, "steps": 1000, "repeats": 5}
    chosen = {key: getattr(args, key) for key in ("steps", "repeats")}
    chosen = {key: value for key, value in chosen.items() if value is not None}
    populations = args.populations or (base["population"],)
    networks = args.networks or (Settings.hidden,)
    settings = Settings(
        tasks=tuple(args.tasks),
        backends=tuple(args.backends),
        workers=args.workers,
        chunk_size=args.chunk_size,
        population=populations[0],
        hidden=networks[0],
        **{key: value for key, value in {**base, **chosen}.items() if key != "population"},
    )
    print(f"machine: {machine()}")
    if len(populations) > 1 or len(networks) > 1:
        return _sweep(args, settings, populations, networks)
    rows = run_bench(settings)
    print(f"\n{describe(settings)}\n")
    print(table(rows, settings))
    if args.json:
        records = [row.record(settings) for row in rows]
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0


def _sweep(args: argparse.Namespace, settings, populations, networks) -> int:
    """Every (task, network, population) point, then one table of them all."""
    from pbml_control.bench.sweep import describe_sweep, run_sweep, sweep_table

    points = run_sweep(settings, populations, networks)
    print(f"\n{describe_sweep(settings, populations, networks)}\n")
    print(sweep_table(points))
    if args.json:
        records = [point.row.record(point.settings) for point in points]
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0
