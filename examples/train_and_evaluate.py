"""Train the quickstart config briefly, then see what its best genome is worth on fresh seeds,
load it as a policy record and export it as a TorchScript controller.

    python examples/train_and_evaluate.py [--generations 30] [--out runs/example]
"""

from __future__ import annotations

import argparse

import pbml_control


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=30)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--out", default="runs/example")
    args = parser.parse_args()

    run = pbml_control.train("quickstart", args.out, population=args.population,
                             generations=args.generations, overwrite=True)  # fmt: skip
    best = run.evaluate(episodes=5)[0]
    mean, sd, low, high = best.interval()
    print(
        f"training fitness {best.fitness:.2f}; on 5 fresh seeds {mean:.2f} [{low:.2f}, {high:.2f}]"
    )
    record = run.best_policy()
    print(f"lineage {record.lineage}: {record.policy.num_params} weights, goal {record.goal}")
    print(f"exported {run.export(f'{args.out}/controller.pt', overwrite=True)}")


if __name__ == "__main__":  # rollout workers start with forkserver: guard the entry
    main()
