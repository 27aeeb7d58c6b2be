"""The genomes a video shows: the best genome of each lineage, from a run or a checkpoint.

A run directory's `best/` (written at the end of `pbml train`) is read when it is there; otherwise,
and for a checkpoint file, the checkpoint's population is ranked the same way
(`run_files.best_per_lineage`), so an interrupted run can be recorded too. Nothing here imports
MuJoCo: the GL backend must be chosen before that (`pbml_control.video.gl`).
"""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import CheckpointError, ConfigError, UserError
from pbml_control.evolution.genome import Population
from pbml_control.running.checkpoint import (
    load_checkpoint,
    resolve_checkpoint,
    split_arrays,
)
from pbml_control.running.config import Config, config_from_toml_text, imports_unasked
from pbml_control.running.run_files import best_is_current, best_per_lineage


@dataclass(frozen=True)
class RankedGenome:
    """One genome to show: its parameters and what its panel label says."""

    params: np.ndarray
    id: int
    lineage: int
    fitness: float
    rank: int
    #: The observation statistics that scored ``fitness`` (best/ files); None: the run's.
    obs_stats: dict[str, np.ndarray] | None = None
    #: The generation whose goal and episode seed scored ``fitness`` (best/ files); None: unknown.
    scored_in: int | None = None

    @property
    def label(self) -> str:
        """The panel's title: its place by training fitness (best first) and its lineage."""
        return f"#{self.rank + 1} lineage {self.lineage}"

    @property
    def fitness_line(self) -> str:
        return f"training fitness {self.fitness:.1f}"

    def origin(self) -> str:
        """Where the training fitness came from, in words."""
        where = "" if self.scored_in is None else f", scored in generation {self.scored_in}"
        return f"training fitness {self.fitness:.2f}{where} (that generation's goal and seed)"


@dataclass
class RunGenomes:
    """What recording needs from a run: config, policy, frozen observation statistics, genomes."""

    config: Config
    policy: dict[str, Any]
    obs_stats: dict[str, np.ndarray] | None
    #: Best genome of each lineage, best lineage first.
    genomes: list[RankedGenome]
    #: Generations done when these genomes were saved.
    generation: int
    #: The run directory (videos go to RUN_DIR/videos by default).
    run_dir: Path

    def top(self, k: int) -> list[RankedGenome]:
        """The best genomes of the top `k` lineages; UserError if the run has fewer."""
        if k < 1:
            raise UserError(f"--lineages must be >= 1, got {k}")
        if k > len(self.genomes):
            raise UserError(
                f"--lineages {k}: the run has only {len(self.genomes)} lineage(s) with an "
                "evaluated genome"
            )
        return self.genomes[:k]


def load_run_genomes(path: str | Path) -> RunGenomes:
    """Genomes from a run directory (its best/, else its latest checkpoint) or a checkpoint."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"'{path}' does not exist (give a run directory or a checkpoint file)")
    if best_is_current(path):
        return _from_best(path)
    return _from_checkpoint(path)


def _read_config(text: str, where: Path) -> Config:
    import tomllib

    try:
        cfg = config_from_toml_text(text)
    except (ConfigError, tomllib.TOMLDecodeError) as err:
        raise CheckpointError(f"'{where}' holds no valid config: {err}") from err
    module = imports_unasked(cfg)
    if module:
        raise CheckpointError(
            f"'{where}' names task.id '{cfg.task.id}', which would import the module "
            f"'{module}'; a run is never loaded by importing modules it names"
        )
    return cfg


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    from pbml_policies.io import read_npz

    try:
        return read_npz(path.read_bytes())
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"'{path}' cannot be read: {err}") from err


def _from_best(run_dir: Path) -> RunGenomes:
    best = run_dir / "best"
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise UserError(f"'{run_dir}' has best/ but no config.toml; is it a run directory?")
    try:
        index = json.loads((best / "index.json").read_text())
        entries = sorted(index["genomes"], key=lambda e: e["rank"])
        genomes = [_best_entry(best, e) for e in entries]
        policy, generation = index["policy"], int(index["generation"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"'{best / 'index.json'}' is unreadable: {err}") from err
    stats_path = best / "obs_stats.npz"  # written by older versions only
    obs_stats = _load_npz(stats_path) if stats_path.is_file() else None
    config = _read_config(config_path.read_text(), config_path)
    return RunGenomes(config, policy, obs_stats, genomes, generation, run_dir)


def _best_entry(best: Path, entry: dict[str, Any]) -> RankedGenome:
    from pbml_policies import read_policy

    path = best / entry["file"]
    try:
        with warnings.catch_warnings():  # an older best/ file: the run's latest statistics
            warnings.simplefilter("ignore")
            saved = read_policy(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"'{path}' cannot be read: {err}") from err
    return RankedGenome(
        params=saved.flat,
        id=int(entry["id"]),
        lineage=int(entry["lineage"]),
        fitness=float(entry["fitness"]),
        rank=int(entry["rank"]),
        obs_stats=None if saved.obs_stats is None else saved.obs_stats.to_arrays(),
        scored_in=None
        if entry.get("generation_scored") is None
        else int(entry["generation_scored"]),
    )


def _from_checkpoint(path: Path) -> RunGenomes:
    json_path = resolve_checkpoint(path)
    arrays, meta = load_checkpoint(json_path)
    try:
        population = Population.from_arrays(split_arrays(arrays, "pop"))
        policy = meta["policy"]
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"checkpoint '{json_path}' is inconsistent: {err}") from err
    genomes = [
        RankedGenome(
            params=population.params[i],
            id=int(population.ids[i]),
            lineage=int(population.lineage_ids[i]),
            fitness=float(population.fitness[i]),
            rank=rank,
        )
        for rank, i in enumerate(best_per_lineage(population))
    ]
    if not genomes:
        raise UserError(f"checkpoint '{json_path}' holds no evaluated genome; use a later one")
    obs = split_arrays(arrays, "obs")
    config = _read_config(meta.get("config", ""), json_path)
    folder = json_path.parent
    run_dir = folder.parent if folder.name == "checkpoints" else folder
    return RunGenomes(config, policy, obs or None, genomes, population.generation, run_dir)
