"""Losses on common signals: a run killed before its first checkpoint interval, SIGTERM, and the
temporary files of an interrupted write. Real `pbml train` processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbml_control.running.checkpoint import list_checkpoints
from pbml_control.running.config import load_config
from pbml_control.running.run import resume_run, start_run
from tests.core.test_trainer import TINY, assert_same_run
from tests.helpers.disks import small_disk  # noqa: F401 (fixture)
from tests.helpers.signals import default_sigint

SLOW_TINY = [o for o in TINY if not o.startswith(("run.generations", "run.checkpoint_every"))]
SETTINGS = [*SLOW_TINY, "run.generations=300", "run.checkpoint_every=1000", "run.plots=false"]


def start_training(out: Path) -> subprocess.Popen:
    config = out.parent / "empty.toml"
    config.write_text("")
    args = [sys.executable, "-m", "pbml_control", "train", str(config), "--quiet"]
    args += ["--out", str(out)] + [a for o in SETTINGS for a in ("--set", o)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen(args, preexec_fn=default_sigint, **pipes)


def wait_for_rows(out: Path, rows: int, proc: subprocess.Popen, limit: float = 120) -> None:
    metrics = out / "metrics.csv"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > rows:
            return
        time.sleep(0.05)
    err = proc.stderr.read() if proc.poll() is not None else ""
    pytest.fail(f"training did not reach {rows} generations (exit {proc.poll()}): {err[-500:]}")


def stopped_run(out: Path, sig: int) -> tuple[int, str]:
    """`pbml train` into `out`, sent `sig` after 3 generations: its exit status and stderr."""
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    start_run(load_config(None, SETTINGS), out, progress=False)
    return out


@pytest.mark.slow
def test_a_run_killed_before_its_first_interval_resumes_bit_identically(straight, tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["gen_000000.json"]
    resume_run(out, progress=False)
    assert_same_run(straight, out)


@pytest.mark.slow
def test_sigterm_checkpoints_exits_143_and_resumes_bit_identically(straight, tmp_path):
    out = tmp_path / "run"
    status, err = stopped_run(out, signal.SIGTERM)
    assert status == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert len(list_checkpoints(out / "checkpoints")) == 2  # generation 0 and the SIGTERM save
    assert_names_checkpoint_and_resume(err, out)
    resume_run(out, progress=False)
    assert_same_run(straight, out)


@pytest.mark.slow
def test_a_run_stopped_before_its_generation_0_checkpoint_starts_again_on_resume(
    straight, tmp_path
):
    """Killed between writing config.toml and the first checkpoint: no generation was complete,
    so `pbml resume` runs it from generation 0 with the saved config, as `pbml train` would."""
    out = tmp_path / "run"
    out.mkdir()
    for name in (".pbml-run", "config.toml"):
        (out / name).write_bytes((straight / name).read_bytes())
    (out / "checkpoints").mkdir()
    resume_run(out, progress=False)
    assert_same_run(straight, out)


def test_a_folder_without_the_run_marker_is_not_restarted(tmp_path):
    from pbml_control.errors import UserError

    (tmp_path / "config.toml").write_text("")
    with pytest.raises(UserError, match="is not a run directory"):
        resume_run(tmp_path, progress=False)


def test_sigterm_while_the_cli_starts_is_one_line_and_status_143(monkeypatch, capsys):
    import pbml_control.cli as cli

    def stopped_while_importing():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler raises at once
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(cli, "build_parser", stopped_while_importing)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["train", "x.toml"]) == 143
    assert capsys.readouterr().err.strip() == "pbml: terminated (SIGTERM)"
    assert signal.getsignal(signal.SIGTERM) is before  # restored for the caller


def assert_names_checkpoint_and_resume(err: str, out: Path) -> None:
    """The last line names the checkpoint saved on the way out and the command to continue."""
    saved = list_checkpoints(out / "checkpoints")[-1]
    last = err.strip().splitlines()[-1]
    assert f"saved checkpoint {saved}" in last and f"continue with: pbml resume {out}" in last


def test_ctrl_c_names_the_saved_checkpoint_and_the_resume_command(tmp_path):
    out = tmp_path / "run"
    status, err = stopped_run(out, signal.SIGINT)
    assert status == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert_names_checkpoint_and_resume(err, out)


def test_temporary_files_of_an_interrupted_write_are_removed_on_resume(straight, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(straight, out)
    stray = [out / "checkpoints" / ".gen_000300.npz.k2j3.tmp", out / ".metrics.csv.a1b2.tmp"]
    for path in stray:
        path.write_bytes(os.urandom(4096))
    resume_run(out, generations=301, progress=False)
    assert not any(path.exists() for path in stray)


def test_a_full_disk_is_one_line_and_the_last_checkpoint_survives(small_disk, capsys):  # noqa: F811
    from pbml_control.cli import main
    from pbml_control.running.checkpoint import load_checkpoint

    out = small_disk / "run"
    args = ["train", "configs/quickstart.toml", "--quiet", "--out", str(out)]
    for override in (
        "pool.backend='serial'",
        "task.episode_steps=10",
        "run.generations=50",
        "run.checkpoint_every=1",
        "run.keep_checkpoints=0",
        "run.plots=false",
    ):
        args += ["--set", override]  # fmt: skip
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "No space left on device" in err
    saved = list_checkpoints(out / "checkpoints")
    assert saved, "at least the generation-0 checkpoint fitted"
    load_checkpoint(saved[-1])  # whole and verified
    assert not list((out / "checkpoints").glob(".*.tmp"))  # the failed write left no temp file


def test_a_read_only_run_directory_is_one_line_and_changes_nothing(small_disk, capsys):  # noqa: F811
    import hashlib

    from pbml_control.cli import main

    out = small_disk / "run"
    start_run(load_config(None, [*SLOW_TINY, "run.generations=2", "run.plots=false"]), out,
              progress=False)  # fmt: skip
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only here")
    code = main(["resume", str(out), "--generations", "4", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "Read-only file system" in err, err
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert after == digest


def test_signals_during_a_worker_start_are_held_until_it_has_started():
    """A start interrupted mid-handshake would leave the forkserver writing to a closed socket."""
    from pbml_control.signals import signals_deferred

    seen = []
    previous = signal.signal(signal.SIGTERM, lambda sig, frame: seen.append("handled"))
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            seen.append("block ended")
        assert seen == ["block ended", "handled"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_worker_whose_parent_stopped_listening_exits_without_a_traceback(capfd):
    import multiprocessing as mp

    from pbml_control.rollout.process import _worker_main

    ctx = mp.get_context("forkserver")
    parent, child = ctx.Pipe()
    worker = ctx.Process(target=_worker_main, args=(child,), daemon=True)
    worker.start()
    child.close()
    parent.send("not a chunk")  # the worker fails on it and answers to a closed pipe
    parent.close()
    worker.join(timeout=60)
    assert worker.exitcode == 0
    assert "Traceback" not in capfd.readouterr().err


def test_making_a_task_starts_no_subprocess():
    """glfw probes for its library in subprocesses unless PYGLFW_LIBRARY names one (see
    pbml_envs.glfw_library); such a probe orphaned by a killed worker printed a traceback."""
    code = (
        "import subprocess\n"
        "started = []\n"
        "original = subprocess.Popen.__init__\n"
        "def counting(self, *args, **kwargs):\n"
        "    started.append(args)\n"
        "    original(self, *args, **kwargs)\n"
        "subprocess.Popen.__init__ = counting\n"
        "import pbml_envs\n"
        "pbml_envs.make_env('pbml/HalfCheetahVel-v0').reset(seed=0)\n"
        "print(len(started))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYGLFW_LIBRARY"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0"]
