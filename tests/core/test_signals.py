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

SLOW_TINY = [o for o in TINY if not o.startswith(("run.generations", "run.checkpoint_every"))]
SETTINGS = [*SLOW_TINY, "run.generations=300", "run.checkpoint_every=1000", "run.plots=false"]


def start_training(out: Path) -> subprocess.Popen:
    config = out.parent / "empty.toml"
    config.write_text("")
    args = [sys.executable, "-m", "pbml_control", "train", str(config), "--quiet"]
    args += ["--out", str(out)] + [a for o in SETTINGS for a in ("--set", o)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(out: Path, rows: int, proc: subprocess.Popen, limit: float = 120) -> None:
    metrics = out / "metrics.csv"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > rows:
            return
        time.sleep(0.05)
    err = proc.stderr.read() if proc.poll() is not None else ""
    pytest.fail(f"training did not reach {rows} generations (exit {proc.poll()}): {err[-500:]}")


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    start_run(load_config(None, SETTINGS), out, progress=False)
    return out


def test_a_run_killed_before_its_first_interval_resumes_bit_identically(straight, tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["gen_000000.json"]
    resume_run(out, progress=False)
    assert_same_run(straight, out)


def test_sigterm_checkpoints_exits_143_and_resumes_bit_identically(straight, tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert len(list_checkpoints(out / "checkpoints")) == 2  # generation 0 and the SIGTERM save
    assert_names_checkpoint_and_resume(err, out)
    resume_run(out, progress=False)
    assert_same_run(straight, out)


def assert_names_checkpoint_and_resume(err: str, out: Path) -> None:
    """The last line names the checkpoint saved on the way out and the command to continue."""
    saved = list_checkpoints(out / "checkpoints")[-1]
    last = err.strip().splitlines()[-1]
    assert f"saved checkpoint {saved}" in last and f"continue with: pbml resume {out}" in last


def test_ctrl_c_names_the_saved_checkpoint_and_the_resume_command(tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
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


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (root only; skipped where mounting is not permitted)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()[:100]}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_one_line_and_the_last_checkpoint_survives(small_disk, capsys):
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


def test_a_read_only_run_directory_is_one_line_and_changes_nothing(small_disk, capsys):
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
