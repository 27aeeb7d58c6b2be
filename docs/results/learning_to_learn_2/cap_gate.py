"""Apply `pbml study --max-core-hours H` (main's rule) to a study run by the pinned code, which has
no cap: no run starts once H core-hours are spent; runs already going finish.

It watches the spent core-hours (main's `spent_core_seconds`, what `--status` and the cap count,
plus the probe the next run to finish adds). Once they reach H it takes the job locks
(`.ARM_seedSEED.lock`, the pinned code's name) of every run not started: the next run a worker
of the pinned study tries to start finds its lock taken, the pinned runner cancels the runs not
started, waits for the ones going, and exits. Reads no outcome (only the runs' probe times).

    python docs/results/learning_to_learn_2/cap_gate.py STUDY.toml OUT --cap 30
"""

import argparse
import fcntl
import json
import os
import sys
import time
from pathlib import Path

from pbml_control.study.jobs import RESULT, RUNS, run_dir_of
from pbml_control.study.spec import load_study
from pbml_control.study.status import spent_core_seconds


def pinned_lock(out: Path, arm: str, seed: int) -> Path:
    """The job lock of the pinned code (ba19859); main's is named `.ARM_seedSEED.job.lock`."""
    return out / RUNS / f".{arm}_seed{seed}.lock"


def probe_to_come(study, out: Path) -> float:
    """Core seconds the next run to finish adds when it does: its probe (the cap counts a run's
    training while it goes and its probes once it is done). Main's gate decides when a worker
    is free, just after that jump; this gate decides a few seconds before, so it adds the
    largest median probe time among the arms of the runs going now."""
    going = [
        job
        for job in study.jobs()
        if run_dir_of(out, *job).exists() and not (run_dir_of(out, *job) / RESULT).is_file()
    ]
    estimate = 0.0
    for arm in {a for a, _ in going}:
        probes = sorted(
            json.loads((run_dir_of(out, arm, s) / RESULT).read_text()).get("probe_s", 0.0)
            for s in study.seeds_of(arm)
            if (run_dir_of(out, arm, s) / RESULT).is_file()
        )
        estimate = max(estimate, probes[len(probes) // 2] if probes else 0.0)
    return estimate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("study")
    parser.add_argument("out")
    parser.add_argument("--cap", type=float, required=True)
    parser.add_argument(
        "--every", type=float, default=3.0, help="seconds between looks near the cap"
    )
    args = parser.parse_args()
    study, out = load_study(args.study), Path(args.out)
    held: dict[tuple[str, int], int] = {}  # job -> fd of the lock we hold (till we exit)

    def started(job) -> bool:
        return run_dir_of(out, *job).exists()  # a run makes its folder when it starts

    def hold(job) -> None:
        if job in held:
            return
        path = pinned_lock(out, *job)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a worker has it: the run started
            os.close(fd)
            return
        if started(job):  # it started and finished between our looks: let it be
            os.close(fd)
            return
        held[job] = fd

    while not (out / "study.json").is_file():  # the study makes its folder first
        time.sleep(args.every)
    closed, spent = False, 0.0
    while True:
        pending = [job for job in study.jobs() if not started(job)]
        if not pending:
            print("cap_gate: every run has started; nothing to gate", flush=True)
            break
        if not closed:
            spent = spent_core_seconds(study, out) + probe_to_come(study, out)
            if spent / 3600 >= args.cap:
                closed = True
                print(
                    f"cap_gate: {spent / 3600:.3f} of {args.cap:g} core-hours spent (with the "
                    f"probe of the next run to finish) at {time.strftime('%H:%M:%S')}; no "
                    f"further run starts ({len(pending)} not started, from {pending[0]})",
                    flush=True,
                )
        if closed:  # every run not started stays locked: a worker that tries one stops the study
            for job in pending:
                hold(job)
        near = closed or spent / 3600 > args.cap - 0.2  # far from the cap, look once a minute
        time.sleep(args.every if near else 60.0)


if __name__ == "__main__":
    sys.exit(main())
