"""Transfer a trained population to new goals, as `pbml transfer` does: train briefly (or take
--run DIR), evolve its final population on held-out goals next to one started from scratch.

    python examples/transfer.py [--run DIR | --generations 30 --out runs/transfer_source]
        [--num-goals 2] [--goal 3.5] [--transfer-generations 5] [--seeds 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pbml_control


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run to transfer (default: train one)")
    parser.add_argument("--generations", type=int, default=30, help="training, without --run")
    parser.add_argument("--population", type=int, default=32, help="training, without --run")
    parser.add_argument("--out", default="runs/transfer_source", help="the run, without --run")
    parser.add_argument("--num-goals", type=int, default=2, help="held-out goals to sample")
    parser.add_argument("--goal", type=float, action="append", default=[], help="one more goal")
    parser.add_argument("--transfer-generations", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2, help="seeds per goal and source")
    args = parser.parse_args()

    run = pbml_control.Run(args.run) if args.run is not None else None
    if run is None:
        run = pbml_control.train("quickstart", args.out, population=args.population,
                                 generations=args.generations, overwrite=True)  # fmt: skip
    # Held-out goals (the task's test split), plus any --goal, each next to a population from
    # scratch with the same strategy, population size, seeds and budget (`pbml transfer`).
    results = [run.transfer(num_goals=args.num_goals, generations=args.transfer_generations,
                            seeds=args.seeds, compare=True, overwrite=True)]  # fmt: skip
    results += [run.transfer(goal, generations=args.transfer_generations, seeds=args.seeds,
                             compare=True, overwrite=True) for goal in args.goal]  # fmt: skip

    k = args.transfer_generations
    print(f"best fitness after 0 and {k} generations, mean over goals and {args.seeds} seeds")
    for result in results:
        print(f"{result.path.name}:")
        for row in result.summary():
            print("  " + "  ".join(f"{key} {value}" if isinstance(value, str) else
                                   f"{key} {value:.2f}" for key, value in row.items()))  # fmt: skip


if __name__ == "__main__":  # rollout workers start with forkserver: guard the entry
    main()
