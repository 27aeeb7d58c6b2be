"""`pbml study --status`: how far a study is, and what it has cost, without any outcome.

A study that runs over many sittings is read only through this until its last run is done
(results are looked at once, in the report), so the status says which runs are done, running,
stopped part way or not started, the core-hours spent and an estimate of those left, and
nothing a run measured. It also warns of a hypothesis whose forecast pairs (all its seeds, or
what a compute cap is expected to leave) are too few for the exact Wilcoxon test to pass Holm's
first step in its family: a design fact, known before any outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pbml_control.experiments.common import markdown_table
from pbml_control.running.lock import is_locked, lock_beside
from pbml_control.running.run_files import read_csv
from pbml_control.study.jobs import RESULT, core_seconds, lock_path, run_dir_of
from pbml_control.study.pairing import pair_warnings
from pbml_control.study.spec import Study

DONE, RUNNING, STOPPED, WAITING = "done", "running", "stopped part way", "not started"


@dataclass
class JobStatus:
    arm: str
    seed: int
    state: str
    #: Share of the run's training done (1 for a finished run; from metrics.csv otherwise).
    progress: float
    #: Core seconds spent so far (training and probes of a finished run; training otherwise).
    core_s: float


def job_status(study: Study, out: Path, arm: str, seed: int) -> JobStatus:
    run_dir = run_dir_of(out, arm, seed)
    if (run_dir / RESULT).is_file():
        result = json.loads((run_dir / RESULT).read_text())
        return JobStatus(arm, seed, DONE, 1.0, result["train_s"] + result.get("probe_s", 0.0))
    # A job holds its job lock and, while it trains, its run directory's lock; a study folder
    # written by a version before the job lock was renamed has only the second (.NAME.lock).
    running = is_locked(lock_path(out, arm, seed)) or is_locked(lock_beside(run_dir))
    rows = _rows(run_dir)
    if not rows:
        return JobStatus(arm, seed, RUNNING if running else WAITING, 0.0, 0.0)
    return JobStatus(
        arm, seed, RUNNING if running else STOPPED, _progress(study, arm, rows), core_seconds(rows)
    )


def _rows(run_dir: Path) -> list[dict]:
    try:
        return read_csv(run_dir / "metrics.csv") if (run_dir / "metrics.csv").is_file() else []
    except (OSError, ValueError):  # a row being written as we read
        return []


def _progress(study: Study, arm: str, rows: list[dict]) -> float:
    run = study.arms[arm].run
    last = rows[-1]
    shares = []
    if run.budget_rollouts:
        shares.append(float(last.get("budget/rollouts_total") or 0) / run.budget_rollouts)
    if run.generations:
        shares.append(len(rows) / run.generations)
    return min(1.0, max(shares, default=0.0))


def spent_core_seconds(study: Study, out: Path) -> float:
    """Core seconds spent on a study so far: finished runs (training and probes) and the
    training of runs stopped part way or going now; what a compute cap counts."""
    return sum(job_status(study, out, arm, seed).core_s for arm, seed in study.jobs())


def study_status(
    study: Study, out: Path, workers: int = 2, max_core_hours: float | None = None
) -> str:
    """The status as text: counts by state, core-hours per arm, spent and estimated; with a
    compute cap, which runs it is expected to leave out."""
    jobs = [job_status(study, out, arm, seed) for arm, seed in study.jobs()]
    counts = {state: sum(j.state == state for j in jobs) for state in (DONE, RUNNING, STOPPED,
                                                                       WAITING)}  # fmt: skip
    lines = [
        f"study '{study.head.name}' in {out}: {len(jobs)} runs: "
        + ", ".join(f"{n} {state}" for state, n in counts.items()),
        "",
    ]
    rows, spent, left = [], 0.0, 0.0
    overall = _mean([j.core_s for j in jobs if j.state == DONE])
    cost = {}  # per arm: the mean core seconds of its finished runs (of all, if none)
    for arm in study.arms:
        mine = [j for j in jobs if j.arm == arm]
        per_run = cost[arm] = _mean([j.core_s for j in mine if j.state == DONE]) or overall
        arm_spent = sum(j.core_s for j in mine)
        arm_left = sum(per_run * (1.0 - j.progress) for j in mine if j.state != DONE)
        spent, left = spent + arm_spent, left + arm_left
        rows.append([
            arm, f"{sum(j.state == DONE for j in mine)}/{len(mine)}",
            ", ".join(f"{j.seed} ({j.progress:.0%})" for j in mine if j.state in (RUNNING,
                      STOPPED)) or "-",  # fmt: skip
            f"{arm_spent / 3600:.2f}", f"{per_run / 60:.1f}" if per_run else "n/a",
            f"{arm_left / 3600:.2f}" if per_run else "n/a",
        ])  # fmt: skip
    headers = ("arm", "done", "in progress (seed, share)", "core-h spent",
               "core-min per run", "core-h left (est.)")  # fmt: skip
    lines.append(markdown_table(headers, rows))
    lines.append("")
    if overall:
        lines.append(
            f"core-hours: {spent / 3600:.2f} spent, about {left / 3600:.2f} left "
            f"(about {spent / 3600 + left / 3600:.1f} in all; {left / 3600 / max(1, workers):.1f} "
            f"h of wall time at {workers} workers)"
        )
    else:
        lines.append(f"core-hours: {spent / 3600:.2f} spent; no run done yet to estimate the rest")
    cut: list[JobStatus] = []
    if max_core_hours is not None:
        text, cut = cap_forecast(jobs, cost, spent, max_core_hours)
        lines.append(text)
    lines.extend(pair_warnings(study, {(j.arm, j.seed) for j in cut}))
    lines.append("No outcomes are shown: the report is written once the last run is done.")
    return "\n".join(lines)


def cap_forecast(
    jobs: list[JobStatus], cost: dict, spent: float, cap_hours: float
) -> tuple[str, list[JobStatus]]:
    """Which runs a compute cap is expected to leave out, as text and as a list: going through
    the runs left in study order at each arm's cost per run so far, a run starts while the
    spent core-hours are under the cap (runs going now are counted as started)."""
    head = f"compute cap {cap_hours:g} core-hours: {spent / 3600:.2f} spent"
    if not any(cost.values()):
        return head + "; no run done yet to forecast what it leaves out", []
    total, cut = spent, []
    for j in jobs:
        if j.state == DONE:
            continue
        if j.state == RUNNING or total < cap_hours * 3600:
            total += cost[j.arm] * (1.0 - j.progress)
        else:
            cut.append(j)
    if not cut:
        return head + f"; every run fits (about {total / 3600:.1f} in all)", []
    arms = [arm for arm in cost if any(j.arm == arm for j in cut)]  # the study's arm order
    left_out = "; ".join(
        f"{arm} seeds {seed_ranges([j.seed for j in cut if j.arm == arm])}" for arm in arms
    )
    text = f"{head}; at the cost per run so far it is expected to leave out {len(cut)} runs: "
    return text + left_out, cut


def seed_ranges(seeds: list[int]) -> str:
    """[100, 101, 102, 105] -> '100-102, 105'."""
    spans: list[list[int]] = []
    for seed in sorted(seeds):
        if spans and seed == spans[-1][1] + 1:
            spans[-1][1] = seed
        else:
            spans.append([seed, seed])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
