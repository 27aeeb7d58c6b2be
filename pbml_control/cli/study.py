"""`pbml study STUDY.toml`: run a multi-seed study with controls, probe it, and report."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "study",
        help="run a multi-seed study with controls, test its hypotheses",
        description="Run every (arm, seed) of a study file as its own run under the study "
        "folder, probe every final population on held-out goals, and write results.csv, "
        "report.md (paired statistics per hypothesis) and plots. Running the same command "
        "again skips finished runs and resumes interrupted ones; a changed study file is "
        "refused. See studies/ for examples.",
    )
    p.add_argument("study", type=Path, help="study file, e.g. studies/moving_target.toml")
    p.add_argument(
        "--out",
        type=Path,
        help="study folder, created with missing parents (default: runs/studies/<name>)",
    )
    p.add_argument("--workers", type=int, default=2, help="runs at once, one core each")
    p.add_argument(
        "--backend", choices=("process", "serial", "ray"), default="process",
        help="where runs go: local processes, this process, or a Ray cluster",
    )  # fmt: skip
    p.add_argument(
        "--address",
        default="",
        help="Ray cluster address HOST:PORT (with --backend ray; default: a private local Ray)",
    )
    p.add_argument("--report-only", action="store_true", help="write the report from what is done")
    p.add_argument(
        "--max-core-hours", type=float, metavar="H",
        help="compute cap: start no run once the study has spent H core-hours (finished runs "
        "and runs stopped part way); runs going finish; the report names what the cap left out "
        "(default: no cap)",
    )  # fmt: skip
    p.add_argument(
        "--status", action="store_true",
        help="show runs done, running and left and the core-hours spent and left, no outcomes "
        "(with --max-core-hours: the runs the cap is expected to leave out); runs nothing and "
        "writes nothing",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.errors import UserError
    from pbml_control.study.command import study_and_report

    if args.status:
        from pbml_control.study.runner import check_cap, check_study_dir
        from pbml_control.study.spec import load_study
        from pbml_control.study.status import study_status

        if args.workers < 1:
            raise UserError(f"--workers must be >= 1, got {args.workers}")
        check_cap(args.max_core_hours)
        study = load_study(args.study)
        out = args.out or Path("runs") / "studies" / study.head.name
        check_study_dir(out, study)
        print(study_status(study, out, args.workers, args.max_core_hours))
        return 0
    path, count = study_and_report(
        args.study, args.out, args.workers, args.backend, args.address, args.report_only,
        args.max_core_hours,
    )  # fmt: skip
    print(f"wrote {path} ({count} runs)")
    return 0
