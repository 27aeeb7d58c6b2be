"""Policies by name, as configs and checkpoints refer to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .base import Policy
from .dense import LinearPolicy, MLPPolicy

POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in (MLPPolicy, LinearPolicy)}


def make_policy(name: str, obs_dim: int, act_dim: int, **kwargs: Any) -> Policy:
    """Build a registered policy; an unknown name or option is a ValueError naming valid ones."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; known policies: {', '.join(sorted(POLICIES))}")
    cls = POLICIES[name]
    options = [f.name for f in fields(cls) if f.name not in ("obs_dim", "act_dim")]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ValueError(
            f"policy {name!r} has no option(s) {unknown}; its options: {', '.join(options)}"
        )
    return cls(obs_dim=obs_dim, act_dim=act_dim, **kwargs)


def policy_from_dict(description: Mapping[str, Any]) -> Policy:
    """Inverse of ``Policy.to_dict`` (e.g. a checkpoint's JSON)."""
    kwargs = dict(description)
    if "name" not in kwargs:
        raise ValueError(f"policy description lacks 'name': {description!r}")
    return make_policy(**kwargs)
