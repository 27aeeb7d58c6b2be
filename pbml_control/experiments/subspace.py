"""`pbml experiment subspace`: a positive control for mutation directions (not in the paper).

World: :mod:`pbml_envs.toy.subspace`. Goals jump inside a fixed random 2-D subspace of a 32-D
parameter space, so a mutation function that steps inside the subspace pays, and a radius per
module cannot express it. One strategy (truncation, as in the design pilot), five arms from
the same founders, worlds and selection streams:

* ``cumulative``: 2 directions learned from the lineage's evolution path, its cumulated steps
  (``direction_rule = 'cumulative'``, the default);
* ``path``: 2 directions moved toward each single step that made a child (``'path'``);
* ``mutate``: 2 directions that take random rotations and wait for selection;
* ``frozen``: 2 random directions that never change (``directions_frozen``), scales adapt;
* ``none``: no directions (the radius-and-gate function of earlier versions);
* ``oracle``: the true basis as frozen directions: the ceiling.

Measures, per run: *tracking*, the mean best fitness over the second half of the run (0 is
perfect); *alignment*, the share of the best genome's directions' norm inside the subspace,
||B^T u|| (random directions: about 0.22), at the last generation. The summary gives
mean ± s.e. over seeds, and path vs each other arm paired by seed: the mean difference, the
seeds in favour and a one-sided Wilcoxon p.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pbml_envs.toy.subspace import SubspaceWorld

from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.experiments import common, plots
from pbml_control.experiments.moving import mean_se

ARMS = ("cumulative", "path", "mutate", "frozen", "none", "oracle")
#: Rotation rate of the 'mutate' arm (the learned rules take --rate).
MUTATE_RATE = 0.1
HEADERS = ("arm", "tracking", "alignment (best genome)", "sigma end", "direction scale end",
           "evaluations per run")  # fmt: skip


@dataclass
class SubspaceSettings:
    """What `pbml experiment subspace` runs."""

    out: Path
    seeds: int = 12
    generations: int = 3000
    size: int = 64
    seed: int = 0
    #: Selection strategy of every arm.
    strategies: tuple[str, ...] = ("truncation",)
    arms: tuple[str, ...] = field(default=ARMS)
    period: int = 20
    #: 'cumulative' and 'path': the weight of the newest path or step.
    rate: float = 0.02


def mutation_config(arm: str, rate: float) -> MutationConfig:
    """Radius 0.1, gate always on (one module), 2 directions unless the arm is 'none'."""
    rule = arm if arm in ("cumulative", "path", "mutate") else "cumulative"
    return MutationConfig(
        init_sigma=0.1, init_gate=1.0, meta_rate=0.1, gate_meta_rate=0.0, sigma_min=1e-4,
        directions=0 if arm == "none" else 2, direction_rule=rule,
        direction_rate=MUTATE_RATE if arm == "mutate" else rate,
        directions_frozen=arm in ("frozen", "oracle"),
    )  # fmt: skip


def run_one(arm: str, run: int, settings: SubspaceSettings) -> list[dict[str, float]]:
    """One seed of one arm: a CSV row per generation."""
    world = SubspaceWorld(
        seed=common.world_seed(settings.seed, run), period=settings.period, oracle=arm == "oracle"
    )
    layout = ModuleLayout(*zip(*world.modules, strict=True))
    strategy = settings.strategies[0]
    cfg = SelectionConfig(strategy=strategy, size=settings.size,
                          mutation=mutation_config(arm, settings.rate))  # fmt: skip
    algo = make_strategy(strategy, cfg, layout)
    rngs = common.streams(settings.seed, run, ("founders", "selection"))
    pop = algo.init(world.founders(settings.size), rngs["founders"])
    if pop.num_directions:
        pop.dirs = np.array(world.prepare(pop.dirs), dtype=np.float32)

    def record(p: Population, fitness: np.ndarray) -> dict[str, float]:
        best = int(np.argmax(fitness))
        k = p.num_directions
        return {
            "fitness_max": float(fitness.max()),
            "fitness_mean": float(fitness.mean()),
            "sigma": float(p.sigma().mean()),
            "dir_scale": float(np.exp(p.dir_log_scale).mean()) if k else float("nan"),
            "alignment": float(world.in_subspace(p.dirs[best]).mean()) if k else float("nan"),
        }

    _, rows = common.evolve(
        algo, pop, world.fitness, settings.generations, rngs["selection"], record, world.changes
    )
    return rows


def run_subspace(settings: SubspaceSettings) -> str:
    """Every arm over every seed; CSVs, the plot and summary.md; returns the summary."""
    out = common.prepare_out(settings.out)
    results: dict[str, list[list[dict[str, float]]]] = {}
    for arm in settings.arms:
        results[arm] = [run_one(arm, i, settings) for i in range(settings.seeds)]
        for i, rows in enumerate(results[arm]):
            common.write_csv(out / "runs" / f"{arm}_seed{i}.csv", rows)
    plots.plot_subspace(results, out / "subspace.png")
    summary = summarise(results, settings)
    (out / "summary.md").write_text(summary + "\n")
    return summary


def tracking(runs: list[list[dict[str, float]]]) -> np.ndarray:
    """Per seed, the mean best fitness over the second half of the run."""
    fmax = common.column(runs, "fitness_max")
    return fmax[:, fmax.shape[1] // 2 :].mean(axis=1)


def summarise(results: dict, settings: SubspaceSettings) -> str:
    from pbml_control.study.stats import paired_test

    rows = []
    for arm, runs in results.items():
        last = {k: common.column(runs, k)[:, -1] for k in ("alignment", "sigma", "dir_scale")}
        rows.append([
            arm, mean_se(tracking(runs)),
            "n/a" if np.isnan(last["alignment"]).all() else mean_se(last["alignment"], 2),
            f"{last['sigma'].mean():.3g}",
            "n/a" if np.isnan(last["dir_scale"]).all() else f"{last['dir_scale'].mean():.3g}",
            f"{common.column(runs, 'evaluations')[:, -1].mean():.0f}",
        ])  # fmt: skip
    lines = [common.markdown_table(HEADERS, rows), ""]
    for learned in ("cumulative", "path"):
        if learned not in results:
            continue
        pairs = []
        for other in results:
            if other != learned:
                r = paired_test(tracking(results[learned]), tracking(results[other]))
                pairs.append([f"{learned} - {other}", f"{r.mean_diff:.3f}",
                              f"[{r.ci_low:.3f}, {r.ci_high:.3f}]", f"{r.n_favour}/{r.n}",
                              f"{r.p_value:.4f}"])  # fmt: skip
        lines += [common.markdown_table(("tracking", "mean diff", "95% CI", "seeds in favour",
                                         "Wilcoxon p (one-sided)"), pairs), ""]  # fmt: skip
    lines.append(
        f"Tracking: mean best fitness over generations {settings.generations // 2}-"
        f"{settings.generations - 1} (0 is perfect); alignment: ||B^T u|| of the best genome's "
        f"directions at the last generation (random: about 0.22); mean ± s.e. over "
        f"{settings.seeds} seeds. Command: `{command(settings)}`"
    )
    return "\n".join(lines)


def command(settings: SubspaceSettings) -> str:
    return (
        f"pbml experiment subspace --seeds {settings.seeds} --generations {settings.generations} "
        f"--size {settings.size} --seed {settings.seed} --period {settings.period} "
        f"--rate {settings.rate:g}"
    )
