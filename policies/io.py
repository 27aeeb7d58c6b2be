"""Save a policy with its weights and observation statistics, and load it back without pickle.

One ``.npz`` file: ``spec`` (the policy's ``to_dict()`` as a JSON string), ``flat`` (float32
weights), when given ``obs/count``, ``obs/mean``, ``obs/m2``, and ``meta`` (a JSON string saying
where the weights came from: a run's ``best/`` files name the task, goal, seeds, fitness,
generation, lineage and genome). Weights are meaningless without the normalisation they were
evolved under, so the two travel together. Loading uses ``allow_pickle=False``, so a file can
never execute code; writing is atomic (temporary file, then ``os.replace``), so an interrupted
save leaves the previous file intact.

``best/`` files written before the policy travelled inside them (only ``params``, the policy in
``best/index.json`` and the run's latest statistics in ``best/obs_stats.npz``) still load, with a
warning: those statistics are one generation newer than the ones that scored the fitness.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .base import Policy
from .obs_norm import RunningStats
from .registry import policy_from_dict

_OBS_PREFIX = "obs/"
_RESERVED = {"spec", "flat", "meta"}


@dataclass(frozen=True)
class SavedPolicy:
    """What one policy file holds."""

    policy: Policy
    #: (num_params,) float32 weights.
    flat: np.ndarray
    #: The statistics the weights were evaluated with, or None (no normalisation).
    obs_stats: RunningStats | None
    #: Where the weights came from (``{}`` when the file says nothing).
    meta: dict[str, Any] = field(default_factory=dict)


def save_policy(
    path: str | os.PathLike[str],
    policy: Policy,
    flat: np.ndarray,
    obs_stats: RunningStats | None = None,
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write ``path`` atomically; ``meta`` must be JSON-able, ``extra`` arrays ride along."""
    data = policy_bytes(policy, flat, obs_stats, meta, extra)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def policy_bytes(
    policy: Policy,
    flat: np.ndarray,
    obs_stats: RunningStats | None = None,
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> bytes:
    """The content of a policy file, for writers that do their own atomic write."""
    flat = np.asarray(flat, dtype=np.float32)
    if flat.shape != (policy.num_params,):
        raise ValueError(f"flat must have shape ({policy.num_params},), got {flat.shape}")
    arrays = {"spec": np.array(json.dumps(policy.to_dict())), "flat": flat}
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(dict(meta)))
    if obs_stats is not None:
        arrays.update({_OBS_PREFIX + k: v for k, v in obs_stats.to_arrays().items()})
    for key, value in (extra or {}).items():
        if key in _RESERVED or key.startswith(_OBS_PREFIX):
            raise ValueError(f"extra array name {key!r} is reserved")
        arrays[key] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


#: Most arrays one saved file may hold.
MAX_MEMBERS = 1024


def read_npz(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of an npz file's bytes, each member's size checked before it is inflated.

    `np.savez` stores members uncompressed, so every member of a file this toolkit wrote is
    smaller than the file; a member that claims more (a compressed "zip bomb": 343 KB inflating
    to 256 MiB) is refused from the zip directory, before any byte of it is read. ValueError
    (zipfile.BadZipFile for a file that is not a zip) says which."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{len(members)} arrays, more than {MAX_MEMBERS}")
        for info in members:
            if info.file_size > len(blob):
                raise ValueError(
                    f"member '{info.filename}' would inflate to {info.file_size:,} bytes from a "
                    f"file of {len(blob):,}; files written here are never compressed"
                )
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def read_policy(path: str | os.PathLike[str]) -> SavedPolicy:
    """Everything a policy file holds (also a ``best/`` file of an older version)."""
    try:
        arrays = read_npz(Path(path).read_bytes())
    except zipfile.BadZipFile as err:
        raise ValueError(f"'{path}' is not a policy file (not an npz archive): {err}") from err
    if "spec" not in arrays and "params" in arrays:
        return _read_legacy_best(Path(path), arrays)
    if "spec" not in arrays or "flat" not in arrays:
        raise ValueError(f"{path}: not a policy file (it needs 'spec' and 'flat' arrays)")
    policy = policy_from_dict(json.loads(str(arrays["spec"])))
    flat = arrays["flat"].astype(np.float32)
    if flat.shape != (policy.num_params,):
        raise ValueError(f"{path}: flat has shape {flat.shape}, spec needs ({policy.num_params},)")
    obs = {k[len(_OBS_PREFIX) :]: v for k, v in arrays.items() if k.startswith(_OBS_PREFIX)}
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    return SavedPolicy(policy, flat, RunningStats.from_arrays(obs) if obs else None, meta)


