"""Building policies by name, as configs (``policy.name`` + ``policy.kwargs``) and checkpoints
(``to_dict()``) describe them. The names themselves live in ``names``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .base import Policy
from .names import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    POLICIES,
    UnknownPolicyError,
    is_policy_class,
    register_policy,
    registered_policy,
    unregister_policy,
)
from .torch_policy import TorchModulePolicy

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "POLICIES",
    "TorchModulePolicy",
    "UnknownPolicyError",
    "make_policy",
    "policy_from_dict",
    "policy_options",
    "register_policy",
    "registered_policy",
    "unregister_policy",
]


def make_policy(name: str, obs_dim: int, act_dim: int, **kwargs: Any) -> Policy | TorchModulePolicy:
    """Build a registered policy; an unknown name or option is a ValueError naming valid ones."""
    entry = registered_policy(name)
    options, open_ended = policy_options(entry)
    unknown = sorted(set(kwargs) - set(options))
    if unknown and not open_ended:
        raise ValueError(
            f"policy {name!r} has no option(s) {unknown}; its options: {', '.join(options)}"
        )
    if is_policy_class(entry):
        return entry(obs_dim=obs_dim, act_dim=act_dim, **kwargs)
    policy = TorchModulePolicy(name, obs_dim, act_dim, kwargs)
    _ = policy.module_names  # builds and checks the module now, not in a worker
    return policy


def policy_options(entry: Any) -> tuple[list[str], bool]:
    """Option names of a registered class or factory, and whether it takes any ``**options``."""
    if is_policy_class(entry):
        return [f.name for f in fields(entry) if f.name not in ("obs_dim", "act_dim")], False
    params = list(inspect.signature(entry).parameters.values())[2:]
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def policy_from_dict(description: Mapping[str, Any]) -> Policy | TorchModulePolicy:
    """Inverse of ``to_dict`` (e.g. a checkpoint's JSON): looks the name up, never imports."""
    kwargs = dict(description)
    if "name" not in kwargs:
        raise ValueError(f"policy description lacks 'name': {description!r}")
    return make_policy(**kwargs)
