"""Every script in examples/ runs, at tiny settings, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TINY = {
    "train_and_evaluate.py": ["--generations", "2", "--population", "8"],
    "ask_tell.py": ["--generations", "20"],
    "own_task.py": ["--generations", "2", "--population", "8"],
    "own_torch_policy.py": ["--generations", "2", "--population", "8", "--width", "8"],
    "small_study.py": (
        "--seeds 2 --generations 2 --population 8 --steps 20 --probe 1 --workers 1".split()
    ),
    "transfer.py": (
        "--generations 2 --population 8 --num-goals 1 --goal 3.5 --transfer-generations 1 --seeds 1"
    ).split(),
}


def test_every_example_has_tiny_settings_here():
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == set(TINY)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_example_runs(name, tmp_path):
    args = [sys.executable, str(ROOT / "examples" / name), *TINY[name]]
    if '"--out"' in (ROOT / "examples" / name).read_text():  # its run folder goes under tmp_path
        args += ["--out", str(tmp_path / "run")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
