"""A tiny training run for tests that read run directories (plots, videos).

Trained once per test session (cached here, so test modules that import the fixture share it):
serial backend, 8 genomes, 3 generations of 20-step HalfCheetahVel episodes, a new goal every
generation, and the LineageShares callback so the Muller plot has data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OVERRIDES = [
    "pool.backend=serial",
    "population.size=8",
    "run.generations=3",
    "run.checkpoint_every=1",
    "task.episode_steps=20",
    "goals.every=1",
]
_CACHE: dict[str, Path] = {}


def train_tiny_run(run_dir: Path, overrides: list[str] = OVERRIDES) -> Path:
    """Train into `run_dir` with the default callbacks plus LineageShares."""
    from pbml_control.analysis.plots import LineageShares
    from pbml_control.running.config import dump_config, load_config
    from pbml_control.running.run import default_callbacks
    from pbml_control.running.trainer import build_experiment, initial_state, train

    cfg = load_config(ROOT / "configs" / "quickstart.toml", overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(dump_config(cfg))
    exp = build_experiment(cfg)
    callbacks = default_callbacks(run_dir, cfg, progress=False)
    if not any(isinstance(cb, LineageShares) for cb in callbacks):
        callbacks.append(LineageShares(run_dir))
    try:
        state = train(exp, initial_state(exp), callbacks)
    finally:
        exp.pool.close()
    for cb in callbacks:
        cb.on_end(exp, state, False)
    return run_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    if "run" not in _CACHE:
        _CACHE["run"] = train_tiny_run(tmp_path_factory.mktemp("tiny") / "run")
    return _CACHE["run"]
