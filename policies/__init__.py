"""Modular policy networks: torch definitions, flat-vector mapping, fast batched numpy inference.

Depends on numpy and torch only, and imports torch lazily (only for ``torch_module``,
``get_flat``, ``set_flat``), so rollout workers that run the numpy forward never load it.
"""

from .base import BODY_LEGS, Policy
from .dense import LinearPolicy, MLPPolicy
from .io import SavedPolicy, load_policy, policy_bytes, read_policy, save_policy
from .layout import BatchedForward
from .obs_norm import Normalizer, RunningStats
from .registry import POLICIES, make_policy, policy_from_dict

__all__ = [
    "BODY_LEGS",
    "POLICIES",
    "BatchedForward",
    "LinearPolicy",
    "MLPPolicy",
    "Normalizer",
    "Policy",
    "RunningStats",
    "SavedPolicy",
    "load_policy",
    "make_policy",
    "policy_bytes",
    "policy_from_dict",
    "read_policy",
    "save_policy",
]
