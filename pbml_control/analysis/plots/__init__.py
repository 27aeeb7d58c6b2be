"""Run plots: `plot_run(run_dir)` writes PNGs into RUN_DIR/plots/ (what `pbml plot` and the end
of `pbml train` call), and `LineageShares`, the callback that records what the Muller plot needs.

matplotlib is imported only when plotting, so the trainer can hold the callback cheaply.
"""

from __future__ import annotations

from pathlib import Path

from pbml_control.analysis.plots.shares import LineageShares

__all__ = ["LineageShares", "plot_adaptation", "plot_run"]


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write every plot the run has data for into RUN_DIR/plots/; returns the files written."""
    from pbml_control.analysis.plots.run_plots import plot_run as write_plots

    return write_plots(run_dir)


def plot_adaptation(csv_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Plot one transfer's adaptation.csv into `out_dir`; returns the files written."""
    from pbml_control.analysis.plots.run_plots import plot_adaptation as write_plot

    return write_plot(Path(csv_path), Path(out_dir))
