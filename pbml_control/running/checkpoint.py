"""Full-state checkpoints that never execute code on load.

A checkpoint is two files in RUN_DIR/checkpoints/: `gen_NNNNNN.npz` (arrays, loaded with
`allow_pickle=False`) and `gen_NNNNNN.json` (everything else, plus the npz's SHA-256 and a
SHA-256 of the JSON content itself). Both are written to temporary names and renamed; the JSON
goes last, so a checkpoint exists only once it is whole. Loading checks both digests, the format
version and the type of every field, and changes nothing on disk, so a truncated, tampered or
malformed checkpoint is refused and the run directory stays as it was. (Checkpoints of format 1,
written before the JSON had its digest, still load; their JSON fields are type-checked only.)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from pbml_policies.io import read_npz

from pbml_control.errors import CheckpointError

FORMAT = "pbml-control/checkpoint/2"
#: Formats that still load: 1 had no digest over the JSON content.
READABLE = ("pbml-control/checkpoint/1", FORMAT)
#: JSON fields every checkpoint has, with their type.
FIELDS: dict[str, type | tuple[type, ...]] = {
    "generation": int, "npz_sha256": str, "config": str, "rng": dict,
}  # fmt: skip
#: Optional JSON fields and their type.
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "policy": dict, "layout": dict, "env_steps": int, "rollouts": int, "schedule": dict,
}  # fmt: skip
_NAME = re.compile(r"^gen_(\d{6,})\.json$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give run files the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stray_temps(folder: Path) -> list[Path]:
    """Delete the temporary files an interrupted `atomic_write_bytes` left in `folder`.

    Called when a run (re)starts, when no other writer is active in its directory; the names
    are ours alone (`.NAME.RANDOM.tmp`), so nothing else is touched.
    """
    if not folder.is_dir():
        return []
    stray = [p for p in folder.glob(".*.tmp") if p.is_file()]
    for path in stray:
        path.unlink(missing_ok=True)
    return stray


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_checkpoint(
    folder: Path, generation: int, arrays: dict[str, np.ndarray], meta: dict[str, Any], keep: int
) -> Path:
    """Write checkpoint `generation` into `folder`; keep the newest `keep` (0: all)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    stem = folder / f"gen_{generation:06d}"
    atomic_write_bytes(stem.with_suffix(".npz"), blob)
    record = {
        "format": FORMAT,
        "generation": generation,
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
        **meta,
    }
    record["json_sha256"] = json_digest(record)
    atomic_write_text(stem.with_suffix(".json"), json.dumps(record, indent=1))
    if keep > 0:
        for old in list_checkpoints(folder)[:-keep]:
            old.with_suffix(".npz").unlink(missing_ok=True)
            old.unlink(missing_ok=True)
    return stem.with_suffix(".json")


def list_checkpoints(folder: Path) -> list[Path]:
    """Checkpoint JSON files in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory, its checkpoints/ folder or a checkpoint file -> the checkpoint's JSON."""
    path = Path(path)
    if path.suffix in (".json", ".npz"):
        if not path.with_suffix(".json").is_file():
            raise CheckpointError(f"checkpoint '{path.with_suffix('.json')}' does not exist")
        return path.with_suffix(".json")
    if not path.exists():
        raise CheckpointError(f"'{path}' does not exist (give a run directory or checkpoint)")
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    found = list_checkpoints(folder)
    if not found:
        raise CheckpointError(f"no checkpoint in '{folder}' (is '{path}' a run directory?)")
    return found[-1]


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a checkpoint; returns (arrays, meta). Raises CheckpointError."""
    json_path = resolve_checkpoint(path)
    try:
        meta = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"checkpoint '{json_path}' is unreadable or truncated: {err}"
        ) from err
    check_meta(meta, json_path)
    npz_path = json_path.with_suffix(".npz")
    try:
        blob = npz_path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"checkpoint arrays '{npz_path}' are missing: {err}") from err
    if hashlib.sha256(blob).hexdigest() != meta.get("npz_sha256"):
        raise CheckpointError(
            f"checkpoint arrays '{npz_path}' do not match their recorded SHA-256 "
            "(truncated or modified); continue from an older one with "
            "`pbml resume RUN_DIR --checkpoint RUN_DIR/checkpoints/gen_N.json`"
        )
    try:
        arrays = read_npz(blob)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"checkpoint arrays '{npz_path}' cannot be read: {err}") from err
    return arrays, meta


def json_digest(record: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint's JSON content, its own digest field left out (canonical form)."""
    body = {k: v for k, v in record.items() if k != "json_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_meta(meta: Any, path: Path) -> None:
    """Refuse a checkpoint JSON that is not ours, was edited, or has a field of the wrong type."""
    if not isinstance(meta, dict) or meta.get("format") not in READABLE:
        raise CheckpointError(f"'{path}' is not a {FORMAT} checkpoint")
    if meta["format"] == FORMAT and meta.get("json_sha256") != json_digest(meta):
        raise CheckpointError(
            f"checkpoint '{path}' does not match its recorded SHA-256 (modified or damaged); "
            "continue from an older one with `pbml resume RUN_DIR --checkpoint "
            "RUN_DIR/checkpoints/gen_N.json`"
        )
    for key, kind in {**FIELDS, **OPTIONAL}.items():
        if key not in meta:
            if key in FIELDS:
                raise CheckpointError(f"checkpoint '{path}' lacks the field '{key}'")
            continue
        value = meta[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CheckpointError(
                f"checkpoint '{path}': field '{key}' should be {_kind(kind)}, got {value!r:.60}"
            )
        if kind is int and value < 0:
            raise CheckpointError(f"checkpoint '{path}': field '{key}' is negative ({value})")


def _kind(kind) -> str:
    return {int: "an integer", str: "a string", dict: "a table"}.get(kind, str(kind))


def split_arrays(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays saved under `prefix.` (e.g. 'pop.params' -> 'params')."""
    start = f"{prefix}."
    return {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}


def prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": np.asarray(v) for k, v in arrays.items()}
