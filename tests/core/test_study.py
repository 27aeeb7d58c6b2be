"""`pbml study` end to end on tiny studies: toy world and real MuJoCo runs, interruption and
resume, a changed design refused, scheduling-independent results."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pbml_control.cli import main
from pbml_control.errors import UserError
from pbml_control.running.run_files import read_csv
from pbml_control.study import jobs as study_jobs
from pbml_control.study import load_study, runner
from pbml_control.study.report import write_report

ROOT = Path(__file__).parents[2]

MOVING = f"""
[study]
name = "tiny_moving"
kind = "moving"
base = "{ROOT / "configs" / "moving_target.toml"}"
seeds = 3
set = ["run.generations=0", "run.budget_rollouts=640", "population.size=16", "goals.every=5"]

[arms.evolved]
set = []
[arms.frozen]
set = ["population.mutation.frozen=true"]

[probe]
goals = 2
env_seeds = 1
generations = 4
at = [1, 4]
primary = 4
population = 16

[[hypotheses]]
name = "H1"
text = "evolved beats frozen"
treatment = "evolved"
control = "frozen"

[[hypotheses]]
name = "H1-in-run"
text = "difference in differences"
treatment = "evolved"
control = "frozen"
measure = "in_run"
"""

TRAIN = f"""
[study]
name = "tiny_train"
base = "{ROOT / "configs" / "quickstart.toml"}"
seeds = 2
set = ["run.generations=4", "run.checkpoint_every=2", "task.episode_steps=20", "goals.every=2",
       "population.size=8", "policy.kwargs={{hidden=[8]}}", "pool.chunk_size=4"]

[arms.pbml]
set = []
[arms.paper]
set = ["population.strategy='pbml_paper'", "population.offspring=2"]

[probe]
goals = 1
env_seeds = 1
generations = 2
at = [1, 2]
primary = 2
population = 8

[[hypotheses]]
name = "H"
text = "pbml beats the paper's rule"
treatment = "pbml"
control = "paper"
"""


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(path: Path, out: Path, **kw):
    study = load_study(path)
    results = runner.run_study(study, out, echo=lambda line: None, **kw)
    write_report(study, out, results, "pbml study test", "0 s")
    return results


def test_tiny_moving_study_runs_end_to_end(tmp_path):
    out = tmp_path / "out"
    results = run(write(tmp_path, MOVING), out, workers=1)
    assert len(results) == 6
    rows = read_csv(out / "results.csv")
    assert len(rows) == 6 * 2  # one row per run and probe
    assert {r["arm"] for r in rows} == {"evolved", "frozen"}
    report = (out / "report.md").read_text()
    assert "| H1: evolved > frozen | probe | 3 |" in report
    assert "H1-in-run" in report and "Status: complete" in report
    for name in ("probe_curves.png", "mutation_sigma.png", "mutation_gate.png", "study.json"):
        assert (out / name).is_file()


def test_interrupted_study_finishes_identically(tmp_path, monkeypatch):
    path = write(tmp_path, MOVING)
    run(path, tmp_path / "straight", workers=1)
    real, calls = study_jobs.run_job, []

    def flaky(*args, **kwargs):
        calls.append(args[1:3])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_job", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(path, tmp_path / "split", workers=1)
    monkeypatch.setattr(runner, "run_job", real)
    run(path, tmp_path / "split", workers=1)
    assert read_csv(tmp_path / "split" / "results.csv") == read_csv(
        tmp_path / "straight" / "results.csv"
    )


def test_process_scheduling_gives_the_serial_results(tmp_path):
    path = write(tmp_path, MOVING)
    run(path, tmp_path / "serial", workers=1)
    run(path, tmp_path / "process", workers=2, backend="process")
    a = read_csv(tmp_path / "serial" / "results.csv")
    b = read_csv(tmp_path / "process" / "results.csv")
    assert a == b


def test_stopping_a_study_pool_leaves_no_worker_or_manager_thread_behind(monkeypatch):
    """A study stopped by SIGTERM exits with nothing of its pool still running; a manager thread
    left closing its wakeup pipe made Python's exit hook print an EBADF traceback. The manager
    is slowed down here so that the race it lost at exit is lost every time without the join."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import process as futures_process

    closing = futures_process._ExecutorManagerThread.join_executor_internals

    def slow_close(self):
        time.sleep(1.0)
        closing(self)

    monkeypatch.setattr(
        futures_process._ExecutorManagerThread, "join_executor_internals", slow_close
    )
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        futures = [executor.submit(time.sleep, 60) for _ in range(2)]
        while not any(f.running() for f in futures):
            time.sleep(0.05)
        processes = list(executor._processes.values())
        manager = executor._executor_manager_thread
        runner.stop_workers(executor)
        assert not manager.is_alive()
        assert not any(process.is_alive() for process in processes)


