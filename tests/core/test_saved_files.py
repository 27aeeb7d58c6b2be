"""Saved files are data and one writer per folder (the second fault campaign's findings): a study
file cannot write outside its folder, a re-signed checkpoint cannot decide how a run runs nor
smuggle in invalid state, a second writer is refused naming the holder, a killed study leaves
nothing writing, and bad sizes, goal settings and a double Ctrl-C end in one line."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pbml_control.errors import CheckpointError, ConfigError, UserError
from pbml_control.rollout.base import PoolError
from pbml_control.running.checkpoint import json_digest, list_checkpoints, load_checkpoint
from pbml_control.running.config import load_config
from pbml_control.running.lock import folder_lock, job_lock, lock_beside
from pbml_control.running.run import resume_run, start_run
from tests.core.test_trainer import TINY

ROOT = Path(__file__).parents[2]
SMALL = [*TINY, "run.generations=6"]


def trained(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "run"
    start_run(load_config(None, [*SMALL, *extra]), out, progress=False, summary=False)
    return out


def resign(path: Path, meta_edit=None, array_edit=None) -> None:
    """Edit a checkpoint's JSON and/or arrays and recompute both digests, as an attacker can."""
    meta = json.loads(path.read_text())
    npz = path.with_suffix(".npz")
    if array_edit is not None:
        with np.load(npz) as data:
            arrays = {k: data[k] for k in data.files}
        array_edit(arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        npz.write_bytes(buffer.getvalue())
    meta["npz_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    if meta_edit is not None:
        meta_edit(meta)
    meta["json_sha256"] = json_digest(meta)
    path.write_text(json.dumps(meta))


def drop_last(run: Path) -> Path:
    """Remove the latest checkpoint so that resuming has work left; the new latest."""
    found = list_checkpoints(run / "checkpoints")
    found[-1].with_suffix(".npz").unlink()
    found[-1].unlink()
    shutil.rmtree(run / "best")
    return found[-2]


def edit_config(key: str, value: str):
    def edit(meta):
        meta["config"] = meta["config"].replace(key, value, 1)
        assert value in meta["config"]

    return edit


# --- study files write only inside their folder --------------------------------------------


@pytest.mark.parametrize("name", ["../../victim2", "/tmp/abs", "a/b", ".."])
def test_arm_names_that_would_leave_the_study_folder_are_refused(tmp_path, name):
    from pbml_control.study import load_study

    text = (
        (ROOT / "studies" / "moving_target.toml")
        .read_text()
        .replace("[arms.greedy]", f'[arms."{name}"]')
    )
    text = text.replace('base = "../configs', f'base = "{ROOT}/configs')
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match="must be a plain name"):
        load_study(tmp_path / "s.toml")
    victim = tmp_path / "victim2_seed0"
    victim.mkdir()
    assert victim.is_dir()  # nothing was touched


def test_a_study_name_with_a_path_is_refused(tmp_path):
    from pbml_control.study import load_study

    text = (ROOT / "studies" / "moving_target.toml").read_text()
    text = text.replace('name = "moving_target"', 'name = "../../../up"')
    text = text.replace('base = "../configs', f'base = "{ROOT}/configs')
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match="study.name must be a plain name"):
        load_study(tmp_path / "s.toml")


# --- a re-signed checkpoint restores state, never decides how to run -----------------------


def test_a_resigned_pool_and_retention_are_ignored_on_resume(tmp_path, capsys):
    run = trained(tmp_path)
    latest = drop_last(run)
    kept = len(list_checkpoints(run / "checkpoints"))

    def hostile(meta):
        text = meta["config"].replace('backend = "serial"', 'backend = "ray"')
        text = text.replace('address = ""', 'address = "127.0.0.1:1"')
        meta["config"] = text.replace("keep_checkpoints = 0", "keep_checkpoints = 1")
        assert "127.0.0.1:1" in meta["config"] and "keep_checkpoints = 1" in meta["config"]

    resign(latest, meta_edit=hostile)
    resume_run(run, progress=False, summary=False)  # serial, as config.toml says: no connection
    assert len(list_checkpoints(run / "checkpoints")) == kept + 1  # nothing deleted
    assert 'backend = "serial"' in (run / "config.toml").read_text()
    assert "ray" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a: a["pop.params"].__setitem__((0, 0), np.nan), "'params' holds NaN"),
        (lambda a: a["pop.shares"].__setitem__(0, -1.0), "shares must be >= 0"),
        (lambda a: a["pop.log_sigma"].__setitem__((0, 0), np.inf), "'log_sigma' holds NaN"),
        (lambda a: a.__setitem__("obs.count", np.array(-5.0)), "observation count"),
        (lambda a: a.__setitem__("obs.mean", np.full_like(a["obs.mean"], np.nan)),
         "observation statistics hold NaN"),
        (lambda a: a["pop.ids"].__setitem__(1, a["pop.ids"][0]), "ids must be distinct"),
    ],
)  # fmt: skip
def test_resigned_invalid_arrays_are_refused_in_one_line(tmp_path, edit, message):
    run = trained(tmp_path)
    latest = drop_last(run)
    resign(latest, array_edit=edit)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    with pytest.raises(CheckpointError, match=message) as err:
        resume_run(run, progress=False, summary=False)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_a_resigned_population_size_or_policy_is_refused(tmp_path):
    run = trained(tmp_path)
    latest = drop_last(run)
    resign(latest, meta_edit=edit_config("size = 8", "size = 4"))
    with pytest.raises(CheckpointError, match="8 genomes, but population.size is 4"):
        resume_run(run, progress=False, summary=False)
    run2 = trained(tmp_path / "b")
    latest = drop_last(run2)
    resign(latest, meta_edit=lambda m: m["policy"].update(activation="relu"))
    with pytest.raises(CheckpointError, match="its policy"):
        resume_run(run2, progress=False, summary=False)


