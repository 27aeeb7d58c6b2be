"""Your own generation loop: a selection strategy's ask/tell over a Population, scored by your
own fitness function (here a numpy toy: reach a point in R^8), no trainer involved.

    python examples/ask_tell.py [--generations 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from pbml_control.evolution.genome import ModuleLayout
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=200)
    args = parser.parse_args()

    layout = ModuleLayout(names=("a", "b"), sizes=(4, 4))  # two modules, a mutation function each
    cfg = SelectionConfig(strategy="pbml_paper", size=32, offspring=8,
                          mutation=MutationConfig(init_sigma=0.1, directions=1))  # fmt: skip
    strategy = make_strategy(cfg.strategy, cfg, layout)
    rng = np.random.default_rng(0)
    target = np.linspace(-1.0, 1.0, layout.num_params)
    pop = strategy.init(np.zeros(layout.num_params, np.float32), rng)
    for _ in range(args.generations):
        index = strategy.ask(pop, goal_changed=False)  # the genomes to score now
        fitness = pop.fitness.copy()
        fitness[index] = -np.sum((pop.params[index] - target) ** 2, axis=1)
        pop, _ = strategy.tell(pop, fitness, rng)
    best = np.nanmax(pop.fitness)
    print(f"{pop.generation} generations, {pop.size} genomes, best fitness {best:.4f}")


if __name__ == "__main__":
    main()
