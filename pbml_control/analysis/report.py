"""Text summaries printed at the end of a command."""

from __future__ import annotations

from pathlib import Path

from pbml_control.analysis.recovery import early_late, recovery_table, segments
from pbml_control.running.run_files import read_csv


def print_summary(run_dir: Path, horizon: int = 5) -> None:
    rows = read_csv(run_dir / "metrics.csv") if (run_dir / "metrics.csv").is_file() else []
    if not rows:
        print(f"run directory: {run_dir} (no generations run)")
        return
    last = rows[-1]
    total_time = sum(float(r["time/rollout_s"]) + float(r["time/overhead_s"]) for r in rows)
    steps = sum(int(r["env/steps"]) for r in rows)
    print(f"run directory: {run_dir}")
    print(
        f"generations {len(rows)}  final fitness max {float(last['pop/fitness_max']):.2f} "
        f"mean {float(last['pop/fitness_mean']):.2f}  lineages {last['lineage/alive']}  "
        f"env steps {steps}  ({steps / max(total_time, 1e-9):.0f} steps/s overall)"
    )
    print_segments(rows)
    for key in ("pop/fitness_max", "pop/fitness_mean"):
        summary = early_late(recovery_table(rows, horizon, key))
        if summary is None:
            continue
        print(f"recovery after goal changes ({key}, first {horizon} generations):")
        print(
            f"  {'':6} {'segments':>9} {'start':>9} {'gain':>9} {'closed':>7} {'gens to 90%':>12}"
        )
        for name, s in summary.items():
            print(
                f"  {name:6} {s['segments']:>9} {s['start']:9.2f} {s['gain']:9.2f} "
                f"{s['closed']:7.2f} {s['gens_to_90']:12.1f}"
            )


def print_segments(rows: list[dict], key: str = "pop/fitness_max") -> None:
    """Per goal period: the goal, the fitness right after the change, the best and the last."""
    segs = segments(rows, key)
    if len(segs) < 2:
        return
    goals = {int(r["goal/segment"]): goal_text(r["goal/value"]) for r in rows}
    width = max(12, *(len(goals[s]) for s in segs))
    print(f"per goal period ({key}):")
    print(f"  {'segment':>7} {'goal':>{width}} {'start':>9} {'best':>9} {'end':>9}")
    for s, curve in segs.items():
        print(f"  {s:7d} {goals[s]:>{width}} {curve[0]:9.2f} {curve.max():9.2f} {curve[-1]:9.2f}")


def goal_text(value: str) -> str:
    """metrics.csv's goal ('1.89531', '2.1 -0.5') for the summary: one number as it is, several
    as '(2.10, -0.50)', so every row of the table has one width."""
    parts = value.split()
    if len(parts) < 2:
        return value
    try:
        return "(" + ", ".join(f"{float(p):.2f}" for p in parts) + ")"
    except ValueError:
        return value
