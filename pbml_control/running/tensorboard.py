"""TensorBoard logging of a run: `run.tensorboard = true` adds `TensorBoardLog`, which writes to
RUN_DIR/tensorboard/ every numeric metrics.csv column as a scalar (the column names already
follow TensorBoard's `group/name` style, so groups become TensorBoard sections) and, per module,
histograms of the population's mutation function: `mutation/log_sigma/<module>` and
`mutation/gate/<module>` (the gate as a probability). The step is the generation.

Writing uses `torch.utils.tensorboard` (torch is a dependency already; it needs only the
`tensorboard` package). On resume the writer purges events from the checkpoint's generation on,
so steps that are computed again are not shown twice.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pbml_control.errors import UserError
from pbml_control.running.callbacks import Callback

FOLDER = "tensorboard"
INSTALL = "pip install 'pbml-control[tensorboard]'"


def summary_writer_class():
    """torch's SummaryWriter, or a UserError with the pip command when tensorboard is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise UserError(
            f"run.tensorboard = true needs the tensorboard package ({err}): {INSTALL}, "
            "or set run.tensorboard = false"
        ) from None
    return SummaryWriter


def scalars(row: dict) -> dict[str, float]:
    """The row's numeric columns as floats (the generation is the step). A text column of numbers
    (`goal/value`, e.g. "2 0") becomes one scalar, or one per coordinate (`goal/value/0`, ...)."""
    out = {}
    for key, value in row.items():
        if key == "generation" or isinstance(value, bool) or value is None:
            continue
        numbers = _numbers(value)
        if len(numbers) == 1:
            out[key] = numbers[0]
        else:
            out.update({f"{key}/{i}": v for i, v in enumerate(numbers)})
    return {key: v for key, v in out.items() if math.isfinite(v)}


def _numbers(value) -> list[float]:
    """[value] for a number, the numbers of a space-separated text, [] for anything else."""
    parts = value.split() if isinstance(value, str) else [value]
    try:
        return [float(v) for v in parts]
    except (TypeError, ValueError):
        return []


class TensorBoardLog(Callback):
    """Scalars per metrics column and mutation-function histograms, one step per generation."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / FOLDER
        self.writer_class = summary_writer_class()  # fails before the run starts
        self.writer = None

    def on_start(self, exp, state) -> None:
        done = state.population.generation
        # purge_step: events at or after `done` in earlier files are discarded by readers.
        self.writer = self.writer_class(
            log_dir=str(self.folder), purge_step=done if done > 0 else None
        )

    def on_generation(self, exp, event) -> None:
        step = event.generation
        for key, value in scalars(event.row).items():
            self.writer.add_scalar(key, value, step)
        pop = event.evaluated
        gates = 1.0 / (1.0 + np.exp(-np.asarray(pop.gate_logit, dtype=np.float64)))
        for j, name in enumerate(exp.layout.names):
            log_sigma = np.asarray(pop.log_sigma[:, j], dtype=np.float64)
            self.writer.add_histogram(f"mutation/log_sigma/{name}", log_sigma, step)
            self.writer.add_histogram(f"mutation/gate/{name}", gates[:, j], step)
        self.writer.flush()

    def on_end(self, exp, state, interrupted: bool) -> None:
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
