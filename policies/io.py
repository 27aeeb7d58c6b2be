"""Save a policy with its weights and observation statistics, and load it back without pickle.

One ``.npz`` file: ``spec`` (the policy's ``to_dict()`` as a JSON string), ``flat`` (float32
weights) and, when given, ``obs/count``, ``obs/mean``, ``obs/m2``. Weights are meaningless without
the normalisation they were evolved under, so the two travel together. Loading uses
``allow_pickle=False``, so a file can never execute code; writing is atomic (temporary file, then
``os.replace``), so an interrupted save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .base import Policy
from .obs_norm import RunningStats
from .registry import policy_from_dict

_OBS_PREFIX = "obs/"


def save_policy(
    path: str | os.PathLike[str],
    policy: Policy,
    flat: np.ndarray,
    obs_stats: RunningStats | None = None,
) -> None:
    flat = np.asarray(flat, dtype=np.float32)
    if flat.shape != (policy.num_params,):
        raise ValueError(f"flat must have shape ({policy.num_params},), got {flat.shape}")
    arrays = {"spec": np.array(json.dumps(policy.to_dict())), "flat": flat}
    if obs_stats is not None:
        arrays.update({_OBS_PREFIX + k: v for k, v in obs_stats.to_arrays().items()})
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_policy(path: str | os.PathLike[str]) -> tuple[Policy, np.ndarray, RunningStats | None]:
    """``(policy, flat, obs_stats or None)`` as saved by ``save_policy``."""
    with np.load(path, allow_pickle=False) as data:
        policy = policy_from_dict(json.loads(str(data["spec"])))
        flat = data["flat"].astype(np.float32)
        obs = {k[len(_OBS_PREFIX) :]: data[k] for k in data.files if k.startswith(_OBS_PREFIX)}
    if flat.shape != (policy.num_params,):
        raise ValueError(f"{path}: flat has shape {flat.shape}, spec needs ({policy.num_params},)")
    return policy, flat, RunningStats.from_arrays(obs) if obs else None
