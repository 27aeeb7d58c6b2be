"""The run directory and the files the trainer writes into it.

RUN_DIR/
  config.toml     the resolved config
  metrics.csv     one row per generation
  lineages.csv    one row per genome: id, parent, lineage, birth and death generation, fitness,
                  module sigmas and gates (survivors get theirs at the end, death left empty)
  checkpoints/    full-state checkpoints (pbml_control.running.checkpoint)
  lineage_shares.csv  share of the top lineages per generation (for the Muller plot)
  best/           the best genome of each surviving lineage, at the end: one self-describing
                  policy file each (pbml_control.running.best), and index.json
  plots/          PNGs (`pbml plot`, and the end of `pbml train`)
  videos/         `pbml record` output
  transfers/      `pbml transfer` output: adaptation.csv and its plot, one folder per transfer
On resume, rows written after the checkpoint are dropped (rewritten atomically) and then produced
again, identically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import UserError
from pbml_control.evolution.directions import direction_records
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.running.checkpoint import atomic_write_text, list_checkpoints

#: The file that marks a folder as a run directory this tool created (`--overwrite` removes
#: only such folders).
MARKER = ".pbml-run"


def claim_folder(path: Path, overwrite: bool, marker: str, creator: str, refusal: str) -> None:
    """Make way for new output at ``path``: nothing to do if it is missing or empty; otherwise
    ``refusal`` unless ``overwrite``, and even then the folder is removed only if it holds
    ``marker``, a file only ``creator`` writes there (never somebody else's folder)."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--out '{path}' is a file, not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not overwrite:
        raise UserError(refusal)
    if not (path / marker).is_file():
        raise UserError(
            f"'{path}' was not created by {creator} (no {marker}); not deleting it: remove it "
            "yourself or choose another --out"
        )
    shutil.rmtree(path)


def create_parents(path: Path, option: str = "--out") -> None:
    """Create the missing parent folders of an output path: the one rule of every command that
    writes a folder (train, record, transfer, experiment, study); a parent that is a file is a
    one-line UserError."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(
            f"cannot create the folders above {option} '{path}': part of that path is a file"
        ) from None


def prepare_run_dir(path: Path, overwrite: bool) -> Path:
    """Create a fresh run directory (and its missing parents); refuse an existing non-empty one
    unless `overwrite`, and even then remove it only if this tool created it (its marker file is
    there)."""
    create_parents(path)
    refusal = (
        f"run directory '{path}' already exists; pass --overwrite to replace it, "
        f"or `pbml resume {path}` to continue it"
    )
    claim_folder(path, overwrite, MARKER, "`pbml train`", refusal)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("a pbml-control run directory: `--overwrite` may replace it\n")
    return path


class CsvLog:
    """An append-only CSV whose header is fixed by its first row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fields: list[str] | None = None
        if path.is_file():
            with path.open(newline="") as handle:
                self._fields = next(csv.reader(handle), None)

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        new = self._fields is None
        if new:
            self._fields = list(rows[0])
        extra = [k for row in rows for k in row if k not in self._fields]
        if extra:  # a column seen for the first time (e.g. reward parts after failed rollouts)
            self._widen(list(dict.fromkeys(extra)))
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, self._fields, restval="")
            if new:
                writer.writeheader()
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())

    def _widen(self, extra: list[str]) -> None:
        """Add columns: rewrite the file (atomically) with the wider header."""
        old = read_csv(self.path) if self.path.is_file() else []
        self._fields = [*self._fields, *extra]
        if self.path.is_file():
            self._rewrite(old)

    def truncate(self, keep) -> None:
        """Keep only the rows for which `keep(row)` is true (atomic rewrite)."""
        if not self.path.is_file():
            return
        with self.path.open(newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if _whole(r) and _safe(keep, r)]
        self._rewrite(rows)

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        out = io.StringIO()
        writer = csv.DictWriter(out, self._fields or [], restval="", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, out.getvalue())


def _whole(row: dict[str, Any]) -> bool:
    """False for a row cut short by a crash mid-write (missing or surplus fields)."""
    return None not in row and None not in row.values()


def _safe(keep, row: dict[str, Any]) -> bool:
    try:
        return bool(keep(row))
    except (TypeError, ValueError):  # a damaged value: drop the row, it is written again
        return False


def read_csv(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def lineage_rows(
    records: dict[str, np.ndarray], layout: ModuleLayout, death: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Rows for lineages.csv from a TellReport.dead-like dict of arrays."""
    ids = records["id"]
    deaths = records.get("death_gen") if death is None else death
    rows = []
    for i in range(len(ids)):
        row = {
            "id": int(ids[i]),
            "parent": int(records["parent_id"][i]),
            "lineage": int(records["lineage_id"][i]),
            "birth": int(records["birth_gen"][i]),
            "death": "" if deaths is None else int(deaths[i]),
            "fitness": float(records["fitness"][i]),
        }
        for m, name in enumerate(layout.names):
            row[f"sigma/{name}"] = float(records["sigma"][i, m])
            row[f"gate/{name}"] = float(records["gate"][i, m])
        if "dir_scale" in records:  # genomes with mutation directions: mean scale per module
            for m, name in enumerate(layout.names):
                row[f"dir_scale/{name}"] = float(records["dir_scale"][i, m])
        rows.append(row)
    return rows


def survivor_records(pop: Population) -> dict[str, np.ndarray]:
    return {
        "id": pop.ids,
        "parent_id": pop.parent_ids,
        "lineage_id": pop.lineage_ids,
        "birth_gen": pop.birth_gen,
        "fitness": pop.fitness,
        "sigma": pop.sigma(),
        "gate": pop.gate(),
        **direction_records(pop, np.ones(pop.size, dtype=bool)),
    }


def best_per_lineage(pop: Population) -> list[int]:
    """Index of the fittest evaluated genome of each lineage, lineages by descending fitness."""
    best: dict[int, int] = {}
    for i in np.flatnonzero(np.isfinite(pop.fitness)):
        lineage = int(pop.lineage_ids[i])
        if lineage not in best or pop.fitness[i] > pop.fitness[best[lineage]]:
            best[lineage] = int(i)
    return sorted(best.values(), key=lambda i: -pop.fitness[i])


def best_generation(run_dir: Path) -> int | None:
    """The generation best/ was written at (its index.json), or None when missing or unreadable."""
    try:
        return int(json.loads((run_dir / "best" / "index.json").read_text())["generation"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def best_is_current(run_dir: Path) -> bool:
    """Whether best/ is the run's newest source of genomes. It is written at the end of a run; a
    resume that was interrupted leaves it behind the latest checkpoint, whose population is then
    newer. An unreadable index counts as current, so that best/'s reader reports the damage."""
    if not (run_dir / "best" / "index.json").is_file():
        return False
    found = list_checkpoints(run_dir / "checkpoints")
    written = best_generation(run_dir)
    return not found or written is None or written >= int(found[-1].stem.split("_")[1])
