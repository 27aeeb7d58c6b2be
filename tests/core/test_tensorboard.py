"""`run.tensorboard = true`: a real run writes TensorBoard events that TensorBoard's own reader
finds, every generation once (also after a resume from an earlier checkpoint), and a missing
tensorboard package is one line with the pip command."""

from __future__ import annotations

import sys

import pytest

from pbml_control.cli import main
from pbml_control.errors import UserError
from pbml_control.running.run import resume_run, start_run
from pbml_control.running.run_files import read_csv
from pbml_control.running.tensorboard import INSTALL
from tests.core.test_trainer import tiny

pytest.importorskip("tensorboard")


def read_events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return acc


def steps(acc, tag: str) -> list[int]:
    return [event.step for event in acc.Scalars(tag)]


def test_a_run_logs_every_metric_and_mutation_histograms(tmp_path):
    run = tmp_path / "run"
    start_run(tiny("run.tensorboard=true", "run.plots=false"), run, progress=False)
    acc = read_events(run)
    rows = read_csv(run / "metrics.csv")
    assert steps(acc, "pop/fitness_max") == [int(r["generation"]) for r in rows] == [0, 1, 2, 3]
    logged = [e.value for e in acc.Scalars("pop/fitness_max")]
    assert logged == pytest.approx([float(r["pop/fitness_max"]) for r in rows], rel=1e-6)
    numeric = {k for k, v in rows[0].items() if k != "generation" and _is_number(v)}
    assert numeric <= set(acc.Tags()["scalars"])
    modules = [k.removeprefix("mut/sigma/") for k in rows[0] if k.startswith("mut/sigma/")]
    histograms = set(acc.Tags()["histograms"])
    for module in modules:
        assert {f"mutation/log_sigma/{module}", f"mutation/gate/{module}"} <= histograms


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_resume_from_an_earlier_checkpoint_does_not_duplicate_steps(tmp_path):
    run = tmp_path / "run"
    cfg = tiny("run.tensorboard=true", "run.plots=false", "run.checkpoint_every=1")
    start_run(cfg, run, progress=False)
    resume_run(run, generations=6, checkpoint=run / "checkpoints" / "gen_000002.json",
               progress=False, summary=False)  # fmt: skip
    acc = read_events(run)
    assert steps(acc, "pop/fitness_max") == [0, 1, 2, 3, 4, 5]
    rows = read_csv(run / "metrics.csv")
    logged = [e.value for e in acc.Scalars("pop/fitness_max")]
    assert logged == pytest.approx([float(r["pop/fitness_max"]) for r in rows], rel=1e-6)


def test_a_missing_tensorboard_package_is_one_line_with_the_pip_command(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(UserError, match="pip install"):
        start_run(tiny("run.tensorboard=true"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    config = tmp_path / "c.toml"
    config.write_text("[run]\ntensorboard = true\n")
    assert main(["train", str(config), "--out", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and INSTALL in err