def test_a_changed_study_file_is_refused_naming_the_change(tmp_path):
    path = write(tmp_path, MOVING)
    run(path, tmp_path / "out", workers=1)
    changed = write(tmp_path, MOVING.replace("env_seeds = 1", "env_seeds = 2"), "b.toml")
    with pytest.raises(UserError, match=r"Changed: probe.env_seeds: 1 -> 2"):
        run(changed, tmp_path / "out", workers=1)
    text = MOVING.replace("mutation.frozen=true", "mutation.meta_rate=0.2")
    arm = write(tmp_path, text, "c.toml")
    with pytest.raises(UserError, match=r"arm 'frozen': population.mutation.frozen True -> False"):
        run(arm, tmp_path / "out", workers=1)


def test_bad_study_files_name_the_problem(tmp_path):
    from pbml_control.errors import ConfigError

    bad = MOVING.replace('control = "frozen"\n\n[[', 'control = "nope"\n\n[[')
    with pytest.raises(ConfigError, match="control 'nope' is not an arm"):
        load_study(write(tmp_path, bad))
    with pytest.raises(ConfigError, match="arms.frozen: unknown config key"):
        load_study(write(tmp_path, MOVING.replace("mutation.frozen", "mutation.frozn")))
    with pytest.raises(UserError, match="does not exist"):
        load_study(tmp_path / "missing.toml")
    twice = re.sub(r"\nat = \[[^\]]*\]", "\nat = [1, 2, 2]", MOVING)
    with pytest.raises(ConfigError, match=r"probe.at lists generation\(s\) \[2\] twice"):
        load_study(write(tmp_path, twice, "twice.toml"))


@pytest.mark.slow
def test_tiny_train_study_resumes_an_interrupted_run(tmp_path):
    path = write(tmp_path, TRAIN)
    run(path, tmp_path / "straight", workers=1)
    split = tmp_path / "split"
    run(path, split, workers=1)
    # Undo one run back to its generation-2 checkpoint, as if killed after it.
    run_dir = split / "run_results" / "paper_seed1"
    (run_dir / "probe.json").unlink()
    for name in ("gen_000004.json", "gen_000004.npz"):
        (run_dir / "checkpoints" / name).unlink()
    shutil.rmtree(run_dir / "best")
    run(path, split, workers=1)
    assert read_csv(split / "results.csv") == read_csv(tmp_path / "straight" / "results.csv")
    assert read_csv(run_dir / "metrics.csv")[-1]["generation"] == "3"


def test_study_cli_writes_the_report(tmp_path, capsys):
    path = write(tmp_path, MOVING)
    assert main(["study", str(path), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    assert "report.md (6 runs)" in capsys.readouterr().out
    assert "this sitting's wall time: " in (tmp_path / "o" / "report.md").read_text()
    assert main(["study", str(path), "--out", str(tmp_path / "o"), "--report-only"]) == 0
    status = (tmp_path / "o" / "report.md").read_text().splitlines()[4]
    assert "wall time" not in status and status.endswith("(one core each).")  # it ran nothing


@pytest.mark.ray
@pytest.mark.slow
def test_ray_scheduling_gives_the_serial_results(tmp_path):
    import os
    import subprocess
    import sys

    pytest.importorskip("ray")
    path = write(tmp_path, MOVING)
    run(path, tmp_path / "serial", workers=1)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "disabled",
           "MPLCONFIGDIR": str(tmp_path / "mpl")}  # fmt: skip
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, "-m", "pbml_control", "study", str(path), "--out",
               str(tmp_path / "ray"), "--backend", "ray", "--workers", "2"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_csv(tmp_path / "ray" / "results.csv") == read_csv(
        tmp_path / "serial" / "results.csv"
    )
    # With a compute cap Ray gets one job per worker at a time: one run, then the cap.
    capped = [sys.executable, "-m", "pbml_control", "study", str(path), "--out",
              str(tmp_path / "capped"), "--backend", "ray", "--workers", "1",
              "--max-core-hours", "1e-9"]  # fmt: skip
    proc = subprocess.run(capped, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "compute cap reached" in proc.stdout and "(1 runs)" in proc.stdout
    assert list(home.iterdir()) == []


def test_the_python_api_runs_a_study_as_the_cli_does(tmp_path):
    import pbml_control

    path = write(tmp_path, MOVING)
    report = pbml_control.run_study(path, tmp_path / "o", workers=1)
    assert report == tmp_path / "o" / "report.md" and "H1" in report.read_text()
    again = pbml_control.run_study(path, tmp_path / "o", report_only=True)
    assert again == report
