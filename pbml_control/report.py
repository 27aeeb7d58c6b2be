"""Text summaries printed at the end of a command."""

from __future__ import annotations

from pathlib import Path

from pbml_control.analysis import early_late, recovery_table
from pbml_control.run_files import read_csv


def print_summary(run_dir: Path, cfg, horizon: int = 5) -> None:
    rows = read_csv(run_dir / "metrics.csv")
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
    for key in ("pop/fitness_max", "pop/fitness_mean"):
        summary = early_late(recovery_table(rows, horizon, key))
        if summary is None:
            continue
        print(f"recovery after goal changes ({key}, first {horizon} generations):")
        print(f"  {'':6} {'segments':>9} {'start':>9} {'gain':>9} {'gens to 90%':>12}")
        for name, s in summary.items():
            print(
                f"  {name:6} {s['segments']:>9} {s['start']:9.2f} {s['gain']:9.2f} "
                f"{s['gens_to_90']:12.1f}"
            )