@dataclass(frozen=True)
class PolicyRecord:
    """A policy file as a record: what a controller needs and what reproduces its fitness.

    It unpacks and indexes like the tuple earlier versions returned:
    ``policy, flat, stats = load_policy(p)``, ``load_policy(p)[2]``.
    The run fields are None for a file saved outside a run (``save_policy`` without ``meta``).
    """

    policy: Policy
    #: (num_params,) float32 weights.
    flat: np.ndarray
    #: The observation statistics that scored ``fitness`` (None: no normalisation).
    obs_stats: RunningStats | None
    #: The task id, e.g. 'pbml/HalfCheetahVel-v0'.
    task: str | None
    #: The goal the fitness was scored at (a list; None for a task without goals).
    goal: list[float] | None
    #: The episode seeds of the scoring evaluation (reset(seed=...) of each episode).
    episode_seeds: list[int] | None
    #: Steps per episode of the scoring evaluation.
    episode_steps: int | None
    #: The reported fitness: the mean return of those episodes.
    fitness: float | None
    lineage: int | None
    #: The generation that scored the fitness.
    generation: int | None
    #: Everything the file's meta says.
    meta: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter((self.policy, self.flat, self.obs_stats))

    def __getitem__(self, index):  # record[2] as the old tuple's
        return (self.policy, self.flat, self.obs_stats)[index]

    def __len__(self) -> int:
        return 3


def load_policy(path: str | os.PathLike[str]) -> PolicyRecord:
    """A policy file saved by ``save_policy`` (or a run's best/ file) as a :class:`PolicyRecord`:
    policy, weights and statistics, and the task, goal, episode seeds, fitness, lineage and
    generation that reproduce its fitness. Unpacks as ``(policy, flat, obs_stats)``."""
    saved = read_policy(path)
    meta = saved.meta
    task = meta.get("task")
    task_id = task.get("id") if isinstance(task, dict) else task
    goal = meta.get("goal")
    return PolicyRecord(
        saved.policy, saved.flat, saved.obs_stats, task_id,
        None if goal is None else [float(v) for v in np.atleast_1d(goal)],
        meta.get("episode_seeds"),
        task.get("episode_steps") if isinstance(task, dict) else None,
        meta.get("fitness"), meta.get("lineage"), meta.get("generation"), meta,
    )  # fmt: skip


def _read_legacy_best(path: Path, arrays: dict[str, np.ndarray]) -> SavedPolicy:
    """A best/ genome from before best/ files held their policy: rebuilt from its siblings."""
    index_path = path.parent / "index.json"
    if not index_path.is_file():
        raise ValueError(f"{path}: an old best/ file without its best/index.json")
    index = json.loads(index_path.read_text())
    policy = policy_from_dict(index["policy"])
    stats_path = path.parent / "obs_stats.npz"
    stats = None
    if stats_path.is_file():
        with np.load(stats_path, allow_pickle=False) as data:
            stats = RunningStats.from_arrays({key: data[key] for key in data.files})
        warnings.warn(
            f"{path} was written by an older version: its observation statistics are the run's "
            "latest, one generation newer than those that scored its fitness; run `pbml resume "
            "RUN_DIR --generations N` (N > the run's generations) to rewrite best/",
            stacklevel=3,
        )
    meta = {
        "task": {"id": index.get("task")},
        "genome": int(arrays["id"]),
        "lineage": int(arrays["lineage_id"]),
        "fitness": float(arrays["fitness"]),
        "run_generation": index.get("generation"),
        "obs_stats": "latest" if stats is not None else None,
    }
    flat = arrays["params"].astype(np.float32)
    return SavedPolicy(policy, flat, stats, meta)