def test_an_inflating_member_is_refused_before_it_is_inflated(tmp_path):
    run = trained(tmp_path)
    latest = drop_last(run)
    npz = latest.with_suffix(".npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.save(member, value)
            archive.writestr(f"{key}.npy", member.getvalue())
        bomb = io.BytesIO()
        np.save(bomb, np.zeros(64 * 2**20 // 8))  # 64 MiB of zeros, a few KB compressed
        archive.writestr("pop.bomb.npy", bomb.getvalue())
    npz.write_bytes(buffer.getvalue())
    resign(latest)
    with pytest.raises(CheckpointError, match="would inflate to"):
        load_checkpoint(latest)


def test_an_edited_config_toml_is_named_and_the_checkpoint_wins(tmp_path, capsys):
    run = trained(tmp_path)
    drop_last(run)
    text = (run / "config.toml").read_text()
    (run / "config.toml").write_text(text.replace("size = 8", "size = 16").replace(
        "workers = 2", "workers = 1"))  # fmt: skip
    resume_run(run, progress=False, summary=False)
    err = capsys.readouterr().err
    assert "differs from the checkpoint in population.size (16 in config.toml, 8 in the" in err
    assert "the checkpoint's values are used" in err
    saved = (run / "config.toml").read_text()
    assert "size = 8" in saved and "workers = 1" in saved  # science kept, operations taken


# --- one writer per folder -----------------------------------------------------------------


def test_a_second_writer_of_a_run_directory_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    with folder_lock(run, "run directory"):
        with pytest.raises(UserError, match=rf"PID {os.getpid()}"):
            start_run(load_config(None, SMALL), run, progress=False, summary=False)
    start_run(load_config(None, SMALL), run, progress=False, summary=False)
    with job_lock(lock_beside(run), "holder"):
        with pytest.raises(UserError, match="being written by another process"):
            resume_run(run, generations=8, progress=False, summary=False)


@pytest.mark.slow
def test_two_overwriting_trainings_of_one_folder_leave_one_whole_run(tmp_path):
    out = tmp_path / "run"
    (tmp_path / "empty.toml").write_text("")
    args = [sys.executable, "-m", "pbml_control", "train", str(tmp_path / "empty.toml"),
            "--quiet", "--overwrite", "--out", str(out)]  # fmt: skip
    args += [a for o in [*TINY, "run.generations=30", "run.plots=false"] for a in ("--set", o)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    done = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes[0] == 0, done
    if codes[1] != 0:
        err = next(e for p, (_, e) in zip(procs, done, strict=True) if p.returncode)
        assert "being written by another process (PID" in err and err.count("\n") == 1
    header = (out / "metrics.csv").read_text().splitlines()
    assert sum(line.startswith("generation") for line in header) == 1
    assert len(header) == 31


# --- a killed study leaves nothing writing --------------------------------------------------


def started_study(tmp_path: Path, out: Path, done: int):
    """`pbml study` of the moving-target study (runs 2.5x longer) on 2 workers, returned once
    ``done`` runs are finished: (the process, its arguments)."""
    study = ROOT / "studies" / "moving_target.toml"
    text = study.read_text().replace('base = "../configs', f'base = "{ROOT}/configs')
    text = text.replace("run.budget_rollouts=25600", "run.budget_rollouts=64000")
    (tmp_path / "s.toml").write_text(text)
    args = [sys.executable, "-m", "pbml_control", "study", str(tmp_path / "s.toml"), "--out",
            str(out), "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("run_results/*/probe.json"))) < done:
        time.sleep(0.1)
    return proc, args


def still_written(folder: Path, seconds: float) -> bool:
    """Whether any file under ``folder`` changes within ``seconds``."""
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    time.sleep(seconds)
    return before != {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_killed_study_leaves_no_writer_and_its_rerun_finishes_identically(tmp_path):
    from pbml_control.running.run_files import read_csv

    out = tmp_path / "killed"
    proc, args = started_study(tmp_path, out, done=3)
    proc.send_signal(signal.SIGKILL)
    time.sleep(2.0)  # not collected yet (a zombie): its workers must see it as gone anyway
    assert not still_written(out, 3.0)  # nothing kept writing
    proc.wait(timeout=30)
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    straight = tmp_path / "straight"
    subprocess.run([*args[:5], "--out", str(straight), "--workers", "1"], check=True,
                   capture_output=True,
                   timeout=600)  # fmt: skip
    assert read_csv(out / "results.csv") == read_csv(straight / "results.csv")


# --- the forkserver race --------------------------------------------------------------------


def test_a_worker_start_that_loses_its_forkserver_is_tried_again(monkeypatch):
    from pbml_control.rollout.process import ProcessPool

    pool = ProcessPool(workers=1)
    try:
        real, calls = type(pool._ctx.Process(target=print)).start, []

        def flaky(self):
            calls.append(1)
            if len(calls) == 1:
                raise EOFError("the forkserver went away")
            return real(self)

        monkeypatch.setattr(type(pool._ctx.Process(target=print)), "start", flaky)
        pool._replace(0, type("Q", (), {"retry": lambda *a: None})(), "test")
        assert len(calls) == 2 and pool._workers[0].process.is_alive()

        def broken(self):
            raise EOFError("no forkserver")

        monkeypatch.setattr(type(pool._ctx.Process(target=print)), "start", broken)
        with pytest.raises(PoolError, match="could not start a rollout worker"):
            pool._spawn()
    finally:
        monkeypatch.undo()
        pool.close()


# --- sizes, goals, signals, transfer, trust -------------------------------------------------


@pytest.mark.parametrize(
    "override, message",
    [
        ("task.episode_steps=9223372036854775807", "task.episode_steps must be at most"),
        ("task.episodes=9223372036854775807", "task.episodes must be at most"),
        ("run.generations=9223372036854775807", "run.generations must be at most"),
        ("run.seed=9223372036854775807", "run.seed must be at most"),
    ],
)
def test_sizes_past_their_bounds_are_one_line(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("population = 64", "population = 4611686018427387904", "probe.population must be"),
        ("generations = 10", "generations = 4611686018427387904", "probe.generations must be"),
        ("goals = 3", "goals = 1000000000", "probe.goals must be"),
        ("margin = 0.05", "margin = nan", "margin must be a finite number"),
        ("margin = 0.05", "margin = inf", "margin must be a finite number"),
        ("seeds = 10", "seeds = 1000000000000", "study.seeds must be at most"),
    ],
)
def test_study_files_are_fully_validated_at_load(tmp_path, old, new, message):
    from pbml_control.study import load_study

    text = (ROOT / "studies" / "moving_target.toml").read_text()
    text = text.replace('base = "../configs', f'base = "{ROOT}/configs').replace(old, new, 1)
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_study(tmp_path / "s.toml")


def test_a_deep_extends_chain_is_one_line(tmp_path):
    for i in range(40):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n' if i < 39 else "")
    with pytest.raises(ConfigError, match="more than 32 files deep"):
        load_config(tmp_path / "c0.toml")


def test_goal_settings_on_a_goal_less_task_are_refused_whatever_the_schedule(tmp_path):
    from pbml_control.running.trainer import build_experiment

    cfg = load_config(None, ["task.id='HalfCheetah-v5'", "goals.schedule='every'"])
    with pytest.raises(ConfigError, match="takes no goal, but the config sets goals.schedule"):
        build_experiment(cfg).pool.close()
    build_experiment(load_config(None, ["task.id='HalfCheetah-v5'"])).pool.close()


def test_a_list_in_task_kwargs_does_not_crash_the_pool(tmp_path):
    cfg = load_config(None, [*SMALL, "run.generations=1",
                             "task.kwargs.forward_reward_weight=[1, 2]"])  # fmt: skip
    start_run(cfg, tmp_path / "run", progress=False, summary=False)


@pytest.mark.slow
def test_a_double_ctrl_c_exits_130(tmp_path):
    from tests.core.test_signals import start_training, wait_for_rows

    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_rows(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_a_transfer_stopped_before_its_plot_completes_on_rerun(tmp_path, capsys):
    from pbml_control.cli import main

    run = trained(tmp_path)
    args = ["transfer", str(run), "--goal", "1.0", "--generations", "1", "--seeds", "1"]
    assert main(args) == 0
    folder = next((run / "transfers").iterdir())
    for png in folder.glob("*.png"):
        png.unlink()  # as if killed after the CSV
    assert main(args) == 0
    assert "completing the transfer" in capsys.readouterr().out
    assert list(folder.glob("adaptation_*.png"))
    assert main(args) == 2  # whole now: a rerun without --overwrite is refused again


def test_the_readme_says_an_exported_controller_is_code():
    text = (ROOT / "README.md").read_text()
    at = text.index("torch.jit.load(")
    assert "A `.pt` file is code" in text[at - 1500 : at]


@pytest.mark.slow
def test_a_sigtermed_study_stops_its_workers_at_once(tmp_path):
    out = tmp_path / "out"
    proc, _ = started_study(tmp_path, out, done=2)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert time.monotonic() - started < 60
    time.sleep(1.0)
    assert not still_written(out, 2.0)
