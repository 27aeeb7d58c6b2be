"""`pbml experiment numeric`: does selection raise the learning ability R? (Paper, Figure 2.)

World: :mod:`pbml_envs.toy.numeric` (fitness = X; R = the mutation radius of module "x"). Every
strategy evolves the same founders (X = 0, R = 1) for the same number of generations per seed.
Measured per generation: mean X and mean log10 R over the N genomes. The verdicts use
documented rules, not eyeballing:

* *R rises clearly*: the least-squares slope of mean log10 R is positive in every seed and its
  mean exceeds three standard errors across seeds.
* *X grows faster than linearly*: X's gain over the second half of the run exceeds its gain
  over the first half (ratio > 1) in every seed (a seed whose X did not grow over the first
  half has no ratio, "n/a", and counts as not superlinear).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pbml_envs.toy.numeric import MODULES, NumericWorld

from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.experiments import common, plots

#: Strategies the numeric experiment compares, in table order.
STRATEGIES = ("pbml", "greedy", "drift", "truncation")

#: Columns of the summary table.
HEADERS = (
    "strategy", "X mid", "X end", "X gain 2nd/1st half (median)", "log10 R start", "log10 R end",
    "log10 R slope /100 gen", "R rises clearly", "X superlinear",
)  # fmt: skip


@dataclass
class NumericSettings:
    """What `pbml experiment numeric` runs."""

    #: Output folder (its parent must exist).
    out: Path
    #: Number of seeds (runs per strategy).
    seeds: int = 10
    #: Generations per run.
    generations: int = 600
    #: Strategies to compare.
    strategies: tuple[str, ...] = STRATEGIES
    #: Distinct genomes per generation.
    size: int = 64
    #: Base seed; run i uses SeedSequence([seed, i]).
    seed: int = 0
    #: Std of the log-R step per generation (self-adaptation meta-rate).
    meta_rate: float = 0.1
    #: Extra keyword arguments for SelectionConfig (the options), for ablations.
    options: dict[str, float] = field(default_factory=dict)


def selection_config(strategy: str, settings: NumericSettings) -> SelectionConfig:
    """R starts at 1, may range over [1e-3, 1e6]; the gate is fixed at 1 (X always mutates)."""
    mutation = MutationConfig(
        init_sigma=1.0, init_gate=1.0, meta_rate=settings.meta_rate, gate_meta_rate=0.0,
        sigma_min=1e-3, sigma_max=1e6,
    )  # fmt: skip
    return SelectionConfig(
        strategy=strategy, size=settings.size, mutation=mutation, **settings.options
    )


def run_one(strategy: str, run: int, settings: NumericSettings) -> list[dict[str, float]]:
    """One seed of one strategy; one CSV row per generation."""
    world = NumericWorld()
    layout = ModuleLayout(*zip(*MODULES, strict=True))
    algo = make_strategy(strategy, selection_config(strategy, settings), layout)
    rngs = common.streams(settings.seed, run, ("founders", "selection"))
    pop = algo.init(world.founders(settings.size), rngs["founders"])
    _, rows = common.evolve(
        algo, pop, lambda p, g: world.fitness(p), settings.generations, rngs["selection"], _record
    )
    return rows


def _record(pop: Population, fitness: np.ndarray) -> dict[str, float]:
    log_r = pop.log_sigma[:, 0].astype(np.float64) / np.log(10.0)
    return {
        "x_mean": float(fitness.mean()),
        "x_max": float(fitness.max()),
        "log10_r_mean": float(log_r.mean()),
        "log10_r_median": float(np.median(log_r)),
        "lineages": int(np.unique(pop.lineage_ids).size),
    }


def run_numeric(settings: NumericSettings) -> str:
    """Run every strategy over every seed; write CSVs and the plot; return the summary."""
    out = common.prepare_out(settings.out)
    results: dict[str, list[list[dict[str, float]]]] = {}
    for strategy in settings.strategies:
        results[strategy] = [run_one(strategy, i, settings) for i in range(settings.seeds)]
        for i, rows in enumerate(results[strategy]):
            common.write_csv(out / "runs" / f"{strategy}_seed{i}.csv", rows)
    plots.plot_numeric(results, out / "numeric.png")
    summary = summarise(results)
    (out / "summary.md").write_text(summary + "\n")
    return summary


def summarise(results: dict[str, list[list[dict[str, float]]]]) -> str:
    """The summary table (mean ± sd over seeds) and the verdict of each rule."""
    rows = []
    for strategy, runs in results.items():
        x = common.column(runs, "x_mean")
        log_r = common.column(runs, "log10_r_mean")
        mid = x.shape[1] // 2
        first = x[:, mid] - x[:, 0]
        ratio = np.where(first > 0, (x[:, -1] - x[:, mid]) / np.where(first > 0, first, 1), np.nan)
        superlinear = np.nan_to_num(ratio) > 1
        slope = common.slope_per_100(log_r)
        rows.append([
            strategy, common.mean_sd(x[:, mid], 1), common.mean_sd(x[:, -1], 1),
            _median(ratio), common.mean_sd(log_r[:, 0]), common.mean_sd(log_r[:, -1]),
            common.mean_sd(slope, 3), _yes(_clear_rise(slope)),
            f"{_yes(bool(superlinear.all()))} ({superlinear.sum()}/{superlinear.size} seeds)",
        ])  # fmt: skip
    return common.markdown_table(HEADERS, rows)


def _clear_rise(slope: np.ndarray) -> bool:
    if slope.size < 2:
        return bool(slope[0] > 0)
    se = slope.std(ddof=1) / np.sqrt(slope.size)
    return bool(np.all(slope > 0) and slope.mean() > 3 * se)


def _median(ratio: np.ndarray) -> str:
    """Median gain ratio; seeds whose X did not grow in the first half count as 'n/a'."""
    valid = ratio[np.isfinite(ratio)]
    text = f"{np.median(valid):.2f}" if valid.size else "n/a"
    return text + (f" ({ratio.size - valid.size} n/a)" if valid.size < ratio.size else "")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
