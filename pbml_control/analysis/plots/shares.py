"""lineage_shares.csv: how much of the population each lineage holds, generation by generation.

Why a callback: lineages.csv records each genome's birth and death, not the abundance shares that
PBML selection moves, and checkpoints are sparse and pruned; a Muller plot of which lineages rose
and fell needs the share of every lineage at every generation. To keep the file small on large
populations, each generation writes its top `top` lineages by share and one row for the rest
(lineage -1), so each generation's shares sum to 1. A lineage is a founder's clade (its id is
the founding ancestor's), so lineages never nest.

The shares are those of the evaluated population (as `lineage/top_share` in metrics.csv). On
resume, rows from the checkpoint's generation on are dropped first, then written again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.evolution.genome import Population
from pbml_control.running.callbacks import Callback
from pbml_control.running.run_files import CsvLog

FILE = "lineage_shares.csv"
OTHER = -1
#: Lineages at or above this share are written one by one, beyond the top ones...
MIN_SHARE = 0.002
#: ... up to this many rows a generation.
MAX_ROWS = 128


def share_rows(generation: int, pop: Population, top: int) -> list[dict[str, Any]]:
    """Rows (generation, lineage, share) for the top `top` lineages and every other one with at
    least MIN_SHARE (MAX_ROWS at most), then the rest as OTHER."""
    lineages, inverse = np.unique(pop.lineage_ids, return_inverse=True)
    totals = np.bincount(inverse, weights=pop.shares) / max(float(pop.shares.sum()), 1e-300)
    order = np.argsort(-totals, kind="stable")
    top = min(max(top, int(np.count_nonzero(totals >= MIN_SHARE))), max(top, MAX_ROWS))
    rows = [
        {"generation": generation, "lineage": int(lineages[i]), "share": float(totals[i])}
        for i in order[:top]
    ]
    rest = float(totals[order[top:]].sum())
    if len(order) > top:
        rows.append({"generation": generation, "lineage": OTHER, "share": rest})
    return rows


class LineageShares(Callback):
    """Appends each generation's lineage shares to RUN_DIR/lineage_shares.csv."""

    def __init__(self, run_dir: Path, top: int = 16) -> None:
        self.path = Path(run_dir) / FILE
        self.top = top
        self.log = CsvLog(self.path)

    def on_start(self, exp, state) -> None:
        done = state.population.generation
        self.log.truncate(lambda row: int(row["generation"]) < done)
        self.log = CsvLog(self.path)

    def on_generation(self, exp, event) -> None:
        self.log.append(share_rows(event.generation, event.evaluated, self.top))
