"""`pbml experiment moving`: the positive-control experiment runs, is reproducible, and its
frozen arm really never changes the mutation function."""

import numpy as np
import pytest

from pbml_control.cli import main
from pbml_control.errors import UserError
from pbml_control.evolution.genome import logit
from pbml_control.experiments import moving

TINY = ["--seeds", "2", "--generations", "60", "--size", "16", "--strategies", "pbml,pbml_paper"]


def tiny(out, **kw) -> moving.MovingSettings:
    keys = dict(seeds=2, generations=60, size=16, strategies=("pbml", "pbml_paper")) | kw
    return moving.MovingSettings(out=out, **keys)


def test_tiny_experiment_writes_files_and_is_reproducible(tmp_path, capsys):
    for name in ("a", "b"):
        assert main(["experiment", "moving", "--out", str(tmp_path / name), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "| pbml |" in printed and "| pbml_paper |" in printed and "wrote" in printed
    runs = sorted(p.name for p in (tmp_path / "a" / "runs").iterdir())
    assert len(runs) == 8 and "pbml_paper_frozen_seed1.csv" in runs
    assert (tmp_path / "a" / "moving.png").stat().st_size > 1000
    summary = (tmp_path / "a" / "summary.md").read_text()
    assert summary == (tmp_path / "b" / "summary.md").read_text()
    assert summary.splitlines()[0].startswith("| strategy | gain evolved | gain frozen |")
    assert "t = 40 " in summary and "--period 20 --horizon 5" in summary
    for rel in runs:
        a, b = (tmp_path / d / "runs" / rel for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("strategy", ["pbml", "pbml_paper", "truncation", "greedy"])
def test_frozen_arm_keeps_the_initial_mutation_function(strategy, tmp_path):
    settings = tiny(tmp_path, generations=30)
    pop, rows = moving.run_one(strategy, "frozen", 0, settings)
    assert np.all(pop.log_sigma == np.float32(np.log(0.1)))
    assert np.all(pop.gate_logit == np.float32(logit(0.5)))
    for row in rows:
        assert row["sigma_a"] == row["sigma_b"] == pytest.approx(0.1)
        assert row["gate_a"] == row["gate_b"] == pytest.approx(0.5)
    evolved, _ = moving.run_one(strategy, "evolved", 0, settings)
    assert not np.all(evolved.log_sigma == np.float32(np.log(0.1)))


def test_arms_share_world_founders_and_first_generation(tmp_path):
    settings = tiny(tmp_path, generations=2)
    _, evolved = moving.run_one("pbml", "evolved", 1, settings)
    _, frozen = moving.run_one("pbml", "frozen", 1, settings)
    assert evolved[0] == frozen[0]


def test_adaptation_gain_rule_on_a_hand_made_curve():
    assert moving.jump_generations(60, 20, 5).tolist() == [40]
    assert moving.jump_generations(100, 20, 5).tolist() == [60, 80]
    assert moving.jump_generations(85, 20, 5).tolist() == [60]  # 80 + 5 is not < 85
    curve = np.zeros(100)
    curve[60], curve[65] = -3.0, -1.0  # gain 2
    curve[80], curve[85] = -2.0, -2.0  # gain 0
    curve[40], curve[45] = -9.0, 0.0  # first half: ignored
    gains = moving.adaptation_gain(np.stack([curve, 2 * curve]), period=20, horizon=5)
    assert gains.tolist() == [1.0, 2.0]
    assert np.isnan(moving.adaptation_gain(curve[:24], 20, 5)).all()


def test_mean_se_and_no_jump_is_a_user_error(tmp_path):
    assert moving.mean_se(np.array([1.0, 3.0])) == "2.000 ± 1.000"
    with pytest.raises(UserError, match="--generations"):
        moving.run_moving(tiny(tmp_path / "out", generations=24))
