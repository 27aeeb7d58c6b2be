"""The run files the plots read, as arrays: metrics.csv columns, the lineage share matrix and
transfer adaptation curves. Missing cells (a column a generation did not write) become NaN."""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.analysis.plots.shares import OTHER
from pbml_control.errors import UserError
from pbml_control.running.run_files import read_csv

Rows = list[dict[str, str]]


def read_rows(path: Path) -> Rows:
    try:
        return read_csv(path)
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read '{path}': {err}") from err


def column(rows: Rows, key: str) -> np.ndarray:
    """A float column; empty or missing cells are NaN."""
    return np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows])


def modules(rows: Rows) -> list[str]:
    """Module names, from the mut/sigma/<module> columns."""
    prefix = "mut/sigma/"
    return [key[len(prefix) :] for key in rows[0] if key.startswith(prefix)] if rows else []


def goal_changes(rows: Rows) -> list[tuple[float, str]]:
    """(generation, goal text) where a new goal period starts, the first one included."""
    changes, previous = [], None
    for row in rows:
        segment = row.get("goal/segment", "")
        if segment != previous:
            changes.append((float(row["generation"]), row.get("goal/value", "")))
            previous = segment
    return changes


@dataclass
class ShareMatrix:
    """Lineage shares over generations: shares[g, j] is lineage `lineages[j]` at `generations[g]`.

    A lineage missing from a generation's top rows counts 0 there (its share is in OTHER).
    """

    generations: np.ndarray
    lineages: list[int]
    shares: np.ndarray


def share_matrix(rows: Rows) -> ShareMatrix:
    """Pivot lineage_shares.csv; lineages in founding order, OTHER (if present) last."""
    by_gen: dict[int, dict[int, float]] = defaultdict(dict)
    for row in rows:
        by_gen[int(row["generation"])][int(row["lineage"])] = float(row["share"])
    generations = sorted(by_gen)
    ids = sorted({k for shares in by_gen.values() for k in shares} - {OTHER})
    if any(OTHER in shares for shares in by_gen.values()):
        ids.append(OTHER)
    matrix = np.array([[by_gen[g].get(k, 0.0) for k in ids] for g in generations])
    return ShareMatrix(
        np.array(generations, dtype=float), ids, matrix.reshape(len(generations), -1)
    )


@dataclass
class Curves:
    """One source's adaptation curves: values[c, g] for curve c (a goal, a seed) at generation g."""

    generations: np.ndarray
    values: np.ndarray

    def mean_and_sem(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean over curves and its standard error (0 for a single curve)."""
        n = np.sum(np.isfinite(self.values), axis=0)
        with warnings.catch_warnings():  # a generation no curve reached is NaN, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(self.values, axis=0)
            std = np.nanstd(self.values, axis=0, ddof=1) if len(self.values) > 1 else 0 * mean
        return mean, np.nan_to_num(std / np.sqrt(np.maximum(n, 1)))


def adaptation_curves(rows: Rows, key: str) -> dict[str, Curves]:
    """Per source, one curve per (goal_index, seed) of `key` over generation, aligned."""
    grouped: dict[str, dict[tuple[str, str], dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for row in rows:
        value = float(row[key]) if row.get(key) not in (None, "") else np.nan
        curve = (row["goal_index"], row["seed"])
        grouped[row["source"]][curve][int(row["generation"])] = value
    out = {}
    for source, curves in grouped.items():
        generations = sorted({g for curve in curves.values() for g in curve})
        values = np.array([[c.get(g, np.nan) for g in generations] for c in curves.values()])
        out[source] = Curves(np.array(generations, dtype=float), values)
    return out
