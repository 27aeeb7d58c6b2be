"""A small study of your own: evolved vs frozen mutation functions over a few paired seeds, written
as a study file and run the way `pbml study` runs it (arms x seeds, a common probe, a report).

    python examples/small_study.py [--seeds 3] [--generations 10] [--out runs/small_study]

Running it again continues the same study folder (finished runs are skipped); other settings
are another design, which `pbml study` refuses in that folder: give them another --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pbml_control

STUDY = """\
[study]
name = "{name}"
description = "Does an evolved mutation function adapt faster than a frozen one? (a demo)"
base = ""  # the default config (HalfCheetahVel); a path here is relative to this file
seeds = {seeds}
set = ["run.generations={generations}", "run.checkpoint_every=5", "goals.every=5",
       "task.episode_steps={steps}", "population.size={population}",
       "policy.kwargs={{hidden=[16]}}", "pool.chunk_size=8"]

[arms.evolved]
set = []
[arms.frozen]
set = ["population.mutation.frozen=true"]

[probe]  # every final population, evolved on held-out goals with the same selection
goals = 2
env_seeds = 1
generations = {probe}
at = {at}
primary = {probe}
population = {population}

[[hypotheses]]
name = "H1"
text = "an evolved mutation function adapts faster on held-out goals than a frozen one"
treatment = "evolved"
control = "frozen"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="paired seeds per arm")
    parser.add_argument("--generations", type=int, default=10, help="of every run")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="per episode")
    parser.add_argument("--probe", type=int, default=3, help="generations on each probe goal")
    parser.add_argument("--workers", type=int, default=2, help="runs at once, one core each")
    parser.add_argument("--out", type=Path, default=Path("runs/small_study"))
    args = parser.parse_args()

    # The study file goes beside its folder, so the command in the report can be run again.
    study = args.out.with_name(args.out.name + ".toml")
    study.parent.mkdir(parents=True, exist_ok=True)
    study.write_text(STUDY.format(name=args.out.name, seeds=args.seeds, steps=args.steps,
                                  generations=args.generations, population=args.population,
                                  probe=args.probe, at=sorted({1, args.probe})))  # fmt: skip
    # What `pbml study STUDY.toml --out DIR --workers N` runs: the runs, the probe, the report.
    report = pbml_control.run_study(study, args.out, workers=args.workers)
    print(f"report: {report} (results.csv and plots beside it)")
    print(*(line for line in report.read_text().splitlines() if line.startswith("| H1")))


if __name__ == "__main__":  # study workers start with forkserver: guard the entry
    main()
