"""PBML learns on a real MuJoCo task in seconds (an honest, fast learning test)."""

from __future__ import annotations

import pytest

from pbml_control.running.config import load_config
from pbml_control.running.run import start_run
from pbml_control.running.run_files import read_csv


def run(tmp_path, strategy: str) -> list[dict]:
    cfg = load_config(
        None,
        [
            "run.generations=25",
            "task.episode_steps=100",
            "goals.schedule='fixed'",
            "goals.goal=[1.0]",
            "policy.kwargs={hidden=[16]}",
            "population.size=24",
            f"population.strategy='{strategy}'",
            "population.mutation.init_sigma=0.1",
        ],
    )
    start_run(cfg, tmp_path / "run", progress=False)
    return read_csv(tmp_path / "run" / "metrics.csv")


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["pbml", "truncation"])
def test_population_improves_on_halfcheetah_with_a_fixed_goal(tmp_path, strategy):
    rows = run(tmp_path, strategy)
    first, last = float(rows[0]["pop/fitness_max"]), float(rows[-1]["pop/fitness_max"])
    first_mean = float(rows[0]["pop/fitness_mean"])
    last_mean = float(rows[-1]["pop/fitness_mean"])
    # Standing still scores -100 (|0 - 1| per step); learning closes a good part of that gap.
    assert last > first + 15, (first, last)
    assert last_mean > first_mean + 15, (first_mean, last_mean)


@pytest.mark.slow
def test_drift_ignores_fitness_and_does_not_improve(tmp_path):
    rows = run(tmp_path, "drift")
    first_mean = float(rows[0]["pop/fitness_mean"])
    assert float(rows[-1]["pop/fitness_mean"]) < first_mean + 5
