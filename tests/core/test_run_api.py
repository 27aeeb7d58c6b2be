"""The Python API does what the CLI does: start_run/resume_run take extra callbacks (any object
with the callback methods), print the summary and write the plots; progress on a terminal and in
a log; a finished run says how to ask for more generations."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from pbml_control.cli import main
from pbml_control.running.progress import Progress
from pbml_control.running.run import RunFinished, resume_run, start_run
from pbml_control.running.run_files import read_csv
from tests.core.test_trainer import TINY, tiny


class Recorder:
    """A callback that does not subclass Callback: the protocol is the three methods."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_start(self, exp, state) -> None:
        self.calls.append(f"start {state.population.generation}")

    def on_generation(self, exp, event) -> None:
        assert "pop/fitness_max" in event.row
        self.calls.append(f"gen {event.generation}")

    def on_end(self, exp, state, interrupted: bool) -> None:
        self.calls.append(f"end {state.population.generation} {interrupted}")


PLOTS = ["fitness.png", "muller.png", "mutation.png"]


def test_start_and_resume_take_callbacks_and_write_summary_and_plots(tmp_path, capsys):
    run = tmp_path / "run"
    first = Recorder()
    start_run(tiny("run.generations=2"), run, progress=False, callbacks=[first])
    assert first.calls == ["start 0", "gen 0", "gen 1", "end 2 False"]
    printed = capsys.readouterr().out
    assert f"run directory: {run}" in printed and "plots:" in printed
    assert sorted(p.name for p in (run / "plots").iterdir()) == PLOTS
    for png in (run / "plots").iterdir():
        png.unlink()
    second = Recorder()
    resume_run(run, generations=3, progress=False, callbacks=[second])
    assert second.calls == ["start 2", "gen 2", "end 3 False"]
    assert "generations 3" in capsys.readouterr().out
    assert sorted(p.name for p in (run / "plots").iterdir()) == PLOTS


def test_summary_false_prints_nothing(tmp_path, capsys):
    start_run(tiny("run.generations=1", "run.plots=false"), tmp_path / "r", progress=False,
              summary=False)  # fmt: skip
    assert capsys.readouterr().out == ""


def test_resume_of_a_finished_run_says_how_to_ask_for_more(tmp_path, capsys):
    run = tmp_path / "run"
    start_run(tiny("run.generations=2", "run.plots=false"), run, progress=False, summary=False)
    before = (run / "metrics.csv").read_bytes()
    with pytest.raises(RunFinished, match=r"--generations 4"):
        resume_run(run, progress=False)
    assert main(["resume", str(run)]) == 0
    err = capsys.readouterr().err
    assert "finished" in err and f"pbml resume {run} --generations 4" in err
    assert (run / "metrics.csv").read_bytes() == before  # nothing was run or rewritten
    assert main(["resume", str(run), "--generations", "3", "--quiet"]) == 0
    assert len(read_csv(run / "metrics.csv")) == 3


def _fake_run(generations: int):
    cfg = SimpleNamespace(run=SimpleNamespace(generations=generations, budget_rollouts=0,
                                              budget_env_steps=0))  # fmt: skip
    exp = SimpleNamespace(cfg=cfg)

    def event(g: int):
        state = SimpleNamespace(population=SimpleNamespace(generation=g + 1), rollouts=0,
                                env_steps=0)  # fmt: skip
        row = {"pop/fitness_max": 1.5, "pop/fitness_mean": 0.5, "lineage/alive": 3,
               "time/steps_per_s": 1000.0}  # fmt: skip
        return SimpleNamespace(generation=g, state=state, row=row)

    start = SimpleNamespace(population=SimpleNamespace(generation=0), rollouts=0, env_steps=0)
    return exp, start, [event(g) for g in range(generations)]


def test_without_a_terminal_progress_is_a_line_every_interval():
    ticks = iter(range(0, 100, 4))  # 4 s per generation
    stream = io.StringIO()
    progress = Progress(stream, interval=10.0, clock=lambda: next(ticks))
    exp, start, events = _fake_run(5)
    progress.on_start(exp, start)
    for event in events:
        progress.on_generation(exp, event)
    progress.on_end(exp, events[-1].state, False)
    lines = stream.getvalue().splitlines()
    # the first generation, the first one 10 s after that line, and the last
    assert [line.split(" (")[0] for line in lines] == ["gen 1", "gen 4", "gen 5"]
    assert "\r" not in stream.getvalue() and "fitness max 1.50" in lines[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_a_tqdm_bar():
    stream = Terminal()
    progress = Progress(stream)
    exp, start, events = _fake_run(5)
    progress.on_start(exp, start)
    for event in events:
        progress.on_generation(exp, event)
    progress.on_end(exp, events[-1].state, False)
    text = stream.getvalue()
    assert "\r" in text and "5/5" in text and "max 1.5 mean 0.5 lineages 3" in text
    assert text.endswith("\n")  # the bar's line is closed


def test_train_prints_progress_lines_unless_quiet(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("")
    args = ["train", str(config)] + [a for o in TINY for a in ("--set", o)]
    assert main([*args, "--set", "run.plots=false", "--out", str(tmp_path / "a")]) == 0
    assert "gen 1 (" in capsys.readouterr().err
    assert main([*args, "--set", "run.plots=false", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert "gen " not in capsys.readouterr().err


def test_the_five_line_api_trains_with_shortcuts_and_reads_back_config_and_metrics(tmp_path):
    import math

    import pbml_control
    from pbml_control.errors import UserError

    run = pbml_control.train(
        "quickstart", tmp_path / "run", population=6, generations=2, episode_steps=10,
        goals_every=1, task="pbml/HalfCheetahVel-v0", backend="serial",
        set=["policy.kwargs={hidden=[4]}"],
    )  # fmt: skip
    cfg = run.config
    assert (cfg.population.size, cfg.run.generations, cfg.task.episode_steps) == (6, 2, 10)
    assert cfg.goals.every == 1 and cfg.policy.kwargs == {"hidden": [4]}
    rows = run.metrics()
    assert [row["generation"] for row in rows] == [0.0, 1.0]
    assert all(math.isfinite(row["pop/fitness_max"]) for row in rows)
    assert run.best_policy().policy.num_params > 0
    with pytest.raises(UserError, match="unknown setting.*'populaton'.*population"):
        pbml_control.train("quickstart", tmp_path / "x", populaton=6)
    with pytest.raises(UserError, match="already exists|--overwrite|overwrite"):
        pbml_control.train("quickstart", tmp_path / "run", population=6, generations=2)
