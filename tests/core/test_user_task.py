"""A user goal task works with every command like a built-in one: train, resume (bit-identical),
transfer (with out-of-distribution goals marked in the CSV), record and plot. Registered here by
importing a module (the public `register_goal_task`), and in a fresh interpreter through the
`pbml_control.tasks` entry point of a fake installed package (the way a user package would).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tests.helpers.user_task as user_task
from pbml_control.cli import main
from tests.core.test_trainer import assert_same_run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "quickstart.toml"
SETTINGS = [
    f"task.id='{user_task.TASK_ID}'",
    "task.episode_steps=15",
    "run.checkpoint_every=1",
    "goals.every=1",
    "policy.kwargs={hidden=[8]}",
    "population.size=6",
    "pool.chunk_size=3",
    "pool.backend='serial'",
]


def train(out: Path, generations: int, *extra: str) -> None:
    sets = [f"run.generations={generations}", *SETTINGS, *extra]
    args = ["train", str(CONFIG), "--out", str(out), "--quiet"]
    assert main([*args, *(a for s in sets for a in ("--set", s))]) == 0


@pytest.fixture(scope="module")
def user_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("user") / "run"
    train(out, 3)
    return out


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_a_user_task_trains_on_its_goals_and_resumes_bit_identically(user_run, tmp_path):
    goals = {row["goal/value"] for row in read_rows(user_run / "metrics.csv")}
    assert len(goals) == 3 and "" not in goals  # a new goal every generation, none blank
    resumed = tmp_path / "resumed"
    train(resumed, 2)
    assert main(["resume", str(resumed), "--generations", "3", "--quiet"]) == 0
    assert_same_run(user_run, resumed)


def test_transfer_marks_goals_outside_the_distribution(user_run, tmp_path, capsys):
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    base = [str(user_run), "--generations", "1", "--seeds", "1"]
    assert main(["transfer", *base, "--goal", "0.26,0", "--out", str(outside)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "outside the training distribution" in notes[0]
    assert {r["in_distribution"] for r in read_rows(outside / "adaptation.csv")} == {"False"}
    assert (
        main(["transfer", *base, "--goals", "test", "--num-goals", "2", "--out", str(inside)]) == 0
    )
    assert {r["in_distribution"] for r in read_rows(inside / "adaptation.csv")} == {"True"}


def test_record_draws_the_user_task(user_run, tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    out = tmp_path / "reacher.mp4"
    args = [str(user_run), "--steps", "10", "--width", "64", "--height", "48", "--quiet"]
    assert main(["record", *args, "--out", str(out)]) == 0
    frames = np.asarray(imageio.mimread(out))
    assert frames.shape[1:] == (48, 64, 3) and len(frames) >= 6
    assert frames.std(axis=(1, 2, 3)).min() > 10  # not blank
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 1  # it moves


def test_plot_reads_the_user_run(user_run, tmp_path, capsys):
    import shutil

    run = shutil.copytree(user_run, tmp_path / "run")
    assert main(["plot", str(run)]) == 0
    assert "fitness.png" in capsys.readouterr().out and (run / "plots" / "fitness.png").is_file()


def fake_installed_package(site: Path, module_text: str, name: str = "reacher_tasks") -> None:
    """A package as pip would install it: the module plus a dist-info naming its entry point."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(module_text)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[pbml_control.tasks]\nreacher = {name}\n")


def pbml(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = [sys.executable, "-m", "pbml_control", *args]
    return subprocess.run(command, env=env, cwd=site, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_an_entry_point_task_trains_and_resumes_in_fresh_interpreters(user_run, tmp_path):
    """No module is named anywhere: `pbml_envs` finds the task through the installed package's
    entry point, in the CLI and in its forkserver workers, and the run equals the one above."""
    site = tmp_path / "site"
    fake_installed_package(site, Path(user_task.__file__).read_text())
    run = tmp_path / "run"
    sets = [*SETTINGS, "pool.backend='process'", "pool.workers=2", "run.generations=2"]
    done = pbml(site, "train", str(CONFIG), "--out", str(run), "--quiet",
                *(a for s in sets for a in ("--set", s)))  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = pbml(site, "resume", str(run), "--generations", "3", "--quiet")
    assert done.returncode == 0, done.stderr
    assert_same_run(user_run, run)


def test_without_its_package_a_saved_user_run_is_a_one_line_error(user_run, tmp_path):
    done = pbml(tmp_path, "resume", str(user_run), "--generations", "4", "--quiet")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert user_task.TASK_ID in done.stderr
