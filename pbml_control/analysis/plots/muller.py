"""The Muller plot: lineage shares over generations, stacked, drawn so a talk audience sees the
dynamics.

- Each generation is a step of width 1 (its shares hold from g - 0.5 to g + 0.5), so a run of one
  generation is a full bar, not an empty axis, and goal-change lines at g - 0.5 fall on steps.
- The top lineages (by peak share) get clearly different hues from a colour-blind-safe palette,
  a legend entry and a label inside their band; the others are light greys, the rest of the
  population ("other", beyond the recorded top rows) a darker grey.
- When most of the change happens early (the common case: one lineage takes over within the first
  tens of generations and then holds), the time axis is log(1 + generation) with integer ticks,
  so the takeover is not squeezed into the left edge.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator, StrMethodFormatter

from pbml_control.analysis.plots.data import ShareMatrix
from pbml_control.analysis.plots.figures import mark_goals, new_figure
from pbml_control.analysis.plots.shares import OTHER

#: Okabe & Ito's qualitative palette (plus a brown): neighbours differ in hue, also to readers
#: with a colour-vision deficiency; the first two are a blue and an orange.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#8C564B")
MINOR_GREYS = ("0.80", "0.88")
OTHER_GREY = "0.62"
#: Bands thinner than this at their widest get no label inside.
LABEL_MIN_SHARE = 0.06
#: Log time axis when this share of all change happens in the first EARLY_PART of the run...
EARLY_CHANGE = 0.8
EARLY_PART = 0.2
#: ... and the run has at least this many generations.
LOG_MIN_GENERATIONS = 20


def muller_figure(matrix: ShareMatrix, changes, time_axis: str = "auto") -> Figure:
    """Stacked lineage shares (founder clades, so no nesting), lineages in founding order.

    `time_axis` is "linear", "log" (log of 1 + generation) or "auto" (`early_dynamics` decides).
    """
    fig = new_figure(4.8)
    ax = fig.add_subplot()
    gens, shares = matrix.generations, matrix.shares
    top = top_lineages(matrix)
    colors = lineage_colors(matrix.lineages, top)
    x, y = _steps(gens, shares)
    ax.stackplot(x, y.T, colors=colors, linewidth=0.3, edgecolor="white")
    log = time_axis == "log" or (time_axis == "auto" and early_dynamics(shares))
    low, high = gens[0] - 0.5, gens[-1] + 0.5
    if log:
        _log_time(ax, low, high)
    ax.set(xlim=(low, high), ylim=(0, 1), ylabel="share of population",
           xlabel="generation" + (" (log scale)" if log else ""),
           title="Lineage shares (Muller plot)")  # fmt: skip
    if not log:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    mark_goals(ax, changes, label_goals=False)
    _label_bands(ax, matrix, top)
    handles = [Patch(color=colors[j], label=f"lineage {matrix.lineages[j]}") for j in top]
    if len(top) < len(matrix.lineages) - (OTHER in matrix.lineages):
        handles.append(Patch(color=MINOR_GREYS[0], label="smaller lineages"))
    if OTHER in matrix.lineages:
        handles.append(Patch(color=OTHER_GREY, label="other lineages (< 0.2% each)"))
    ax.legend(handles=handles, fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5),
              title="by peak share", title_fontsize=9)  # fmt: skip
    return fig


def top_lineages(matrix: ShareMatrix, count: int = len(PALETTE)) -> list[int]:
    """Column indices of the `count` lineages with the largest peak share (OTHER excluded),
    largest first."""
    peak = matrix.shares.max(axis=0) if matrix.shares.size else np.zeros(len(matrix.lineages))
    order = np.argsort(-peak, kind="stable")
    return [int(j) for j in order if matrix.lineages[j] != OTHER and peak[j] > 0][:count]


def lineage_colors(lineages: list[int], top: list[int]) -> list:
    """PALETTE for the top lineages in rank order, alternating light greys for the others."""
    colors: list = [MINOR_GREYS[j % 2] for j in range(len(lineages))]
    for rank, j in enumerate(top):
        colors[j] = PALETTE[rank % len(PALETTE)]
    return [OTHER_GREY if k == OTHER else c for k, c in zip(lineages, colors, strict=True)]


def early_dynamics(shares: np.ndarray) -> bool:
    """True when EARLY_CHANGE of the total share movement (half the L1 distance between
    consecutive generations) happens in the first EARLY_PART of a long enough run."""
    if len(shares) < LOG_MIN_GENERATIONS:
        return False
    moves = 0.5 * np.abs(np.diff(shares, axis=0)).sum(axis=1)
    total = moves.sum()
    if total <= 0:
        return False
    early = moves[: max(1, int(EARLY_PART * len(moves)))].sum()
    return bool(early >= EARLY_CHANGE * total)


def _steps(gens: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each generation's shares held over [g - 0.5, g + 0.5]."""
    x = np.column_stack([gens - 0.5, gens + 0.5]).ravel()
    return x, np.repeat(shares, 2, axis=0)


def _log_time(ax: Axes, low: float, high: float) -> None:
    """A log(1 + generation - first) axis with integer ticks at 1-2-5 steps."""
    ax.set_xscale("function", functions=(lambda v: np.log10(np.maximum(v - low, 0) + 1),
                                         lambda u: 10**u - 1 + low))  # fmt: skip
    start = int(np.ceil(low))
    ticks = [start] + [
        start + step * 10**e for e in range(7) for step in (1, 2, 5) if start + step * 10**e < high
    ]
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(ticks))))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())


def _label_bands(ax: Axes, matrix: ShareMatrix, top: list[int]) -> None:
    """'L<id>' inside each top lineage's band, at the generation where it is widest."""
    bottoms = np.cumsum(matrix.shares, axis=1) - matrix.shares
    for j in top:
        g = int(np.argmax(matrix.shares[:, j]))
        share = matrix.shares[g, j]
        if share < LABEL_MIN_SHARE:
            continue
        box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7}
        ax.text(matrix.generations[g], bottoms[g, j] + share / 2, f"L{matrix.lineages[j]}",
                ha="center", va="center", fontsize=9, color="black", bbox=box)  # fmt: skip
