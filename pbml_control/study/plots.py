"""Study figures: arms compared over generations, mean over seeds with a 95% band.

Like `pbml_control.analysis.plots.figures`, these build object-oriented `Figure`s (no pyplot), so
they never switch the backend or touch global matplotlib state; write them with
`pbml_control.analysis.plots.figures.save`. They are sized and lettered for slides: 8 x 4.5 inches
per row (16:9), fonts of 10 pt and up, one tab10 colour per arm, the same colour in every panel.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pbml_control.study.stats import mean_ci

ROW = (8.0, 4.5)  # inches per panel row
MAX_COLUMNS = 2
FONT = 12
TICK_FONT = 10
LEGEND_FONT = 10
TITLE_FONT = 13
CONFIDENCE = 0.95
YLABELS = {"sigma": "mutation radius sigma (log scale)", "gate": "mutation gate p"}


def arm_colors(arms: list[str]) -> dict[str, tuple]:
    """tab10 colours in arm order (they repeat past ten arms, beyond which no plot is legible)."""
    cmap = colormaps["tab10"]
    return {arm: cmap(i % 10) for i, arm in enumerate(arms)}


def n_seeds(values: np.ndarray) -> int:
    """Seeds (rows) with at least one value: a seed that never reported is not counted."""
    return int(np.any(~np.isnan(np.asarray(values, dtype=float)), axis=1).sum())


def draw_band(
    ax: Axes,
    generations: np.ndarray,
    values: np.ndarray,
    color,
    label: str,
    log: bool = False,
    min_seeds: int = 1,
) -> None:
    """Mean line and 95% t band of a (seeds, T) array; where one seed remains there is no band,
    and where fewer than `min_seeds` seeds have a value nothing is drawn.

    With `log` the statistics are taken on log10 values and drawn back on the original scale
    (a geometric mean and its interval): on a log axis that is the centre the eye reads, and a
    band from raw values can reach zero or below, which a log axis cannot show. Values <= 0 have
    no logarithm and are ignored like NaNs.
    """
    values = _checked(values, generations, label)
    if log:
        values = np.log10(np.where(values > 0, values, np.nan))
    values = np.where(np.sum(~np.isnan(values), axis=0) >= min_seeds, values, np.nan)
    mean, low, high = mean_ci(values, CONFIDENCE)
    if log:
        mean, low, high = 10**mean, 10**low, 10**high
    ax.plot(generations, mean, color=color, lw=2.0, label=label)
    ax.fill_between(generations, low, high, color=color, alpha=0.2, lw=0)


def _checked(values: np.ndarray, generations: np.ndarray, label: str) -> np.ndarray:
    """A (seeds, T) float array whose T matches `generations`; anything else is a caller bug."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(generations):
        raise ValueError(f"{label}: expected (seeds, {len(generations)}), got {values.shape}")
    return values


def _style(ax: Axes, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Talk-size lettering, set per axes rather than through global rcParams."""
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    if title:
        ax.set_title(title, fontsize=TITLE_FONT)
    ax.tick_params(labelsize=TICK_FONT)
    ax.grid(True, color="0.9", lw=0.8)


def probe_figure(
    curves: dict[str, np.ndarray], generations: np.ndarray, ylabel: str, title: str
) -> Figure:
    """One line per arm: mean over seeds (rows of each array) of a probe metric, 95% band."""
    generations = np.asarray(generations)
    fig = Figure(figsize=ROW)
    ax = fig.add_subplot()
    for arm, color in arm_colors(list(curves)).items():
        label = f"{arm} (n={n_seeds(curves[arm])})"
        draw_band(ax, generations, curves[arm], color, label)
    _style(ax, "probe generation", ylabel, title)
    ax.legend(fontsize=LEGEND_FONT, title="arm (seeds)", title_fontsize=LEGEND_FONT)
    return fig


def mutation_figure(
    per_arm: dict[str, dict[str, np.ndarray]], generations: np.ndarray, kind: str
) -> Figure:
    """One panel per module, one line per arm: the mutation radius (kind "sigma", log axis,
    geometric mean) or gate (kind "gate", mean) over seeds with a 95% band, drawn while at least
    half of an arm's seeds are still running: runs that end at a rollout budget last different
    numbers of generations, and the last few seeds alone give a band that spans many decades.

    `per_arm[arm][module]` is a (seeds, T) array; a module missing from an arm is just not drawn
    for it, so arms with different module sets can still share the figure.
    """
    if kind not in YLABELS:
        raise ValueError(f"kind must be one of {sorted(YLABELS)}, got {kind!r}")
    generations = np.asarray(generations)
    modules = list(dict.fromkeys(m for by_module in per_arm.values() for m in by_module))
    fig, axes = _panels(max(len(modules), 1))
    for ax, module in zip(axes, modules, strict=False):
        _draw_module(ax, per_arm, module, generations, kind)
    for ax in axes[len(modules) :]:
        ax.set_visible(False)
    average = "geometric mean" if kind == "sigma" else "mean"
    fig.suptitle(
        f"Mutation {'radius' if kind == 'sigma' else 'gate'} per module: {average} "
        f"over seeds, {CONFIDENCE:.0%} CI band, while at least half the seeds run",
        fontsize=TITLE_FONT,
    )
    return fig


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    """Up to two panels a row, each row a slide-shaped 8 x 4.5 inches wide per column."""
    columns = min(count, MAX_COLUMNS)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(ROW[0] * columns, ROW[1] * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    return fig, list(axes.ravel())


def _draw_module(
    ax: Axes,
    per_arm: dict[str, dict[str, np.ndarray]],
    module: str,
    generations: np.ndarray,
    kind: str,
) -> None:
    """One module's panel: each arm that has the module, in arm order and colour."""
    colors = arm_colors(list(per_arm))
    for arm, by_module in per_arm.items():
        if module in by_module:
            values = by_module[module]
            seeds = n_seeds(values)
            label = f"{arm} (n={seeds})"
            half = math.ceil(seeds / 2)
            draw_band(ax, generations, values, colors[arm], label, kind == "sigma", half)
    if kind == "sigma":
        ax.set_yscale("log")
    else:
        ax.set_ylim(-0.02, 1.02)
    _style(ax, "generation", YLABELS[kind], module)
    ax.legend(fontsize=LEGEND_FONT)
