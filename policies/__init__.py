"""Modular policy networks: the numpy dense policies, torch module policies, the name registry,
flat-vector mapping and fast batched inference.

Depends on numpy and torch only, and imports torch lazily (only for torch module policies and
``torch_module``, ``get_flat``, ``set_flat``), so rollout workers that run the numpy forward never
load it.
"""

from .base import BODY_LEGS, Policy
from .dense import LinearPolicy, MLPPolicy
from .io import PolicyRecord, SavedPolicy, load_policy, policy_bytes, read_policy, save_policy
from .layout import BatchedForward
from .obs_norm import Normalizer, RunningStats
from .registry import (
    ENTRY_POINT_GROUP,
    POLICIES,
    TorchModulePolicy,
    UnknownPolicyError,
    make_policy,
    policy_from_dict,
    policy_options,
    register_policy,
    registered_policy,
    unregister_policy,
)

__all__ = [
    "BODY_LEGS",
    "ENTRY_POINT_GROUP",
    "POLICIES",
    "BatchedForward",
    "LinearPolicy",
    "MLPPolicy",
    "Normalizer",
    "Policy",
    "RunningStats",
    "SavedPolicy",
    "TorchModulePolicy",
    "UnknownPolicyError",
    "load_policy",
    "PolicyRecord",
    "make_policy",
    "policy_bytes",
    "policy_from_dict",
    "policy_options",
    "read_policy",
    "register_policy",
    "registered_policy",
    "save_policy",
    "unregister_policy",
]
