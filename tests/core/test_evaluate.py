"""`pbml evaluate`: the best genomes re-scored on fresh episode seeds, next to a replay of the
episode that scored them (which must give the training fitness exactly)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from pbml_control.cli import main
from pbml_control.errors import UserError
from pbml_control.running.config import load_config
from pbml_control.running.evaluate import evaluate_run, fresh_seeds
from pbml_control.running.run import start_run
from tests.core.test_trainer import TINY


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "run"
    start_run(load_config(None, [*TINY, "run.generations=5"]), out, progress=False, summary=False)
    return out


def test_the_replay_gives_the_training_fitness_and_fresh_seeds_give_an_interval(run):
    goal, found = evaluate_run(run, episodes=4, lineages=2)
    assert goal and len(found) == 2
    for e in found:
        assert e.replay == e.fitness  # the recorded episode, replayed bit for bit
        assert e.returns.shape == (4,) and np.all(np.isfinite(e.returns))
        mean, sd, low, high = e.interval()
        assert low <= mean <= high and sd >= 0
    assert fresh_seeds(0, 4).tolist() == fresh_seeds(0, 4).tolist()
    assert len(set(fresh_seeds(0, 50).tolist())) == 50


def test_evaluate_cli_prints_and_writes_the_csv(run, capsys):
    assert main(["evaluate", str(run), "--episodes", "3", "--goal", "1.5"]) == 0
    text = capsys.readouterr().out
    assert "goal 1.5; 3 fresh episode seeds" in text and "95% CI" in text
    rows = list(csv.DictReader((run / "evaluation" / "evaluate.csv").open()))
    assert len(rows) == 3 and {"seed", "return", "training_fitness", "replay"} <= set(rows[0])


def test_bad_evaluate_input_is_one_line(run):
    with pytest.raises(UserError, match="--episodes must be >= 2"):
        evaluate_run(run, episodes=1)
    with pytest.raises(UserError, match="--lineages 9: the run has only"):
        evaluate_run(run, episodes=2, lineages=9)
    with pytest.raises(UserError, match="--goal"):
        evaluate_run(run, episodes=2, goal=[float("nan")])
