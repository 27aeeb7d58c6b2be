"""The run's figures. Object-oriented matplotlib (`Figure`, no pyplot), so plotting never
switches the backend or touches global state of a process that also shows figures.

Each function takes arrays from `pbml_control.analysis.plots.data` and returns a Figure; `save`
writes it atomically as a PNG sized for a slide: WIDTH inches at DPI is at least 1200 pixels
wide, and the constrained layout engine places legends outside the axes without the warnings
`tight_layout` gives on narrow or one-generation figures.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pbml_control.analysis.plots.data import Curves
from pbml_control.running.checkpoint import atomic_write_bytes

#: Pixels per inch of every saved figure; WIDTH * DPI >= 1200 px (a slide's width).
DPI = 150
#: Width in inches of the run figures.
WIDTH = 8.5
MAX_GOAL_LABELS = 12
#: Below this many generations the lines get markers (a 1-generation line is otherwise invisible).
MARKERS_BELOW = 30


def save(fig: Figure, path: Path) -> Path:
    """Write `fig` as a PNG at DPI; a figure without a layout engine gets the constrained one."""
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    atomic_write_bytes(path, buffer.getvalue())
    return path


def new_figure(height: float, width: float = WIDTH) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def with_note(fig: Figure, note: str) -> Figure:
    """The run's strategy and controls as a line above the figure (none when empty)."""
    if note:
        fig.suptitle(note, fontsize=9, color="0.25")
    return fig


def generation_axis(ax: Axes, gens: np.ndarray) -> None:
    """Integer ticks and limits that hold every generation; one generation gets +-0.5 around it
    (identical limits would make matplotlib warn and expand them arbitrarily)."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    finite = np.asarray(gens, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return
    low, high = float(finite.min()), float(finite.max())
    ax.set_xlim(low - 0.5, high + 0.5) if low == high else ax.set_xlim(low, high)


def mark_goals(
    ax: Axes, changes: list[tuple[float, str]], label_goals: bool = True, unit: str = ""
) -> None:
    """Dotted lines where the goal changes; each goal's value on top when there are few (room
    is made above the data, so the labels never sit on a line). The unit follows the first value
    and is in the title (`goal_title`)."""
    for generation, _ in changes[1:]:
        ax.axvline(generation - 0.5, color="0.4", lw=0.9, ls=":")
    if not label_goals or not changes or len(changes) > MAX_GOAL_LABELS:
        return
    _headroom(ax, 0.1)
    for i, (generation, goal) in enumerate(changes):
        if goal:
            text = short_goal(goal) + (f" {unit}" if unit and i == 0 else "")
            ax.annotate(text, (max(generation - 0.5, ax.get_xlim()[0]), 1.0),
                        xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", va="top", fontsize=9, color="0.15")  # fmt: skip


def goal_title(title: str, unit: str, changes: list | None = None) -> str:
    """`title` plus where the goals are and their unit, e.g. '...; goals (m/s) on top'; without
    'on top' when there are too many goal changes to label (`mark_goals` leaves them out)."""
    if changes is not None and len(changes) > MAX_GOAL_LABELS:
        return f"{title}; dotted lines: goal changes"
    return f"{title}; dotted lines: goal changes, goals{f' ({unit})' if unit else ''} on top"


def _headroom(ax: Axes, fraction: float) -> None:
    """Raise the top of the y axis by `fraction` of its span (on a log axis, of its decades)."""
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log" and low > 0:
        ax.set_ylim(low, high * (high / low) ** fraction)
    else:
        ax.set_ylim(low, high + fraction * (high - low))


def short_goal(goal: str) -> str:
    """'1.89531 0.2' -> '1.9, 0.2': goal values as the plot has room for them."""
    try:
        return ", ".join(f"{float(v):.3g}" for v in goal.split())
    except ValueError:
        return goal


def _marker(gens: np.ndarray) -> dict:
    return {"marker": "o", "ms": 3} if len(gens) < MARKERS_BELOW else {}


def fitness_figure(
    gens: np.ndarray, series: dict[str, np.ndarray], changes, unit: str = ""
) -> Figure:
    """Population fitness (max, mean, median) per generation, goal changes marked."""
    fig = new_figure(4.6)
    ax = fig.add_subplot()
    for name, values in series.items():
        ax.plot(gens, values, label=name, lw=1.4, **_marker(gens))
    generation_axis(ax, gens)
    mark_goals(ax, changes, unit=unit)
    ax.set(xlabel="generation", ylabel="fitness (episode return)",
           title=goal_title("Fitness", unit, changes))  # fmt: skip
    ax.legend(fontsize=9, loc="lower right")
    return fig


def mutation_figure(
    gens,
    sigma: dict[str, np.ndarray],
    gate: dict[str, np.ndarray],
    changes,
    unit: str = "",
    scale: dict[str, np.ndarray] | None = None,
) -> Figure:
    """Per-module mutation radius (log scale) and gate, population means; with mutation
    directions, each module's mean direction scale exp(a) dashed beside its radius."""
    fig = new_figure(6.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    for name in sigma:
        (line,) = top.plot(gens, sigma[name], label=name, lw=1.4, **_marker(gens))
        bottom.plot(gens, gate[name], color=line.get_color(), lw=1.4, **_marker(gens))
        if scale and name in scale:
            top.plot(gens, scale[name], color=line.get_color(), lw=1.2, ls="--")
    top.set_yscale("log")
    ylabel = "radius sigma (solid)" + (", direction scale (dashed)" if scale else "")
    top.set(ylabel=ylabel if scale else "mutation radius sigma",
            title=goal_title("Mutation function per module (mean)", unit, changes))  # fmt: skip
    bottom.set(xlabel="generation", ylabel="mutation gate p", ylim=(-0.02, 1.02))
    generation_axis(bottom, gens)
    for ax in (top, bottom):
        mark_goals(ax, changes, label_goals=ax is top, unit=unit)
    if sigma:
        top.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="module")
    return fig


def adaptation_figure(name: str, panels: dict[str, dict[str, Curves]]) -> Figure:
    """Adaptation after transfer: per source, mean over goals and seeds, band +-1 s.e."""
    fig = new_figure(4.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, by_source) in zip(axes, panels.items(), strict=True):
        gens = np.array([])
        for source, curves in sorted(by_source.items()):
            mean, sem = curves.mean_and_sem()
            gens = np.union1d(gens, curves.generations)
            (line,) = ax.plot(curves.generations, mean, label=source, lw=1.4,
                              **_marker(curves.generations))  # fmt: skip
            ax.fill_between(curves.generations, mean - sem, mean + sem,
                            color=line.get_color(), alpha=0.2, lw=0)  # fmt: skip
        generation_axis(ax, gens)
        ax.set(xlabel="generation after transfer", ylabel=metric.replace("_", " "))
        ax.legend(fontsize=9)
    fig.suptitle(f"Transfer '{name}': mean over goals x seeds, band +-1 s.e.", fontsize=11)
    return fig
