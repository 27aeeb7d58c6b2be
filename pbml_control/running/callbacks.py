"""Callbacks that subscribe to the generation loop: CSV logs and checkpoints (progress:
`pbml_control.running.progress`; best genomes: `pbml_control.running.best`; TensorBoard:
`pbml_control.running.tensorboard`).

Each has `on_start(exp, state)`, `on_generation(exp, event)` and `on_end(exp, state, interrupted)`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.running.checkpoint import (
    list_checkpoints,
    prefixed,
    remove_stray_temps,
)
from pbml_control.running.checkpoint import save_checkpoint as write_checkpoint
from pbml_control.running.run_files import CsvLog, lineage_rows, survivor_records
from pbml_control.seeding import generator_state


class Callback:
    def on_start(self, exp, state) -> None:
        pass

    def on_generation(self, exp, event) -> None:
        pass

    def on_end(self, exp, state, interrupted: bool) -> None:
        pass


class MetricsLog(Callback):
    """metrics.csv: one row per generation, plus the time the previous callbacks took."""

    def __init__(self, run_dir: Path) -> None:
        self.log = CsvLog(run_dir / "metrics.csv")
        self._last = time.perf_counter()

    def on_start(self, exp, state) -> None:
        done = state.population.generation  # on resume: rows past the checkpoint come again
        self.log.truncate(lambda row: int(row["generation"]) < done)

    def on_generation(self, exp, event) -> None:
        event.row["time/elapsed_s"] = time.perf_counter() - self._last
        self._last = time.perf_counter()
        self.log.append([event.row])


class LineageLog(Callback):
    """lineages.csv: a row per genome when it dies; survivors' rows at the end."""

    def __init__(self, run_dir: Path) -> None:
        self.log = CsvLog(run_dir / "lineages.csv")

    def on_start(self, exp, state) -> None:
        # On resume: genomes that died after the checkpoint, and the survivors' rows, come again.
        done = state.population.generation
        self.log.truncate(lambda row: row["death"] != "" and int(row["death"]) < done)

    def on_generation(self, exp, event) -> None:
        self.log.append(lineage_rows(event.report.dead, exp.layout))

    def on_end(self, exp, state, interrupted: bool) -> None:
        self.log.append(lineage_rows(survivor_records(state.population), exp.layout))


def state_arrays(state) -> dict[str, np.ndarray]:
    arrays = prefixed(state.population.to_arrays(), "pop")
    if state.obs_stats is not None:
        arrays.update(prefixed(state.obs_stats.to_arrays(), "obs"))
    arrays.update(prefixed(state.ancestry.to_arrays(), "anc"))
    arrays.update(prefixed(state.scoring.to_arrays(), "score"))
    return arrays


def state_meta(exp, state) -> dict[str, Any]:
    from pbml_control.running.config import dump_config

    generation = state.population.generation
    goal = exp.schedule.goal_at(generation)
    return {
        "config": dump_config(exp.cfg),
        "policy": exp.policy.to_dict(),
        "layout": exp.layout.to_dict(),
        "rng": generator_state(state.rng),
        "env_steps": state.env_steps,
        "rollouts": state.rollouts,
        "schedule": {
            "name": exp.cfg.goals.schedule,
            "segment": exp.schedule.segment(generation),
            "goal": None if goal is None else np.asarray(goal).tolist(),
        },
    }


#: Subfolder of checkpoints/ with the states kept at rollout budgets (`run.keep_at_rollouts`).
KEPT = "kept"


def kept_checkpoint(run_dir: Path, budget: int) -> Path | None:
    """The kept checkpoint where ``budget`` rollouts were first reached (None if not yet)."""
    import json

    for path in list_checkpoints(run_dir / "checkpoints" / KEPT):
        if json.loads(path.read_text()).get("rollouts", -1) >= budget:
            return path
    return None


class Checkpointer(Callback):
    """Checkpoints every `every` generations, at the end and on Ctrl-C; and into
    checkpoints/kept/ (never deleted) the state where each budget of `kept_at` is reached."""

    def __init__(
        self, run_dir: Path, every: int, keep: int, kept_at: list[int] | None = None
    ) -> None:
        self.folder = run_dir / "checkpoints"
        self.every, self.keep = every, keep
        self.kept_at = list(kept_at or [])
        self._saved_at = -1
        #: The state after the last whole generation (what Ctrl-C saves).
        self.latest = None

    def on_start(self, exp, state) -> None:
        self.latest = state
        remove_stray_temps(self.folder)
        remove_stray_temps(self.folder / KEPT)
        remove_stray_temps(self.folder.parent)
        if not list_checkpoints(self.folder):  # a run killed before its first interval resumes
            self.save(exp, state)

    def save(self, exp, state) -> Path:
        generation = state.population.generation
        path = write_checkpoint(
            self.folder, generation, state_arrays(state), state_meta(exp, state), self.keep
        )
        self._saved_at = generation
        return path

    def on_generation(self, exp, event) -> None:
        before, after = self.latest.rollouts, event.state.rollouts
        if any(before < b <= after for b in self.kept_at):  # before the regular one: a kill
            state = event.state  # between the two is redone from an earlier checkpoint
            arrays, meta = state_arrays(state), state_meta(exp, state)
            write_checkpoint(self.folder / KEPT, state.population.generation, arrays, meta, 0)
        self.latest = event.state
        if self.every and event.state.population.generation % self.every == 0:
            self.save(exp, event.state)

    def on_end(self, exp, state, interrupted: bool) -> None:
        if self._saved_at != state.population.generation:
            self.save(exp, state)
