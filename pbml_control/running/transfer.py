"""Transfer: seed a population from a trained run and measure how fast it adapts to a new goal or
task of the same body.

The adaptation curve is the fitness after 0, 1, ..., K generations (generation 0 is the
transferred population as it is), over several goals and seeds. Every source (the run, a
population started from scratch, runs trained with baselines) gets the same selection strategy,
population size, goals, seeds and evaluation budget, so the curves compare genomes - their
weights and their mutation functions - and nothing else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.analysis.metrics import goal_repr
from pbml_control.errors import UserError
from pbml_control.evolution.founders import check_founder_count, restarted
from pbml_control.rollout import Pool, pool_from_config
from pbml_control.running.callbacks import Callback
from pbml_control.running.checkpoint import load_checkpoint
from pbml_control.running.config import Config
from pbml_control.running.run import load_run_state, read_checkpoint_config
from pbml_control.running.trainer import (
    TrainState,
    build_experiment,
    initial_state,
    probe_spaces,
    train,
)
from pbml_control.seeding import Purpose, stream

CURVE_FIELDS = (
    "source",
    "goal_index",
    "goal",
    "in_distribution",
    "seed",
    "generation",
    "fitness_max",
    "fitness_mean",
)
"""Columns of adaptation.csv; `in_distribution` says whether the goal lies inside the task's
training distribution (a held-out test goal does; HalfCheetahVel 3.5 m/s does not)."""


@dataclass
class Source:
    """Where a transferred population comes from: a run directory, or None for scratch.

    The run's latest checkpoint is read and verified once (`load`), then reused for every goal
    and seed."""

    name: str
    run_dir: Path | None
    arrays: dict[str, np.ndarray] | None = None
    meta: dict | None = None

    def load(self) -> Source:
        if self.run_dir is not None and self.meta is None:
            self.arrays, self.meta = load_checkpoint(self.run_dir)
        return self

    @property
    def config(self) -> Config:
        return read_checkpoint_config(self.load().meta)


@dataclass
class TransferPlan:
    task_id: str
    goals: list[np.ndarray]
    generations: int
    seeds: int
    strategy: str | None = None


def load_source_config(run_dir: Path) -> Config:
    return Source("run", run_dir).config


def transfer_config(base: Config, plan: TransferPlan, goal: np.ndarray, seed: int) -> Config:
    """The source's config, moved to the new task with one fixed goal and K + 1 evaluations."""
    cfg = copy.deepcopy(base)
    cfg.task.id = plan.task_id
    cfg.goals.schedule, cfg.goals.goal = "fixed", np.atleast_1d(goal).tolist()
    cfg.run.generations = plan.generations + 1
    cfg.run.seed = seed
    if plan.strategy:
        cfg.population.strategy = plan.strategy
    return cfg.validate()


def check_same_body(cfg: Config, source: Source) -> None:
    """Refuse a transfer whose observation or action sizes differ from the run's policy."""
    from pbml_control.running.trainer import env_spec

    policy = source.load().meta["policy"]
    expected = (policy["obs_dim"], policy["act_dim"])
    got = probe_spaces(env_spec(cfg))
    if got != expected:
        raise UserError(
            f"cannot transfer '{source.run_dir}' ({source.config.task.id}: observation shape "
            f"({expected[0]},), action shape ({expected[1]},)) to {cfg.task.id} (observation "
            f"shape ({got[0]},), action shape ({got[1]},)): pick a task of the same body"
        )


def transferred_state(exp, source: Source, seed: int) -> TrainState:
    """The run's final population as generation 0 of a new run (ids and lineages kept)."""
    source.load()
    arrays = {key: value.copy() for key, value in source.arrays.items()}  # the cache stays intact
    state = load_run_state(exp, arrays, source.meta)
    check_founder_count(state.population.size, exp.cfg.population, str(source.run_dir))
    population = restarted(state.population)
    return TrainState(population, stream(seed, Purpose.TRANSFER), state.obs_stats)


class CurveRecorder(Callback):
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def on_generation(self, exp, event) -> None:
        self.rows.append(
            {
                "generation": event.generation,
                "fitness_max": event.row["pop/fitness_max"],
                "fitness_mean": event.row["pop/fitness_mean"],
            }
        )


def adaptation_curve(source: Source, base: Config, plan: TransferPlan, goal, seed, pool: Pool):
    cfg = transfer_config(base, plan, goal, seed)
    exp = build_experiment(cfg, pool=pool)
    if source.run_dir is None:
        state = initial_state(exp)
    else:
        state = transferred_state(exp, source, seed)
    recorder = CurveRecorder()
    train(exp, state, [recorder])
    return recorder.rows


def run_transfer(sources: list[Source], plan: TransferPlan, progress=print) -> list[dict]:
    """Adaptation curves of every source on every goal and seed; rows for adaptation.csv."""
    import pbml_envs

    base = sources[0].config
    first = transfer_config(base, plan, plan.goals[0], 0)
    for source in sources:
        if source.run_dir is not None:
            check_same_body(first, source)
    rows: list[dict] = []
    with pool_from_config(base.pool) as pool:
        for source in sources:
            for g, goal in enumerate(plan.goals):
                for seed in range(plan.seeds):
                    curve = adaptation_curve(source, base, plan, goal, seed, pool)
                    goal_text = goal_repr(goal)
                    inside = pbml_envs.in_distribution(plan.task_id, goal)
                    rows += [
                        {
                            "source": source.name,
                            "goal_index": g,
                            "goal": goal_text,
                            "in_distribution": inside,
                            "seed": seed,
                            **r,
                        }
                        for r in curve
                    ]
                    progress(
                        f"{source.name}: goal {g + 1}/{len(plan.goals)} seed {seed + 1}/"
                        f"{plan.seeds}: fitness max {curve[0]['fitness_max']:.1f} -> "
                        f"{curve[-1]['fitness_max']:.1f}"
                    )
    return rows


def summary_table(rows: list[dict], key: str = "fitness_max") -> list[dict]:
    """Per source: mean fitness at generation 0, 1, K/2 and K, and the curve's mean (its area)."""
    out = []
    for name in dict.fromkeys(r["source"] for r in rows):
        mine = [r for r in rows if r["source"] == name]
        k = max(r["generation"] for r in mine)
        at = {
            g: float(np.mean([r[key] for r in mine if r["generation"] == g]))
            for g in sorted({0, 1, k // 2, k})
        }
        out.append(
            {
                "source": name,
                **{f"gen {g}": v for g, v in at.items()},
                "mean over curve": float(np.mean([r[key] for r in mine])),
            }
        )
    return out
