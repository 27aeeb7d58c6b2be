"""The policy names: registration, lookup, and the package entry points behind them.

A name maps to a ``Policy`` subclass (a frozen dataclass whose fields are its options) or to a
torch factory ``(obs_dim, act_dim, **options) -> nn.Module`` (wrapped in ``TorchModulePolicy``).
Packages add policies through the entry point group ``pbml_control.policies``; it is read only
when a name is not registered yet, and only the entry point of that name is loaded. So a saved run
that names a user policy rebuilds it after a fresh start (resume, transfer, record, and in
forkserver/spawn workers, which look names up the same way), while a checkpoint can never make
this package import a module by itself: it holds a name, never an import path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from .base import Policy
from .dense import LinearPolicy, MLPPolicy
from .torch_mlp import torch_mlp

#: Entry point group a package declares its policies in (name = "pkg.module:object").
ENTRY_POINT_GROUP = "pbml_control.policies"
#: Names that checkpoints of this package rely on; they cannot be replaced.
BUILTIN = ("mlp", "linear", "torch_mlp")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")

#: Registered policies by name: a ``Policy`` subclass or a torch module factory.
POLICIES: dict[str, Any] = {"mlp": MLPPolicy, "linear": LinearPolicy, "torch_mlp": torch_mlp}

T = TypeVar("T")


class UnknownPolicyError(ValueError):
    """A policy name that is neither registered nor declared by an installed package."""


def register_policy(
    name: str, policy: T | None = None, *, replace: bool = False
) -> T | Callable[[T], T]:
    """Register ``policy`` (a ``Policy`` subclass or a torch module factory) as ``name``.

    Without ``policy`` it is a decorator: ``@register_policy("mine")``. Registering the same
    object twice is harmless; another object under a taken name needs ``replace=True`` (never for
    the built-in names, which existing runs rely on).
    """
    if policy is None:
        return lambda obj: register_policy(name, obj, replace=replace)  # type: ignore[return-value]
    _check_name(name)
    is_spec = is_policy_class(policy)
    own = policy.__dict__.get("name", "") if is_spec else ""  # an inherited name is not its own
    if own and own != name:
        raise ValueError(
            f"{policy.__name__}.name is {own!r}; register it under that name or set name = {name!r}"
        )
    if not is_spec and not callable(policy):
        raise ValueError(
            f"policy {name!r}: register a Policy subclass or a function or nn.Module class "
            f"(obs_dim, act_dim, **options) -> torch.nn.Module, got {policy!r}"
        )
    current = POLICIES.get(name)
    if current is not None and current is not policy:
        if name in BUILTIN or not replace:
            why = "is built in" if name in BUILTIN else "is taken (pass replace=True)"
            raise ValueError(f"policy name {name!r} {why}")
    if is_spec:
        policy.name = name  # type: ignore[union-attr]  # to_dict() writes the registered name
    POLICIES[name] = policy
    return policy


def is_policy_class(obj: Any) -> bool:
    """A ``Policy`` subclass (options = its fields), as opposed to a torch module factory."""
    return isinstance(obj, type) and issubclass(obj, Policy)


def unregister_policy(name: str) -> None:
    """Remove a user policy (tests, notebooks); built-in names stay."""
    if name in BUILTIN:
        raise ValueError(f"policy {name!r} is built in and cannot be removed")
    POLICIES.pop(name, None)


def registered_policy(name: str) -> Any:
    """The class or factory registered as ``name``, loading its package's entry point if needed."""
    if name not in POLICIES:
        _load_entry_point(name)
    if name not in POLICIES:
        known = sorted(set(POLICIES) | set(entry_point_names()))
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownPolicyError(
            f"unknown policy {name!r} ({hint}known: {', '.join(known)}, the names installed "
            f"packages declare included); register it with "
            f"pbml_policies.register_policy({name!r}, ...) before use, or declare it in your "
            f'package\'s pyproject.toml: [project.entry-points."{ENTRY_POINT_GROUP}"] '
            f'{name} = "yourpkg.module:YourPolicy" and pip install the package'
        )
    return POLICIES[name]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"policy name must be letters, digits, '.', '_' or '-' (no ':' or '/'), got {name!r}"
        )


def entry_point_names() -> list[str]:
    """Names that installed packages declare in ``ENTRY_POINT_GROUP`` (nothing is imported)."""
    from importlib.metadata import entry_points

    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


def _load_entry_point(name: str) -> None:
    """Load the installed entry point called ``name`` in ``ENTRY_POINT_GROUP``, if one exists.

    Its object is registered under that name; an entry point that names a module is imported
    and expected to register the policy itself (e.g. with the decorator).
    """
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            obj = point.load()
        except Exception as err:
            raise UnknownPolicyError(
                f"policy {name!r}: loading entry point {point.value!r} of group "
                f"{ENTRY_POINT_GROUP!r} failed: {type(err).__name__}: {err}"
            ) from err
        if not isinstance(obj, ModuleType) and POLICIES.get(name) is not obj:
            register_policy(name, obj)
        if name in POLICIES:
            return
