"""What mutation directions cost per generation, next to the generation's rollouts.

A generation of the trainer is ask, evaluate (the rollouts), tell (selection, breeding and
mutation). This times `tell` for populations of the quickstart's size and policy (64 genomes, MLP
32x32 on HalfCheetah: 1,830 weights in 3 modules) with k = 0, 2 and 4 directions per module under
each rule, as medians over repeats, and beside it one generation's rollouts of the same
population on pbml/HalfCheetahVel-v0 (serial, 200 steps), measured in the same run. Ratios are
what to quote: these machines are noisy.

    python benchmarks/mutation_cost.py [--repeats 15] [--population 64] [--strategy pbml_paper]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.running.config import load_config
from pbml_control.running.trainer import build_experiment, initial_state, make_batch


def tell_seconds(layout, size: int, strategy: str, k: int, rule: str, repeats: int) -> float:
    """Median seconds of one `tell` (selection, breeding, mutation) at this population size."""
    mutation = MutationConfig(directions=k, direction_rule=rule)
    cfg = SelectionConfig(strategy=strategy, size=size, mutation=mutation)
    algo = make_strategy(strategy, cfg, layout)
    rng = np.random.default_rng(0)
    pop = algo.init(np.zeros(layout.num_params, np.float32), rng)
    times = []
    for _ in range(repeats):
        fitness = rng.standard_normal(pop.size)
        start = time.perf_counter()
        pop, _ = algo.tell(pop, fitness, rng)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rollout_seconds(size: int, repeats: int) -> tuple[float, object]:
    """Median seconds of one generation's rollouts of ``size`` genomes (serial), and the layout."""
    cfg = load_config(None, [f"population.size={size}", "pool.backend='serial'",
                             "policy.kwargs={hidden=[32, 32]}"])  # fmt: skip
    exp = build_experiment(cfg)
    state = initial_state(exp)
    goal = exp.schedule.goal_at(0)
    times = []
    with exp.pool:
        for _ in range(repeats):
            batch = make_batch(exp, state.population.params, goal, 0, state.obs_stats)
            start = time.perf_counter()
            exp.pool.evaluate(batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times), exp.layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--strategy", default="pbml_paper")
    args = parser.parse_args()
    rollouts, layout = rollout_seconds(args.population, max(3, args.repeats // 5))
    print(f"{args.population} genomes, {layout.num_params} weights in {layout.num_modules} "
          f"modules, strategy {args.strategy}")  # fmt: skip
    print(f"one generation's rollouts (serial, 200 steps): {rollouts * 1e3:.1f} ms")
    print(f"{'k':>3} {'rule':>10} {'tell ms':>9} {'tell / rollouts':>16}")
    for k, rule in ((0, "cumulative"), (2, "cumulative"), (2, "path"), (2, "mutate"),
                    (4, "cumulative")):  # fmt: skip
        tell = tell_seconds(layout, args.population, args.strategy, k, rule, args.repeats)
        print(f"{k:>3} {rule:>10} {tell * 1e3:>9.2f} {tell / rollouts:>16.4f}")


if __name__ == "__main__":
    main()
