"""PNG plots of the toy-world experiments (matplotlib, Agg backend, imported lazily), sized
like the run plots: WIDTH inches at DPI, at least 1200 pixels wide."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pbml_control.analysis.plots.figures import DPI, WIDTH
from pbml_control.experiments.common import column

Runs = dict[str, list[list[dict[str, float]]]]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panel(ax, results: Runs, key: str, ylabel: str, title: str) -> None:
    """Mean over seeds (line) and the seeds' min-max band, per strategy."""
    for name, runs in results.items():
        data = column(runs, key)
        gens = np.arange(data.shape[1])
        (line,) = ax.plot(gens, data.mean(axis=0), label=name)
        ax.fill_between(
            gens, data.min(axis=0), data.max(axis=0), color=line.get_color(), alpha=0.15
        )
    _generation_axis(ax, ylabel, title)
    ax.legend(fontsize=8)


def _generation_axis(ax, ylabel: str, title: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def save(fig, path: Path) -> None:
    fig.set_layout_engine("constrained")
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    _pyplot().close(fig)


def plot_numeric(results: Runs, path: Path) -> None:
    """Numeric world: X and log10 R over generations, one line per strategy."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 8.5), sharex=True)
    _panel(axes[0], results, "x_mean", "mean X (fitness, symlog)", "Numeric world: X")
    axes[0].set_yscale("symlog", linthresh=10.0)  # strategies differ by orders of magnitude
    _panel(axes[1], results, "log10_r_mean", "mean log10 R", "Numeric world: R (mutation radius)")
    save(fig, path)


def plot_square(results: Runs, transfer: Runs, path: Path) -> None:
    """Square world: fitness and mutation over generations; then Hard Square transfer."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 12))
    _panel(axes[0], results, "fitness_mean", "fraction in a square", "Square world: fitness")
    _panel(axes[1], results, "log10_step", "mean log10(sigma * gate)", "Square world: mutation")
    _panel(axes[2], transfer, "offspring_hit_cum", "cumulative offspring hit rate",
           "Transfer to Hard Square (PBML selection for all)")  # fmt: skip
    save(fig, path)


def _arms_panel(ax, results: dict[str, Runs], key: str, ylabel: str, title: str) -> None:
    """Mean over seeds per strategy: evolved arm solid, frozen arm dashed, same colour."""
    for i, (name, arms) in enumerate(results.items()):
        for arm, runs in arms.items():
            data = column(runs, key).mean(axis=0)
            style = "-" if arm == "evolved" else "--"
            ax.plot(np.arange(data.size), data, style, color=f"C{i}", label=f"{name} {arm}")
    _generation_axis(ax, ylabel, title)
    ax.legend(fontsize=8, ncol=2)


def plot_moving(results: dict[str, Runs], path: Path) -> None:
    """Moving Target world: best fitness, gate of b and radius of a, evolved vs frozen."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 12), sharex=True)
    _arms_panel(axes[0], results, "fitness_max", "max fitness", "Moving Target: best fitness")
    _arms_panel(axes[1], results, "gate_b", "mean gate of b", "Moving Target: gate of b")
    _arms_panel(axes[2], results, "sigma_a", "mean sigma of a (log)", "Moving Target: radius of a")
    axes[2].set_yscale("log")  # radii self-adapt multiplicatively
    save(fig, path)


def plot_subspace(results: Runs, path: Path) -> None:
    """Best fitness per arm, and the alignment of the arms that carry directions."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, WIDTH * 0.8), sharex=True)
    _panel(top, results, "fitness_max", "best fitness", "Subspace world: tracking the goal")
    carrying = {arm: runs for arm, runs in results.items() if arm != "none"}
    _panel(bottom, carrying, "alignment", "share in the subspace",
           "Alignment of the best genome's directions (random: about 0.22)")  # fmt: skip
    save(fig, path)
