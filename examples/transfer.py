"""Transfer a trained population to new goals, as `pbml transfer` does: train briefly (or take
--run DIR), evolve its final population on held-out goals next to one started from scratch.

    python examples/transfer.py [--run DIR | --generations 30 --out runs/transfer_source]
        [--num-goals 2] [--goal 3.5] [--transfer-generations 5] [--seeds 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pbml_envs

import pbml_control
from pbml_control.running.transfer import Source, TransferPlan, load_source_config, run_transfer


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

    if args.run is None:
        run = pbml_control.train("quickstart", args.out, population=args.population,
                                 generations=args.generations, overwrite=True)  # fmt: skip
        args.run = run.path
    task = load_source_config(args.run).task.id
    rng = np.random.default_rng(0)
    goals = list(pbml_envs.sample_goals(task, rng, args.num_goals, split="test"))
    goals += [pbml_envs.validate_goal(task, g) for g in args.goal]  # beyond the range: noted

    # The same strategy, population size, goals, seeds and budget for every source.
    plan = TransferPlan(task, goals, args.transfer_generations, args.seeds)
    sources = [Source("run", args.run), Source("scratch", None)]
    rows = run_transfer(sources, plan, progress=lambda line: None)

    k = args.transfer_generations
    print(f"{task}: best fitness after 0 and {k} generations, mean over {args.seeds} seeds")
    print(f"{'goal':>8} {'in range':>8} {'source':>8} {'gen 0':>9} {f'gen {k}':>9}")
    for g, goal in enumerate(goals):
        inside = pbml_envs.in_distribution(task, goal)
        for source in sources:
            mine = [r for r in rows if r["goal_index"] == g and r["source"] == source.name]
            at = [np.mean([r["fitness_max"] for r in mine if r["generation"] == n]) for n in (0, k)]
            goal_text = f"{float(goal):8.3f}" if np.ndim(goal) == 0 else str(np.round(goal, 3))
            print(f"{goal_text:>8} {'yes' if inside else 'no':>8} {source.name:>8} "
                  f"{at[0]:9.2f} {at[1]:9.2f}")  # fmt: skip


if __name__ == "__main__":  # rollout workers start with forkserver: guard the entry
    main()
