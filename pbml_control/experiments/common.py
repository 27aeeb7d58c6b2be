"""Helpers shared by the toy-world experiments: seeds, the evolution loop, CSV and tables."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pbml_control.errors import UserError
from pbml_control.evolution.genome import Population
from pbml_control.evolution.selection import Strategy
from pbml_control.evolution.selection.base import merge_fitness
from pbml_control.running.run_files import claim_folder, create_parents

#: fitness(params (N, D), generation) -> (N,) fitness.
FitnessFn = Callable[[np.ndarray, int], np.ndarray]
#: record(population, fitness) -> one CSV row for the generation just evaluated.
RecordFn = Callable[[Population, np.ndarray], dict[str, float]]


def prepare_out(out: Path) -> Path:
    """Create the output folder and its missing parents (as every command does)."""
    out = Path(out)
    create_parents(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out is a file, not a folder: {out}")
    out.mkdir(exist_ok=True)
    return out


def claim_out(out: Path, overwrite: bool) -> None:
    """Refuse an existing non-empty --out unless `overwrite`, which clears it first (only a
    folder an experiment wrote: one with summary.md), so two experiments never mix files."""
    refusal = f"'{out}' already holds output; pass --overwrite to replace it"
    claim_folder(Path(out), overwrite, "summary.md", "`pbml experiment`", refusal)


def streams(seed: int, run: int, purposes: Sequence[str]) -> dict[str, np.random.Generator]:
    """One generator per purpose, split from (seed, run): a strategy never changes another
    purpose's stream, so every strategy of one run sees the same founders and worlds."""
    children = np.random.SeedSequence([seed, run]).spawn(len(purposes))
    return {p: np.random.default_rng(c) for p, c in zip(purposes, children, strict=True)}


def world_seed(seed: int, run: int) -> int:
    """The integer seed of run ``run``'s world (square placements)."""
    return int(np.random.SeedSequence([seed, run, 7]).generate_state(1)[0])


def evolve(
    strategy: Strategy,
    pop: Population,
    fitness_fn: FitnessFn,
    generations: int,
    rng: np.random.Generator,
    record: RecordFn,
    changes: Callable[[int], bool] = lambda generation: True,
    budget: int = 0,
) -> tuple[Population, list[dict[str, float]]]:
    """The ask-evaluate-tell loop; returns the last population and one row per generation.

    ``changes(generation)`` says whether the world changed since the previous generation (by
    default always: every genome is scored every generation). Each row also counts the
    genomes scored (``evaluated``) and the running total (``evaluations``), the toy worlds'
    budget. The loop stops after ``generations`` (0: no limit) or once ``budget`` evaluations
    are spent (0: no budget), whichever comes first.
    """
    rows, spent = [], 0
    while (not generations or len(rows) < generations) and (not budget or spent < budget):
        gen = len(rows)
        index = strategy.ask(pop, changes(gen))
        fitness = merge_fitness(pop, index, fitness_fn(pop.params[index], gen))
        spent += index.size
        rows.append({"generation": gen, **record(pop, fitness)})
        rows[-1].update(evaluated=int(index.size), evaluations=spent)
        pop, _ = strategy.tell(pop, fitness, rng)
    return pop, rows


def write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """Write rows (same keys) with 6 significant digits, for byte-stable output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(v) for k, v in row.items()})


def column(runs: list[list[dict[str, float]]], key: str) -> np.ndarray:
    """(runs, generations) array of one CSV column."""
    return np.array([[row[key] for row in rows] for rows in runs], dtype=np.float64)


def mean_sd(values: np.ndarray, digits: int = 2) -> str:
    """'mean ± sd' over seeds."""
    v = np.asarray(values, dtype=np.float64)
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.{digits}f}"


def slope_per_100(series: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of (runs, T), per 100 generations."""
    t = np.arange(series.shape[1], dtype=np.float64)
    t = t - t.mean()
    return 100.0 * ((series - series.mean(axis=1, keepdims=True)) @ t) / (t @ t)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.6g}"
