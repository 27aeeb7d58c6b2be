"""Progress of the generation loop: a tqdm bar on a terminal, one plain line every `interval`
seconds otherwise (a log file or CI console gets readable lines, not carriage returns).

The run's end may be a number of generations or a budget of rollouts or environment steps; the
bar counts generations when that is the only limit and percent of the nearest limit otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from pbml_control.running.callbacks import Callback

#: Seconds between two plain lines when the stream is not a terminal.
LINE_INTERVAL_S = 10.0


def run_fraction(cfg, state) -> float:
    """How far the run is towards its stop condition, in [0, 1] (the nearest limit)."""
    run, parts = cfg.run, []
    if run.generations:
        parts.append(state.population.generation / run.generations)
    if run.budget_rollouts:
        parts.append(state.rollouts / run.budget_rollouts)
    if run.budget_env_steps:
        parts.append(state.env_steps / run.budget_env_steps)
    return min(1.0, max(parts))


def _status(row: dict) -> str:
    return (
        f"fitness max {row['pop/fitness_max']:.2f} mean {row['pop/fitness_mean']:.2f}  "
        f"lineages {row['lineage/alive']}  {row['time/steps_per_s']:.0f} steps/s"
    )


def _short_status(row: dict) -> str:
    """The bar's tail: short, so the bar itself keeps room on an 80-column terminal."""
    return (
        f"max {row['pop/fitness_max']:.1f} mean {row['pop/fitness_mean']:.1f} "
        f"lineages {row['lineage/alive']}"
    )


class Progress(Callback):
    """tqdm on a terminal; otherwise a line at the first and last generation and every
    `interval` seconds between (`clock` is injectable so tests need not wait)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = LINE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval, self.clock = interval, clock
        self.bar = None
        self.lines = 0

    @staticmethod
    def fraction(cfg, state) -> float:
        return run_fraction(cfg, state)

    def on_start(self, exp, state) -> None:
        self.t0 = self.last_line = self.clock()
        self.start = run_fraction(exp.cfg, state)
        run = exp.cfg.run
        self.by_generation = bool(run.generations) and not (
            run.budget_rollouts or run.budget_env_steps
        )
        if self.tty:
            from tqdm import tqdm

            total, done = (
                (run.generations, state.population.generation)
                if self.by_generation
                else (100, round(100 * self.start))
            )
            self.bar = tqdm(total=total, initial=done, file=self.stream, dynamic_ncols=True,
                            unit="gen" if self.by_generation else "%", desc="training",
                            smoothing=0.1)  # fmt: skip

    def on_generation(self, exp, event) -> None:
        done = run_fraction(exp.cfg, event.state)
        if self.bar is not None:
            target = event.generation + 1 if self.by_generation else round(100 * done)
            self.bar.set_postfix_str(_short_status(event.row), refresh=False)
            self.bar.update(target - self.bar.n)
            return
        now = self.clock()
        if done >= 1.0 or self.lines == 0 or now - self.last_line >= self.interval:
            self.last_line, self.lines = now, self.lines + 1
            eta = self._eta(done, now)
            print(f"gen {event.generation + 1} ({100 * done:.0f}%)  {_status(event.row)}  "
                  f"ETA {eta}", file=self.stream, flush=True)  # fmt: skip

    def _eta(self, done: float, now: float) -> str:
        speed = (done - self.start) / max(now - self.t0, 1e-9)
        seconds = (1.0 - done) / speed if speed > 0 else 0.0
        minutes, secs = divmod(int(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    def on_end(self, exp, state, interrupted: bool) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line (also on Ctrl-C, so the message after it starts a new line)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
