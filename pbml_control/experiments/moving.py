"""`pbml experiment moving`: a positive control for learning-to-learn (not in the paper).

World: :mod:`pbml_envs.toy.moving`. The goal of module "a" jumps every ``period`` generations and
module "b" is best left at 0, so a reusable mutation function exists by construction (gate of b
-> 0, radius of a matched to the jumps). Each strategy runs two arms from the same founders, in
the same world, with the same selection stream: *evolved* (the mutation function
self-adapts) and *frozen* (``MutationConfig(frozen=True)``: every genome keeps the initial
radius 0.1 and gate 0.5). If the machinery can detect learning-to-learn, evolved should adapt
to a jump faster than frozen. The measure is a documented rule:

* *Adaptation gain* of a run: the mean, over the goal jumps j whose first generation
  ``t_j = j * period`` satisfies ``t_j >= generations / 2`` and ``t_j + horizon < generations``,
  of ``fitness_max[t_j + horizon] - fitness_max[t_j]``: how much of the jump's loss the best
  genome recovers in ``horizon`` generations. Only the second half counts, so that the mutation
  function has had time to evolve.

The table reports gains as mean ± standard error over seeds (sd with ddof 1 over sqrt(n)),
the evolved - frozen difference paired by seed, and in how many seeds evolved beats frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pbml_envs.toy.moving import MovingTargetWorld

from pbml_control.errors import UserError
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.experiments import common, plots

#: Strategies the moving-target experiment compares, in table order.
STRATEGIES = ("pbml", "pbml_paper", "truncation", "greedy")
#: The two arms of every strategy: self-adapting and frozen mutation functions.
ARMS = ("evolved", "frozen")
#: Columns of the summary table.
HEADERS = (
    "strategy", "gain evolved", "gain frozen", "evolved - frozen", "seeds evolved > frozen",
    "gate b end (evolved)", "gate b end (frozen)", "sigma a end (evolved)", "evaluations per run",
)  # fmt: skip
Runs = list[list[dict[str, float]]]
#: strategy -> arm -> one row list per seed.
Results = dict[str, dict[str, Runs]]


@dataclass
class MovingSettings:
    """What `pbml experiment moving` runs."""

    #: Output folder (its parent must exist).
    out: Path
    #: Number of seeds (runs per strategy and arm).
    seeds: int = 10
    #: Generations per run.
    generations: int = 400
    #: Strategies to compare.
    strategies: tuple[str, ...] = STRATEGIES
    #: Founders, and the genomes alive per generation (pbml_paper: at most).
    size: int = 64
    #: Base seed; run i uses SeedSequence([seed, i]).
    seed: int = 0
    #: Generations between goal jumps.
    period: int = 20
    #: Generations after a jump at which the adaptation gain is read.
    horizon: int = 5


def selection_config(strategy: str, size: int, frozen: bool) -> SelectionConfig:
    """Radius 0.1 and gate 0.5 for both modules; the arms differ only in ``frozen``.

    Everything else is SelectionConfig's default: pbml's rank pressure 3; pbml_paper's linear
    rule with decay 0.5, size // 4 births, at most size genomes, every survivor re-scored;
    truncation's k = size // 4.
    """
    mutation = MutationConfig(
        init_sigma=0.1, init_gate=0.5, meta_rate=0.1, gate_meta_rate=0.2,
        sigma_min=1e-4, sigma_max=10.0, frozen=frozen,
    )  # fmt: skip
    return SelectionConfig(strategy=strategy, size=size, mutation=mutation)


def make_world(run: int, settings: MovingSettings) -> MovingTargetWorld:
    """Run ``run``'s world, shared by every strategy and arm."""
    return MovingTargetWorld(seed=common.world_seed(settings.seed, run), period=settings.period)


def run_one(
    strategy: str, arm: str, run: int, settings: MovingSettings
) -> tuple[Population, list[dict[str, float]]]:
    """One seed of one strategy's arm: the last population and one CSV row per generation."""
    world = make_world(run, settings)
    layout = ModuleLayout(*zip(*world.modules, strict=True))
    cfg = selection_config(strategy, settings.size, frozen=arm == "frozen")
    algo = make_strategy(strategy, cfg, layout)
    rngs = common.streams(settings.seed, run, ("founders", "selection"))
    pop = algo.init(world.founders(settings.size), rngs["founders"])
    return common.evolve(
        algo, pop, world.fitness, settings.generations, rngs["selection"], _record,
        changes=world.changes,
    )  # fmt: skip


