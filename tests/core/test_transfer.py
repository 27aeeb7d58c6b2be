"""`pbml transfer`: adaptation curves from a trained run, compared with scratch; body checks."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from pbml_control.cli import main
from pbml_control.running.config import load_config
from pbml_control.running.run import start_run

TINY = [
    "run.generations=3",
    "task.episode_steps=15",
    "goals.every=2",
    "policy.kwargs={hidden=[8]}",
    "population.size=6",
    "pool.chunk_size=3",
    "pool.backend='serial'",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer") / "run"
    start_run(load_config(None, TINY), out, progress=False)
    return out


def test_transfer_writes_the_adaptation_curve_with_scratch_and_baselines(trained, tmp_path, capsys):
    out = tmp_path / "t"
    code = main(
        [
            "transfer",
            str(trained),
            "--goals",
            "test",
            "--num-goals",
            "2",
            "--generations",
            "2",
            "--seeds",
            "1",
            "--compare",
            "--baseline",
            f"again={trained}",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with (out / "adaptation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    sources = {r["source"] for r in rows}
    assert sources == {"run", "scratch", "again"}
    assert {r["in_distribution"] for r in rows} == {"True"}  # held-out test goals: inside
    # K + 1 points (generation 0 is the transferred population as is) per goal and seed.
    assert len(rows) == 3 * 2 * 3
    run = [r for r in rows if r["source"] == "run"]
    again = [r for r in rows if r["source"] == "again"]
    assert run == [{**r, "source": "run"} for r in again]  # same genomes, same seeds: same curve
    scratch = [r for r in rows if r["source"] == "scratch"]
    assert [r["fitness_max"] for r in run] != [r["fitness_max"] for r in scratch]
    printed = capsys.readouterr().out
    assert "scratch" in printed and "gen 0" in printed
    plot = out / "adaptation_t.png"
    assert plot.is_file() and plot.stat().st_size > 1000 and str(plot) in printed


@pytest.mark.parametrize("goal", ["3.5", "-1.0"])
def test_transfer_beyond_the_training_range_runs_and_marks_the_goal(
    trained, tmp_path, goal, capsys
):
    out = tmp_path / "beyond"
    args = ["--goal", goal, "--generations", "1", "--seeds", "2", "--out", str(out)]
    assert main(["transfer", str(trained), *args]) == 0
    with (out / "adaptation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 and {r["goal"] for r in rows} == {f"{float(goal):g}"}
    assert {r["in_distribution"] for r in rows} == {"False"}
    notes = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(notes) <= 1  # once per goal and process (none if an earlier test noted it)
    assert all(n.startswith("pbml transfer: note: pbml/HalfCheetahVel-v0: goal") for n in notes)


def test_transfer_to_another_task_of_the_same_body(trained, tmp_path):
    code = main(
        [
            "transfer",
            str(trained),
            "--task",
            "pbml/HalfCheetahDir-v0",
            "--goal",
            "-1",
            "--generations",
            "1",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "dir"),
        ]
    )
    assert code == 0 and (tmp_path / "dir" / "adaptation.csv").is_file()


def test_transfer_to_another_body_is_refused_naming_both_shapes(trained, capsys):
    code = main(["transfer", str(trained), "--task", "pbml/AntDir-v0", "--generations", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "(17,)" in err and "(105,)" in err and "(6,)" in err and "(8,)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--goal", "700"], "is not a valid goal; expected a target forward velocity"),
        (["--goal", "fast"], "--goal must be numbers"),
        (["--generations", "0"], "--generations"),
    ],
)
def test_bad_transfer_arguments_are_one_line_errors(trained, capsys, args, message):
    assert main(["transfer", str(trained), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["transfer", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_transfers_to_different_goals_keep_their_own_folders(trained, capsys):
    common = ["--generations", "1", "--seeds", "1"]
    assert main(["transfer", str(trained), "--goal", "1.5", *common]) == 0
    assert main(["transfer", str(trained), "--goal", "2.5", *common]) == 0
    folders = sorted(p.name for p in (trained / "transfers").iterdir())
    assert {"HalfCheetahVel-v0_goal1.5", "HalfCheetahVel-v0_goal2.5"} <= set(folders)
    capsys.readouterr()
    assert main(["transfer", str(trained), "--goal", "1.5", *common]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["transfer", str(trained), "--goal", "1.5", *common, "--overwrite"]) == 0


def test_the_python_api_transfers_into_the_same_folder_as_the_cli(trained, tmp_path):
    import pbml_control
    from pbml_control.errors import UserError

    run = pbml_control.Run(trained)
    result = run.transfer(1.25, generations=1, seeds=1, compare=True)
    assert result.path == trained / "transfers" / "HalfCheetahVel-v0_goal1.25"
    assert (result.path / "adaptation.csv") in result.written
    assert {r["source"] for r in result.rows} == {"run", "scratch"}
    assert {row["source"] for row in result.summary()} == {"run", "scratch"}
    with pytest.raises(UserError, match="already holds a transfer"):
        run.transfer(1.25, generations=1, seeds=1)
    with pytest.raises(UserError, match="split must be"):
        run.transfer(num_goals=1, split="held-out")
    with pytest.raises(UserError, match="goal must be a number or a list of numbers"):
        run.transfer("fast", generations=1, seeds=1)
    drawn = run.transfer(num_goals=1, generations=1, seeds=1, out=tmp_path / "t")
    assert len({r["goal_index"] for r in drawn.rows}) == 1


def test_the_transfer_plan_helpers_name_folders_goals_and_sources(tmp_path):
    from pbml_control.errors import UserError
    from pbml_control.running.transfer_folder import default_folder, plan_goals, transfer_sources

    task = "pbml/HalfCheetahVel-v0"
    assert default_folder(tmp_path, task, "1.5", "test", 3).name == "HalfCheetahVel-v0_goal1.5"
    assert default_folder(tmp_path, task, None, "train", 4).name == "HalfCheetahVel-v0_train4"
    assert default_folder(tmp_path, "pbml/AntDir-v0", "1, 0", "test", 3).name == (
        "AntDir-v0_goal1__0"
    )
    assert [float(g) for g in plan_goals(task, 1.5, "test", 3)] == [1.5]
    drawn = plan_goals(task, None, "test", 3)
    assert len(drawn) == 3 and all(
        np.array_equal(a, b) for a, b in zip(drawn, plan_goals(task, None, "test", 3), strict=True)
    )  # the transfer's own seed stream: the same goals every time
    with pytest.raises(UserError, match="--num-goals must be >= 1"):
        plan_goals(task, None, "test", 0)
    with pytest.raises(UserError, match="split must be 'test' or 'train'"):
        plan_goals(task, None, "held-out", 2)
    names = [s.name for s in transfer_sources(tmp_path, True, ["old=" + str(tmp_path)])]
    assert names == ["run", "scratch", "old"]
    with pytest.raises(UserError, match="NAME=RUN_DIR"):
        transfer_sources(tmp_path, False, ["no-equals-sign"])
