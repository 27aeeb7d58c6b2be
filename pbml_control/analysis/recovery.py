"""Reading a run's metrics: how fast the population recovers after each goal change.

The "learning to learn" signature (docs/design.md, claim 2) is recovery that gets faster over a
run: for each goal period (segment) we measure the fitness right after the change, the gain over
the first `horizon` generations, and the generations needed to close 90% of the gap to the
segment's best. Early and late segments are then compared; alone, that comparison proves
nothing (a frozen-mutation control improves too): `pbml study` compares it between arms.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def segments(rows: list[dict], key: str = "pop/fitness_max") -> dict[int, np.ndarray]:
    """Fitness per generation, grouped by goal segment (in generation order)."""
    out: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        out[int(row["goal/segment"])].append(float(row[key]))
    return {s: np.asarray(v) for s, v in sorted(out.items())}


def segment_recovery(curve: np.ndarray, horizon: int) -> dict[str, float]:
    start, best = curve[0], curve.max()
    h = min(horizon, len(curve) - 1)
    gap = best - start
    reached = np.flatnonzero(curve >= start + 0.9 * gap) if gap > 0 else np.array([0])
    return {
        "start": float(start),
        "best": float(best),
        "gain": float(curve[h] - start),
        # The share of the period's whole improvement made in the first `horizon` generations:
        # unlike `gain`, it does not grow just because a new goal starts further away.
        "closed": float((curve[h] - start) / gap) if gap > 0 else float("nan"),
        "gens_to_90": float(reached[0]),
    }


def recovery_table(rows: list[dict], horizon: int = 5, key: str = "pop/fitness_max") -> list[dict]:
    """One record per complete goal segment after the first (the first has no change)."""
    segs = segments(rows, key)
    if not segs:
        return []
    length = max(len(c) for c in segs.values())
    return [
        {"segment": s, **segment_recovery(c, horizon)}
        for s, c in segs.items()
        if s > 0 and len(c) == length and len(c) > 1
    ]


def early_late(table: list[dict]) -> dict[str, dict[str, float]] | None:
    """Mean recovery figures of the first and last third of the segments."""
    if len(table) < 2:
        return None
    third = max(1, len(table) // 3)
    groups = {"early": table[:third], "late": table[-third:]}
    return {
        name: {k: _mean([r[k] for r in group]) for k in ("start", "gain", "closed", "gens_to_90")}
        | {"segments": f"{group[0]['segment']}-{group[-1]['segment']}"}
        for name, group in groups.items()
    }


def _mean(values: list[float]) -> float:
    """Mean of the non-NaN values (as np.nanmean); NaN, without numpy's empty-slice warning,
    when there are none."""
    finite = np.asarray(values, dtype=float)
    finite = finite[~np.isnan(finite)]
    return float(finite.mean()) if finite.size else float("nan")
