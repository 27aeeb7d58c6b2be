"""README "Your own task": its code runs as written. The Python block is saved as `mytasks.py`
and run as a script; its TOML entry point goes into a fake installed package's dist-info; its
`pbml train` line then trains (kept tiny) in a fresh interpreter that finds the task only through
that entry point, and `pbml resume` continues the run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "run.generations=1",
    "task.episode_steps=10",
    "policy.kwargs={hidden=[4]}",
    "population.size=4",
    "pool.backend='serial'",
]


def section_blocks(heading: str) -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    end = text.index("\n## ", start + 1)
    blocks = re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.S)
    return {lang: code for lang, code in blocks}


def run(site: Path, command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_the_own_task_section_runs_as_written(tmp_path):
    blocks = section_blocks("## Your own task")
    site = tmp_path / "site"
    site.mkdir()
    (site / "mytasks.py").write_text(blocks["python"])
    done = run(site, [sys.executable, "mytasks.py"], site)
    assert done.stdout.strip() == "False"
    assert done.stderr.count("outside the training distribution") == 1

    info = site / "mytasks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mytasks\nVersion: 0.1\n")
    declared = tomllib.loads(blocks["toml"])["project"]["entry-points"]["pbml_control.tasks"]
    lines = [f"{name} = {value}" for name, value in declared.items()]
    (info / "entry_points.txt").write_text("\n".join(["[pbml_control.tasks]", *lines, ""]))

    line = blocks["bash"].strip()
    assert line.startswith("pbml train configs/quickstart.toml")
    out = tmp_path / "run"
    extra = [a for s in TINY for a in ("--set", s)] + ["--out", str(out), "--quiet"]
    pbml = [sys.executable, "-m", "pbml_control"]
    run(site, [*pbml, *shlex.split(line)[1:], *extra], ROOT)
    assert "mytasks/ReacherTarget-v0" in (out / "config.toml").read_text()
    run(site, [*pbml, "resume", str(out), "--generations", "2", "--quiet"], ROOT)
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 2
