"""A user's policies, installed the way a package declares them (an entry point in the
`pbml_control.policies` group), run through the CLI in fresh interpreters: train on worker
processes, resume bit-identically, transfer and record. Without the package the same run is a
one-line error that says how to register the policy.

The package is a folder on PYTHONPATH holding `mypolicies/` and `mypolicies-0.1.dist-info/`, which
is all `importlib.metadata` needs to find the entry points; this test process never imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pbml_control.running.checkpoint import load_checkpoint
from pbml_control.running.run_files import read_csv
from tests.core.test_trainer import assert_same_run

ROOT = Path(__file__).resolve().parents[2]
USER_POLICIES = ("skip_net", "relu_mlp")  # a torch nn.Module factory, a numpy Policy subclass

PACKAGE = '''
"""A user's policies: what a package would ship."""
from dataclasses import dataclass

from pbml_policies import Policy


def skip_net(obs_dim, act_dim, width=8):
    """An nn.Module with a custom forward: a hidden layer plus a linear skip from the input."""
    import torch
    from torch import nn

    class SkipNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(obs_dim, width)
            self.head = nn.Linear(width + obs_dim, act_dim)

        def forward(self, obs):
            return self.head(torch.cat([torch.tanh(self.encoder(obs)), obs], dim=-1))

    return SkipNet()


@dataclass(frozen=True)
class ReluMLP(Policy):
    """A numpy-style dense policy: one relu layer of `width` units."""

    width: int = 8

    @property
    def hidden_dims(self):
        return (self.width,)

    @property
    def activation(self):
        return "relu"
'''

ENTRY_POINTS = """
[pbml_control.policies]
skip_net = mypolicies:skip_net
relu_mlp = mypolicies:ReluMLP
"""

TINY = [
    "run.checkpoint_every=2",
    "run.keep_checkpoints=0",
    "run.plots=false",
    "task.episode_steps=15",
    "goals.every=2",
    "population.size=6",
    "pool.backend='process'",
    "pool.workers=2",
    "pool.chunk_size=2",
    "policy.kwargs={width=6}",
]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """The user's package, installed as a folder on the path (module and dist-info)."""
    site = tmp_path_factory.mktemp("site")
    (site / "mypolicies").mkdir()
    (site / "mypolicies" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    info = site / "mypolicies-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mypolicies\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def pbml(args: list[str], site: Path | None) -> subprocess.CompletedProcess:
    """`pbml ...` in a fresh interpreter, with the user's package installed when `site` is set."""
    env = dict(os.environ, MUJOCO_GL="egl")
    paths = [str(site)] if site else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT)])
    command = [sys.executable, "-m", "pbml_control", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def train(site: Path | None, out: Path, name: str, generations: int) -> None:
    sets = [*TINY, f"policy.name='{name}'", f"run.generations={generations}"]
    argv = ["train", str(ROOT / "configs" / "quickstart.toml"), "--out", str(out), "--quiet"]
    done = pbml(argv + [arg for s in sets for arg in ("--set", s)], site)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module", params=USER_POLICIES)
def straight(request, package, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param) / "straight"
    train(package, out, request.param, generations=4)
    return request.param, out


@pytest.mark.slow
def test_a_user_policy_trains_on_workers_and_resumes_bit_identically(straight, package, tmp_path):
    name, reference = straight
    meta = load_checkpoint(reference)[1]
    assert meta["policy"]["name"] == name  # the checkpoint names it, nothing else
    assert "mypolicies" not in str(meta["policy"])
    split = tmp_path / "split"
    train(package, split, name, generations=2)
    done = pbml(["resume", str(split), "--generations", "4", "--quiet"], package)
    assert done.returncode == 0, done.stderr
    assert_same_run(reference, split)
    fitness = [float(r["pop/fitness_max"]) for r in read_csv(reference / "metrics.csv")]
    assert len(fitness) == 4 and np.all(np.isfinite(fitness))


@pytest.mark.slow
def test_a_user_policy_transfers_and_records(straight, package, tmp_path):
    _, run = straight
    out = tmp_path / "transfer"
    argv = ["transfer", str(run), "--goal", "1.0", "--generations", "1", "--seeds", "1"]
    done = pbml([*argv, "--out", str(out)], package)
    assert done.returncode == 0, done.stderr
    rows = read_csv(out / "adaptation.csv")
    assert len(rows) == 2 and all(np.isfinite(float(r["fitness_max"])) for r in rows)
    video = tmp_path / "best.mp4"
    argv = ["record", str(run), "--out", str(video), "--steps", "5"]
    done = pbml([*argv, "--width", "64", "--height", "48", "--quiet"], package)
    assert done.returncode == 0, done.stderr
    imageio = pytest.importorskip("imageio.v2")
    frames = np.asarray(imageio.mimread(video))
    assert frames.shape == (6, 48, 64, 3) and frames.std(axis=(1, 2, 3)).min() > 10


@pytest.mark.parametrize("command", ["resume", "record"])
def test_without_the_package_a_run_is_a_one_line_error_saying_how_to_register(
    straight, command, tmp_path
):
    name, run = straight
    extra = ["--generations", "6"] if command == "resume" else ["--out", str(tmp_path / "v.mp4")]
    done = pbml([command, str(run), *extra, "--quiet"], site=None)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"unknown policy '{name}'" in lines[0]
    assert "register_policy" in lines[0] and 'entry-points."pbml_control.policies"' in lines[0]


@pytest.mark.slow
def test_the_readme_example_registers_a_module_and_trains_on_workers(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Your own policy\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "own_policy.py").write_text(code)
    env = dict(os.environ, MUJOCO_GL="egl", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "own_policy.py"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "('encoder', 'head') (288, 204)" in done.stdout
    rows = read_csv(tmp_path / "skip_net_run" / "metrics.csv")
    assert len(rows) == 2 and load_checkpoint(tmp_path / "skip_net_run")[1]["policy"] == {
        "name": "skip_net",
        "obs_dim": 17,
        "act_dim": 6,
        "width": 16,
    }
