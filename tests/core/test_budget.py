"""Budget accounting, clones, stop conditions and controls, through the real training loop on a
tiny HalfCheetahVel run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pbml_control.analysis.plots.run_plots import controls_note, plot_run
from pbml_control.errors import UserError
from pbml_control.rollout.serial import SerialPool
from pbml_control.running import trainer
from pbml_control.running.checkpoint import list_checkpoints, load_checkpoint, split_arrays
from pbml_control.running.config import dump_config, load_config
from pbml_control.running.run import resume_run, start_run
from pbml_control.running.run_files import read_csv
from tests.core.test_trainer import TINY, assert_same_run, deterministic

PAPER = [
    "population.strategy='pbml_paper'",
    "population.offspring=3",
    "population.max_genomes=10",
]


class CountingPool(SerialPool):
    """A serial pool that remembers every parameter vector it rolled out, per call."""

    def __init__(self, chunk_size: int = 4) -> None:
        super().__init__(chunk_size)
        self.batches: list[np.ndarray] = []

    def evaluate(self, batch):
        self.batches.append(np.array(batch.params, copy=True))
        return super().evaluate(batch)


def run_counted(*overrides: str, generations: int = 6):
    cfg = load_config(None, TINY + [f"run.generations={generations}", *overrides])
    pool = CountingPool()
    exp = trainer.build_experiment(cfg, pool=pool)
    rows = []

    class Rows:
        def on_start(self, exp, state):
            pass

        def on_generation(self, exp, event):
            rows.append(event.row)

    try:
        state = trainer.train(exp, trainer.initial_state(exp), [Rows()])
    finally:
        pool.close()
    return cfg, pool, rows, state


@pytest.mark.parametrize("extra", [[], PAPER, [*PAPER, "population.reevaluate='none'"]])
def test_budget_columns_add_up_to_what_the_pool_ran(extra):
    cfg, pool, rows, state = run_counted(*extra, "task.episodes=2")
    ran = [len(b) for b in pool.batches]
    assert [r["budget/rollouts"] for r in rows] == [2 * n for n in ran]
    assert [r["budget/rollouts_total"] for r in rows] == list(np.cumsum([2 * n for n in ran]))
    assert [r["budget/env_steps"] for r in rows] == [n * 2 * 20 for n in ran]
    assert rows[-1]["budget/env_steps_total"] == state.env_steps == sum(ran) * 40
    assert state.rollouts == rows[-1]["budget/rollouts_total"]
    for r in rows:
        assert r["pop/evaluated"] >= r["budget/rollouts"] // 2  # clones share a rollout
        assert r["pop/reevaluated"] <= r["pop/evaluated"]
        assert 1 <= r["pop/distinct"] <= r["pop/size"]
        assert 0 <= r["lineage/tmrca"] <= r["generation"] + 1
        assert {"sel/log_sigma/hidden0", "sel/gate_logit/output"} <= set(r)


@pytest.mark.parametrize("extra", [[], PAPER, [*PAPER, "population.reevaluate='none'"]])
def test_no_parameter_vector_is_rolled_out_twice_under_one_goal_and_seed(extra):
    # Gates of 0.3 on 2 modules: about half the children are exact clones of their parents.
    _, pool, rows, _ = run_counted(*extra, "population.mutation.init_gate=0.3", generations=8)
    for batch in pool.batches:
        assert len({row.tobytes() for row in batch}) == len(batch)
    assert any(r["pop/distinct"] < r["pop/size"] for r in rows)  # clones were there


def test_sharing_a_clones_rollout_changes_no_result(monkeypatch):
    extra = ("population.mutation.init_gate=0.3",)
    _, _, shared, shared_state = run_counted(*extra, generations=8)
    every = lambda params: (np.arange(len(params)), np.arange(len(params)))  # noqa: E731
    monkeypatch.setattr(trainer, "unique_rows", every)
    _, _, each, each_state = run_counted(*extra, generations=8)
    keep = lambda r: {k: v for k, v in r.items() if not k.startswith(("time/", "budget/", "env/"))}  # noqa: E731
    assert [keep(r) for r in shared] == [keep(r) for r in each]
    for name in ("params", "log_sigma", "fitness", "shares"):
        np.testing.assert_array_equal(
            getattr(shared_state.population, name), getattr(each_state.population, name)
        )
    stats_a, stats_b = shared_state.obs_stats.to_arrays(), each_state.obs_stats.to_arrays()
    for key in stats_a:
        np.testing.assert_array_equal(stats_a[key], stats_b[key], err_msg=key)
    assert shared_state.rollouts < each_state.rollouts


def test_carried_fitness_spends_only_newborn_rollouts_while_the_goal_stays():
    _, pool, rows, _ = run_counted(*PAPER, "population.reevaluate='none'", "goals.every=3")
    for r, batch in zip(rows, pool.batches, strict=True):
        if r["generation"] % 3 == 0:
            assert len(batch) == r["pop/size"] or r["pop/distinct"] < r["pop/size"]
        else:
            assert len(batch) <= 3 and r["pop/reevaluated"] == 0


def test_a_rollout_budget_stops_the_run(tmp_path):
    cfg = load_config(None, TINY + ["run.generations=0", "run.budget_rollouts=20"])
    state = start_run(cfg, tmp_path / "run", progress=False)
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    totals = [int(r["budget/rollouts_total"]) for r in rows]
    assert totals[-1] >= 20 > totals[-2] and state.rollouts == totals[-1]


def test_pbml_paper_resume_is_bit_identical(tmp_path):
    extra = [*PAPER, "population.reevaluate='top'", "population.reevaluate_top=2"]
    straight = tmp_path / "straight"
    start_run(load_config(None, TINY + ["run.generations=6", *extra]), straight, progress=False)
    split = tmp_path / "split"
    start_run(load_config(None, TINY + ["run.generations=3", *extra]), split, progress=False)
    resume_run(split, generations=6, progress=False)
    assert_same_run(straight, split)


def test_frozen_control_is_recorded_and_never_changes_the_mutation_function(tmp_path):
    cfg = load_config(None, TINY + ["population.mutation.frozen=true"])
    start_run(cfg, tmp_path / "run", progress=False)
    assert "frozen = true" in (tmp_path / "run" / "config.toml").read_text()
    note = controls_note(tmp_path / "run")
    assert "CONTROL: mutation function frozen" in note and "PBML selection" in note
    assert "a new goal every" in note and "strategy" not in note
    assert tmp_path / "run" / "plots" / "mutation.png" in plot_run(tmp_path / "run")
    for path in list_checkpoints(tmp_path / "run" / "checkpoints"):
        pop = split_arrays(load_checkpoint(path)[0], "pop")
        assert (pop["log_sigma"] == np.float32(np.log(0.05))).all()
        assert (pop["gate_logit"] == 0).all()


def test_swap_control_starts_from_a_run_with_initial_mutation_functions(tmp_path):
    source = tmp_path / "source"
    start_run(load_config(None, TINY), source, progress=False)
    src = split_arrays(load_checkpoint(source)[0], "pop")
    assert not (src["log_sigma"] == np.float32(np.log(0.05))).all()  # it self-adapted
    for mode in ("inherit", "initial"):
        cfg = load_config(None, TINY + [
            f"population.init_from='{source}'", f"population.init_mutation='{mode}'",
            "run.generations=1",
        ])  # fmt: skip
        exp = trainer.build_experiment(cfg)
        try:
            state = trainer.initial_state(exp)
        finally:
            exp.pool.close()
        pop = state.population
        np.testing.assert_array_equal(pop.params, src["params"])
        cfg_dir = tmp_path / mode
        cfg_dir.mkdir()
        (cfg_dir / "config.toml").write_text(dump_config(cfg))
        assert ("swap control" in controls_note(cfg_dir)) == (mode == "initial")
        assert np.isnan(pop.fitness).all() and pop.generation == 0
        if mode == "inherit":
            np.testing.assert_array_equal(pop.log_sigma, src["log_sigma"])
        else:
            assert (pop.log_sigma == np.float32(np.log(0.05))).all()
    with pytest.raises(UserError, match="has 8 genomes, but population.size is 6"):
        bad = load_config(None, TINY + [f"population.init_from='{source}'", "population.size=6"])
        exp = trainer.build_experiment(bad)
        try:
            trainer.initial_state(exp)
        finally:
            exp.pool.close()


def test_resume_keeps_the_new_columns_identical(tmp_path):
    straight, split = tmp_path / "a", tmp_path / "b"
    start_run(load_config(None, TINY + ["run.generations=6"]), straight, progress=False)
    start_run(load_config(None, TINY + ["run.generations=4"]), split, progress=False)
    resume_run(split, generations=6, progress=False)
    rows_a = deterministic(read_csv(straight / "metrics.csv"))
    rows_b = deterministic(read_csv(split / "metrics.csv"))
    assert rows_a == rows_b and "lineage/tmrca" in rows_a[0]


def test_shipped_configs_without_the_new_keys_still_load():
    root = Path(__file__).parents[2] / "configs"
    cfg = load_config(root / "quickstart.toml")
    assert cfg.population.reevaluate == "all" and cfg.population.strategy == "pbml"
    assert not cfg.population.mutation.frozen and cfg.run.budget_rollouts == 0
