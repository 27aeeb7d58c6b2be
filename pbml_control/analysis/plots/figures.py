"""The run's figures. Object-oriented matplotlib (`Figure`, no pyplot), so plotting never
switches the backend or touches global state of a process that also shows figures.

Each function takes arrays from `pbml_control.analysis.plots.data` and returns a Figure; `save`
writes it atomically as a small PNG.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pbml_control.analysis.plots.data import Curves, ShareMatrix
from pbml_control.analysis.plots.shares import OTHER
from pbml_control.running.checkpoint import atomic_write_bytes

DPI = 90
MAX_GOAL_LABELS = 12


def save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    atomic_write_bytes(path, buffer.getvalue())
    return path


def with_note(fig: Figure, note: str) -> Figure:
    """The run's strategy and controls as a line above the figure (none when empty)."""
    if note:
        fig.suptitle(note, fontsize=8, color="0.25")
    return fig


def mark_goals(ax: Axes, changes: list[tuple[float, str]], label_goals: bool = True) -> None:
    """Dotted lines where the goal changes; the goal's value on top when there are few."""
    for generation, _ in changes[1:]:
        ax.axvline(generation - 0.5, color="0.5", lw=0.8, ls=":")
    if not label_goals or not changes or len(changes) > MAX_GOAL_LABELS:
        return
    for generation, goal in changes:
        if goal:
            ax.annotate(_short(goal), (generation - 0.5, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(2, -2), textcoords="offset points", va="top", fontsize=7,
                        color="0.35")  # fmt: skip


def _short(goal: str) -> str:
    """'1.89531 0.2' -> '1.9 0.2': goal values as the plot has room for them."""
    try:
        return " ".join(f"{float(v):.3g}" for v in goal.split())
    except ValueError:
        return goal


def fitness_figure(gens: np.ndarray, series: dict[str, np.ndarray], changes) -> Figure:
    """Population fitness (max, mean, median) per generation, goal changes marked."""
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    for name, values in series.items():
        ax.plot(gens, values, label=name, lw=1.2)
    mark_goals(ax, changes)
    ax.set(xlabel="generation", ylabel="fitness (episode return)",
           title="Fitness; dotted lines: goal changes")  # fmt: skip
    ax.legend(fontsize=8, loc="lower right")
    return fig


def mutation_figure(gens, sigma: dict[str, np.ndarray], gate: dict[str, np.ndarray], changes):
    """Per-module mutation radius (log scale) and gate, population means."""
    fig = Figure(figsize=(7, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    for name in sigma:
        (line,) = top.plot(gens, sigma[name], label=name, lw=1.2)
        bottom.plot(gens, gate[name], color=line.get_color(), lw=1.2)
    top.set_yscale("log")
    top.set(ylabel="mutation radius sigma", title="Mutation function per module (mean)")
    bottom.set(xlabel="generation", ylabel="mutation gate p", ylim=(-0.02, 1.02))
    for ax in (top, bottom):
        mark_goals(ax, changes, label_goals=ax is top)
    top.legend(fontsize=8, ncol=min(len(sigma), 4), loc="lower left")
    return fig


def muller_figure(matrix: ShareMatrix, changes, legend: int = 8) -> Figure:
    """Stacked lineage shares over generations (a Muller plot without nesting: lineages are
    founder clades). Lineages are stacked in founding order; the rest is grey on top."""
    fig = Figure(figsize=(7, 3.8))
    ax = fig.add_subplot()
    colors = _lineage_colors(matrix.lineages)
    labels = [("other" if k == OTHER else f"lineage {k}") for k in matrix.lineages]
    stacks = ax.stackplot(matrix.generations, matrix.shares.T, colors=colors, labels=labels,
                          linewidth=0.2, edgecolor="white")  # fmt: skip
    peak = matrix.shares.max(axis=0)
    shown = set(np.argsort(-peak, kind="stable")[:legend])
    handles = [s for j, s in enumerate(stacks) if j in shown]
    mark_goals(ax, changes, label_goals=False)
    ax.set(xlabel="generation", ylabel="share of population", ylim=(0, 1),
           xlim=(matrix.generations[0], matrix.generations[-1]),
           title="Lineage shares (Muller plot)")  # fmt: skip
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def _lineage_colors(lineages: list[int]) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return ["0.8" if k == OTHER else cmap(i % 20) for i, k in enumerate(lineages)]


def adaptation_figure(name: str, panels: dict[str, dict[str, Curves]]) -> Figure:
    """Adaptation after transfer: per source, mean over goals and seeds, band +-1 s.e."""
    fig = Figure(figsize=(7, 3.4))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, by_source) in zip(axes, panels.items(), strict=True):
        for source, curves in sorted(by_source.items()):
            mean, sem = curves.mean_and_sem()
            (line,) = ax.plot(curves.generations, mean, label=source, lw=1.2)
            ax.fill_between(curves.generations, mean - sem, mean + sem,
                            color=line.get_color(), alpha=0.2, lw=0)  # fmt: skip
        ax.set(xlabel="generation after transfer", ylabel=metric.replace("_", " "))
        ax.legend(fontsize=8)
    fig.suptitle(f"Transfer '{name}': mean over goals x seeds, band +-1 s.e.", fontsize=10)
    return fig
