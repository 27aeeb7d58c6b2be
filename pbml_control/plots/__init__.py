"""Run plots: `plot_run(run_dir)` writes PNGs into RUN_DIR/plots/ (what `pbml plot` and the end
of `pbml train` call), and `LineageShares`, the callback that records what the Muller plot needs.
"""

from pbml_control.plots.run_plots import plot_run
from pbml_control.plots.shares import LineageShares

__all__ = ["LineageShares", "plot_run"]
