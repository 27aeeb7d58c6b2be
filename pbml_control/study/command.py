"""Run (or continue) a study and write its report: what `pbml study` and
`pbml_control.run_study` do."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from pbml_control.errors import UserError


def study_and_report(
    study_file: str | Path,
    out: str | Path | None = None,
    workers: int = 2,
    backend: str = "process",
    address: str = "",
    report_only: bool = False,
    max_core_hours: float | None = None,
) -> tuple[Path, int]:
    """(report.md's path, runs in it): every (arm, seed) not done yet is run, then the report
    is written from all finished runs (``report_only``: from what is done, running nothing).
    ``max_core_hours``: no run starts once the study has spent that many core-hours, and the
    report says what the cap left out."""
    from pbml_control.running.lock import folder_lock
    from pbml_control.study.report import write_report
    from pbml_control.study.runner import check_cap, collect, elapsed_since, run_study
    from pbml_control.study.spec import load_study

    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    check_cap(max_core_hours)
    study_file = Path(study_file)
    study = load_study(study_file)
    out = Path(out) if out is not None else Path("runs") / "studies" / study.head.name
    start = time.perf_counter()
    if report_only:
        results = collect(study, out)
    else:
        results = run_study(study, out, workers, backend, address, max_core_hours=max_core_hours)
    command = f"pbml study {shlex.quote(str(study_file))} --out {shlex.quote(str(out))}"
    if max_core_hours is not None:
        command += f" --max-core-hours {max_core_hours:g}"
    with folder_lock(out, "study folder"):
        wall = None if report_only else elapsed_since(start)
        path = write_report(study, out, results, command, wall, max_core_hours)
    return path, len(results)
