"""What a study would cost on another task: one arm's training, timed on each task side by side.

A study's compute is rollouts: the runs' training budgets plus the probe's rollouts (the same
policy, episode length and population, so the same cost per rollout). This trains the study's
arm (its exact config, serial, one process) for a short budget on each task in turn, repeats
the rounds, and prints CPU milliseconds per rollout (median and range over repeats), the ratio
to the first task, and the whole design's planned rollouts times that cost: the core-hours the
same study file would take with `task.id` replaced. Quote the ratio (these machines are noisy
and the first generations of a run are not its average); the planned core-hours assume the
rest of a run costs what its start does.

    python benchmarks/study_run_cost.py [--study studies/learning_to_learn_2.toml]
        [--arm pbml_paper] [--tasks pbml/HalfCheetahVel-v0 pbml/AntDir-v0]
        [--rollouts 1280] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pbml_control.running.run import start_run
from pbml_control.running.run_files import read_csv
from pbml_control.study.spec import Study, load_study


def planned_rollouts(study: Study) -> int:
    """Rollouts the whole design plans: every run's budget plus its probe sets."""
    p = study.probe
    per_set = p.goals * p.env_seeds * (p.generations + 1) * p.population
    return sum(
        study.arms[arm].run.budget_rollouts
        + per_set * len(p.probe_sets(study.arms[arm].population.mutation.frozen))
        for arm, _seed in study.jobs()
    )


def train_cost(study: Study, arm: str, task: str, rollouts: int, seed: int) -> dict[str, float]:
    """CPU seconds per rollout and env steps per rollout of a short run of ``arm`` on ``task``."""
    cfg = study.run_config(arm, seed)
    cfg.task.id = task
    cfg.run.budget_rollouts, cfg.run.keep_at_rollouts = rollouts, []
    cfg.run.checkpoint_every, cfg.run.plots = 0, False
    cfg.validate()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        start_run(cfg, Path(tmp) / "run", progress=False, summary=False)
        seconds = time.process_time() - start
        last = read_csv(Path(tmp) / "run" / "metrics.csv")[-1]
    done = float(last["budget/rollouts_total"])
    return {"s_per_rollout": seconds / done, "steps": float(last["budget/env_steps_total"]) / done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="studies/learning_to_learn_2.toml",
                        help="the study file (default: %(default)s)")  # fmt: skip
    parser.add_argument("--arm", default="pbml_paper", help="the arm timed (default: %(default)s)")
    tasks = ["pbml/HalfCheetahVel-v0", "pbml/AntDir-v0"]
    parser.add_argument("--tasks", nargs="+", default=tasks,
                        help="task ids, first the baseline (default: %(default)s)")  # fmt: skip
    parser.add_argument("--rollouts", type=int, default=1280,
                        help="rollouts per timed run (default: %(default)s)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default: %(default)s)")
    args = parser.parse_args()
    study = load_study(args.study)
    if args.arm not in study.arms:
        parser.error(f"--arm '{args.arm}' is not an arm of {args.study} ({', '.join(study.arms)})")
    times: dict[str, list[float]] = {task: [] for task in args.tasks}
    steps: dict[str, float] = {}
    for _ in range(args.repeats):
        for task in args.tasks:  # interleaved, so drift on the machine hits every task alike
            cost = train_cost(study, args.arm, task, args.rollouts, study.seeds[0])
            times[task].append(cost["s_per_rollout"])
            steps[task] = cost["steps"]
    planned = planned_rollouts(study)
    base = statistics.median(times[args.tasks[0]])
    print(f"study {study.head.name}, arm {args.arm}: {len(study.jobs())} runs, {planned:,} "
          f"planned rollouts; {args.rollouts:,} rollouts timed x {args.repeats}")  # fmt: skip
    print(f"{'task':<26} {'ms/rollout':>10} {'range':>13} {'steps/rollout':>13} {'ratio':>6} "
          f"{'study core-h':>12}")  # fmt: skip
    for task in args.tasks:
        med = statistics.median(times[task])
        low, high = min(times[task]) * 1e3, max(times[task]) * 1e3
        print(f"{task:<26} {med * 1e3:>10.2f} {f'{low:.2f}-{high:.2f}':>13} {steps[task]:>13.0f} "
              f"{med / base:>6.2f} {planned * med / 3600:>12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
