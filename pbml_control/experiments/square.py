"""`pbml experiment square`: changing worlds teach genomes to search. (Paper, Figure 4.)

World: :mod:`pbml_envs.toy.square`. Each strategy evolves positions with their mutation function in
the Square world whose squares jump every ``period`` generations; ``pbml-static`` is PBML in
the same world with squares that never move. Then every final population is transferred to a
Hard Square world (squares placed around the population's median position, identical geometry
for every source of one seed) and evolves ``transfer_generations`` more generations under one
common protocol, PBML selection, so that only what the genomes learned differs. We measure the
*offspring hit rate*: the fraction of the offspring born during transfer that land inside a
square. The verdicts use documented rules:

* *PBML transfers better than X*: its mean hit rate over seeds is higher than X's and it wins
  in more than half of the seeds (paired by seed).
* *Static genomes shrink their mutation*: mean log10(sigma * gate) at the end of training is
  below its start in every seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pbml_envs.toy.square import MODULES, HardSquareWorld, SquareWorld

from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.experiments import common, plots

#: Strategies trained in the changing world; PBML is also trained in the static world.
STRATEGIES = ("pbml", "greedy", "drift", "truncation")
#: Columns of the summary table.
HEADERS = (
    "genomes from", "train fitness (2nd half)", "log10(sigma*gate) start", "log10(sigma*gate) end",
    "transfer offspring hit rate", "seeds that found a square", "first hit (gen)",
)  # fmt: skip
Runs = list[list[dict[str, float]]]
LAYOUT = ModuleLayout(*zip(*MODULES, strict=True))


@dataclass
class SquareSettings:
    """What `pbml experiment square` runs."""

    #: Output folder (its parent must exist).
    out: Path
    #: Number of seeds (runs per variant).
    seeds: int = 10
    #: Generations of training in the Square world.
    generations: int = 400
    #: Strategies to train in the changing world (pbml is also trained in the static world).
    strategies: tuple[str, ...] = STRATEGIES
    #: Distinct genomes per generation.
    size: int = 64
    #: Base seed; run i uses SeedSequence([seed, i]).
    seed: int = 0
    #: Generations between square relocations in the changing world.
    period: int = 20
    #: Generations of evolution in the Hard Square world.
    transfer_generations: int = 30


def selection_config(strategy: str, size: int) -> SelectionConfig:
    """Positions start with sigma 0.5, gate 0.5; both self-adapt (sigma in [1e-3, 20])."""
    mutation = MutationConfig(
        init_sigma=0.5, init_gate=0.5, meta_rate=0.2, gate_meta_rate=0.3,
        sigma_min=1e-3, sigma_max=20.0,
    )  # fmt: skip
    return SelectionConfig(strategy=strategy, size=size, mutation=mutation)


def variants(settings: SquareSettings) -> list[tuple[str, str, int]]:
    """(label, strategy, period) of every training run; the static variant uses pbml."""
    changing = [(name, name, settings.period) for name in settings.strategies]
    return changing + [("pbml-static", "pbml", 0)]


def train_one(strategy: str, period: int, run: int, s: SquareSettings) -> tuple[Population, Runs]:
    """Train one variant for one seed in the Square world."""
    world = SquareWorld(period=period, seed=common.world_seed(s.seed, run))
    algo = make_strategy(strategy, selection_config(strategy, s.size), LAYOUT)
    rngs = common.streams(s.seed, run, ("founders", "selection", "transfer"))
    pop = algo.init(world.founders(s.size, rngs["founders"]), rngs["founders"])
    return common.evolve(algo, pop, world.fitness, s.generations, rngs["selection"], _record)


def _record(pop: Population, fitness: np.ndarray) -> dict[str, float]:
    step = np.log10(np.maximum(pop.sigma()[:, 0] * pop.gate()[:, 0], 1e-300))
    return {
        "fitness_mean": float(fitness.mean()),
        "log10_sigma_median": float(np.median(np.log10(pop.sigma()[:, 0]))),
        "gate_mean": float(pop.gate()[:, 0].mean()),
        "log10_step": float(step.mean()),
        "lineages": int(np.unique(pop.lineage_ids).size),
    }


def transfer_one(pop: Population, run: int, s: SquareSettings) -> list[dict[str, float]]:
    """Evolve a trained population in the Hard Square world under PBML; hit rates per gen."""
    origin = np.median(pop.params.astype(np.float64), axis=0)
    hard = HardSquareWorld(seed=common.world_seed(s.seed, run))
    algo = make_strategy("pbml", selection_config("pbml", s.size), LAYOUT)
    start = pop.take(np.arange(pop.size))
    start.shares = np.full(pop.size, 1.0 / pop.size)
    start.scout_until[:] = -1
    first_new, totals = start.next_id, {"born": 0, "hits": 0}

    def record(p: Population, fitness: np.ndarray) -> dict[str, float]:
        new = p.ids >= first_new
        totals["born"] += int(new.sum())
        totals["hits"] += int(fitness[new].sum())
        return {
            "hit_fraction": float(fitness.mean()),
            "offspring": int(new.sum()),
            "offspring_hits": int(fitness[new].sum()),
            "offspring_hit_cum": totals["hits"] / max(totals["born"], 1),
        }

    rng = common.streams(s.seed, run, ("founders", "selection", "transfer"))["transfer"]
    fit = lambda params, gen: hard.fitness(params, origin)  # noqa: E731
    return common.evolve(algo, start, fit, s.transfer_generations + 1, rng, record)[1]


def run_square(settings: SquareSettings) -> str:
    """Train and transfer every variant over every seed; write CSVs and plots; summarise."""
    out = common.prepare_out(settings.out)
    trained: dict[str, Runs] = {}
    transferred: dict[str, Runs] = {}
    for label, strategy, period in variants(settings):
        trained[label], transferred[label] = [], []
        for run in range(settings.seeds):
            pop, rows = train_one(strategy, period, run, settings)
            trained[label].append(rows)
            transferred[label].append(transfer_one(pop, run, settings))
            common.write_csv(out / "runs" / f"{label}_seed{run}.csv", rows)
            common.write_csv(out / "transfer" / f"{label}_seed{run}.csv", transferred[label][-1])
    plots.plot_square(trained, transferred, out / "square.png")
    summary = summarise(trained, transferred)
    (out / "summary.md").write_text(summary + "\n")
    return summary


def summarise(trained: dict[str, Runs], transferred: dict[str, Runs]) -> str:
    """The summary table (mean ± sd over seeds) and the verdict lines."""
    rows = []
    for label, runs in trained.items():
        fitness = common.column(runs, "fitness_mean")
        step = common.column(runs, "log10_step")
        hits = _hit_rates(transferred[label])
        first = _first_hits(transferred[label])
        found = np.isfinite(first)
        rows.append([
            label, common.mean_sd(fitness[:, fitness.shape[1] // 2 :].mean(axis=1), 3),
            common.mean_sd(step[:, 0]), common.mean_sd(step[:, -1]), common.mean_sd(hits, 3),
            f"{found.sum()}/{found.size}",
            f"{np.mean(first[found]):.1f}" if found.any() else "never",
        ])  # fmt: skip
    return common.markdown_table(HEADERS, rows) + "\n\n" + "\n".join(verdicts(trained, transferred))


def verdicts(trained: dict[str, Runs], transferred: dict[str, Runs]) -> list[str]:
    """One line per claim, with the numbers the rule used."""
    lines = []
    pbml = _hit_rates(transferred["pbml"]) if "pbml" in transferred else None
    for other in ("greedy", "pbml-static"):
        if pbml is None or other not in transferred:
            continue
        rival = _hit_rates(transferred[other])
        wins = int((pbml > rival).sum())
        ok = pbml.mean() > rival.mean() and wins > pbml.size / 2
        lines.append(
            f"- PBML genomes find Hard Square more often than {other} genomes: "
            f"{'yes' if ok else 'NO'} (hit rate {pbml.mean():.3f} vs {rival.mean():.3f}; "
            f"PBML higher in {wins}/{pbml.size} seeds)"
        )
    step = common.column(trained["pbml-static"], "log10_step")
    shrank = int((step[:, -1] < step[:, 0]).sum())
    ok = "yes" if shrank == step.shape[0] else "NO"
    lines.append(
        f"- Static-world genomes shrink their mutation: {ok}"
        f" (mean log10(sigma*gate) {step[:, 0].mean():.2f} -> {step[:, -1].mean():.2f}; "
        f"lower in {shrank}/{step.shape[0]} seeds)"
    )
    return lines


def _hit_rates(runs: Runs) -> np.ndarray:
    """Per seed: the fraction of all transfer offspring that landed in a square."""
    return common.column(runs, "offspring_hit_cum")[:, -1]


def _first_hits(runs: Runs) -> np.ndarray:
    """Per seed: the first transfer generation with an offspring in a square (inf if none)."""
    hits = common.column(runs, "offspring_hits") > 0
    return np.where(hits.any(axis=1), hits.argmax(axis=1), np.inf)