def _record(pop: Population, fitness: np.ndarray) -> dict[str, float]:
    sigma, gate = pop.sigma().mean(axis=0), pop.gate().mean(axis=0)
    return {
        "fitness_max": float(fitness.max()),
        "fitness_mean": float(fitness.mean()),
        "sigma_a": float(sigma[0]),
        "sigma_b": float(sigma[1]),
        "gate_a": float(gate[0]),
        "gate_b": float(gate[1]),
        "lineages": int(np.unique(pop.lineage_ids).size),
    }


def run_moving(settings: MovingSettings) -> str:
    """Run both arms of every strategy over every seed; write CSVs and the plot; summarise."""
    jumps = jump_generations(settings.generations, settings.period, settings.horizon)
    if jumps.size == 0:
        raise UserError(
            f"no goal jump at or after generation {settings.generations / 2:g} leaves "
            f"{settings.horizon} generations before the end: raise --generations or lower "
            "--period / --horizon"
        )
    out = common.prepare_out(settings.out)
    results: Results = {}
    for strategy in settings.strategies:
        results[strategy] = {}
        for arm in ARMS:
            runs = [run_one(strategy, arm, i, settings)[1] for i in range(settings.seeds)]
            results[strategy][arm] = runs
            for i, rows in enumerate(runs):
                common.write_csv(out / "runs" / f"{strategy}_{arm}_seed{i}.csv", rows)
    plots.plot_moving(results, out / "moving.png")
    summary = summarise(results, settings)
    (out / "summary.md").write_text(summary + "\n")
    return summary


def jump_generations(generations: int, period: int, horizon: int) -> np.ndarray:
    """First generations t_j = j * period (j >= 1) of the jumps the adaptation gain uses."""
    t = np.arange(1, generations // period + 1) * period
    return t[(t >= generations / 2) & (t + horizon < generations)]


def adaptation_gain(fitness_max: np.ndarray, period: int, horizon: int) -> np.ndarray:
    """Per run, the adaptation gain of (runs, generations) best fitness; NaN without jumps."""
    fmax = np.atleast_2d(np.asarray(fitness_max, dtype=np.float64))
    t = jump_generations(fmax.shape[1], period, horizon)
    if t.size == 0:
        return np.full(fmax.shape[0], np.nan)
    return (fmax[:, t + horizon] - fmax[:, t]).mean(axis=1)


def summarise(results: Results, settings: MovingSettings) -> str:
    """The summary table and the line stating the rule and the command."""
    rows = []
    for strategy, arms in results.items():
        evolved, frozen = (_gains(arms[arm], settings) for arm in ARMS)
        diff = evolved - frozen
        evaluations = common.column(arms["evolved"], "evaluations")[:, -1].mean()
        rows.append([
            strategy, mean_se(evolved), mean_se(frozen), mean_se(diff),
            f"{int((diff > 0).sum())}/{diff.size}",
            _last_mean(arms["evolved"], "gate_b"), _last_mean(arms["frozen"], "gate_b"),
            _last_mean(arms["evolved"], "sigma_a"), f"{evaluations:.0f}",
        ])  # fmt: skip
    return common.markdown_table(HEADERS, rows) + "\n\n" + _rule_line(settings)


def _gains(runs: Runs, settings: MovingSettings) -> np.ndarray:
    """Per seed, the adaptation gain of one arm."""
    return adaptation_gain(common.column(runs, "fitness_max"), settings.period, settings.horizon)


def mean_se(values: np.ndarray, digits: int = 3) -> str:
    """'mean ± s.e.' over seeds, s.e. = sd (ddof 1) / sqrt(n); 0 for one seed."""
    v = np.asarray(values, dtype=np.float64)
    se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
    return f"{v.mean():.{digits}f} ± {se:.{digits}f}"


def _last_mean(runs: Runs, key: str) -> str:
    """Mean over seeds of a column's value at the last generation."""
    return f"{common.column(runs, key)[:, -1].mean():.3g}"


def _rule_line(settings: MovingSettings) -> str:
    jumps = jump_generations(settings.generations, settings.period, settings.horizon)
    return (
        "Adaptation gain: mean over the goal jumps at t = "
        f"{', '.join(str(int(t)) for t in jumps)} (t = j * period, t >= generations / 2, "
        f"t + horizon < generations) of max fitness at t + {settings.horizon} minus max fitness "
        f"at t; mean ± s.e. over {settings.seeds} seeds, evolved - frozen paired by seed; "
        "gate/sigma: mean over genomes at the last generation, then over seeds.\n"
        f"Command: `{command(settings)}`"
    )


def command(settings: MovingSettings) -> str:
    """The command line that reproduces these settings (without --out)."""
    return (
        f"pbml experiment moving --seeds {settings.seeds} --generations {settings.generations} "
        f"--size {settings.size} --seed {settings.seed} --period {settings.period} "
        f"--horizon {settings.horizon} --strategies {','.join(settings.strategies)}"
    )
