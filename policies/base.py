"""The ``Policy`` spec: a small, picklable description of a modular dense network.

A ``Policy`` holds no weights. Genomes are flat float32 vectors and the policy says how to read
them: ``num_params``, named module slices (what per-module mutation acts on), an initialiser, the
torch definition, and the batched numpy forward that rollout workers run. Because it is a frozen
dataclass of a few ints and strings, workers receive it by pickle or rebuild it from
``to_dict()``, and a checkpoint stores it as JSON.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .flat import TorchFlat
from .layout import ACTIVATIONS, BatchedForward, Groups, Layout, layer_groups, leg_groups

if TYPE_CHECKING:
    import torch

Legs = tuple[tuple[str, tuple[int, ...]], ...]

# Built-in leg groupings by body. Ant-v5's actions are (hip, ankle) pairs per leg, in the order of
# Gymnasium's ant_v5.py action table: back right (hip_4), front left (hip_1), front right (hip_2),
# back left (hip_3).
BODY_LEGS: dict[str, Legs] = {
    "ant": (
        ("leg_back_right", (0, 1)),
        ("leg_front_left", (2, 3)),
        ("leg_front_right", (4, 5)),
        ("leg_back_left", (6, 7)),
    ),
}
_BODY_BY_ACT_DIM = {8: "ant"}
MODULE_MODES = ("layers", "legs")
_OUTPUT_GAIN = 0.01  # small last layer: initial actions near 0 (Andrychowicz et al. 2021)


@dataclass(frozen=True)
class Policy(TorchFlat, ABC):
    """Base spec of a dense policy ``obs -> hidden... -> tanh actions`` with named modules.

    ``modules="layers"`` (default) makes one module per dense layer. ``modules="legs"`` makes a
    ``shared`` module (all hidden layers) plus one module per leg holding that leg's output units
    and the weights feeding them. ``legs`` is a body name (``"ant"``), an explicit mapping
    ``{module_name: [action indices]}``, or None to pick the body from ``act_dim`` (8 -> Ant).
    Subclasses define the hidden layers.
    """

    name: ClassVar[str] = ""
    obs_dim: int
    act_dim: int
    modules: str = "layers"
    legs: Legs | Mapping[str, Sequence[int]] | str | None = None

    def __post_init__(self) -> None:
        for attr in ("obs_dim", "act_dim"):
            value = getattr(self, attr)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{attr} must be a positive int, got {value!r}")
            object.__setattr__(self, attr, int(value))  # numpy ints would not survive JSON
        if self.modules not in MODULE_MODES:
            raise ValueError(f"modules must be one of {MODULE_MODES}, got {self.modules!r}")
        if self.modules == "layers" and self.legs is not None:
            raise ValueError("legs only applies with modules='legs'")
        if self.modules == "legs":
            object.__setattr__(self, "legs", _resolve_legs(self.legs, self.act_dim))

    # --- what subclasses define -------------------------------------------------------------
    @property
    @abstractmethod
    def hidden_dims(self) -> tuple[int, ...]:
        """Widths of the hidden layers, input to output; empty for a linear policy."""

    @property
    def activation(self) -> str:
        """Hidden-layer activation; the output layer is always tanh. A subclass may make this a
        dataclass field (``MLPPolicy`` does), which shadows the property."""
        return "tanh"

    # --- layout ------------------------------------------------------------------------------
    @cached_property
    def layout(self) -> Layout:
        dims = (self.obs_dim, *self.hidden_dims, self.act_dim)
        if self.modules == "layers":
            return Layout(dims, layer_groups(dims))
        groups: Groups = leg_groups(dims, self.legs)
        return Layout(dims, groups)

    @property
    def num_params(self) -> int:
        return self.layout.num_params

    @property
    def module_names(self) -> tuple[str, ...]:
        return self.layout.names

    @property
    def module_sizes(self) -> tuple[int, ...]:
        return self.layout.sizes

    @property
    def module_slices(self) -> tuple[slice, ...]:
        """Contiguous slices of the genome, one per module, partitioning ``[0, num_params)``."""
        return self.layout.slices

    # --- description -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able ``{"name": ..., **fields}``; ``policy_from_dict`` rebuilds an equal spec."""
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> Policy:
        kwargs = dict(description)
        name = kwargs.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"description is for policy {name!r}, not {cls.name!r}")
        return cls(**kwargs)

    # --- weights -----------------------------------------------------------------------------
    def init_flat(self, rng: np.random.Generator) -> np.ndarray:
        """A ``(D,)`` float32 genome: orthogonal weights, zero biases, output layer x0.01."""
        dims = self.layout.dims
        gain = np.sqrt(2.0) if self.activation == "relu" else 1.0
        layers = []
        for i in range(self.layout.num_layers):
            layer_gain = _OUTPUT_GAIN if i == self.layout.num_layers - 1 else gain
            weight = _orthogonal(rng, dims[i + 1], dims[i], layer_gain)
            layers.append((weight, np.zeros(dims[i + 1], dtype=np.float32)))
        return self.layout.pack(layers)

    def batched(self, params: np.ndarray) -> BatchedForward:
        """Forward for K genomes: ``params (K, D)`` -> callable ``obs (K, obs) -> act (K, act)``.

        Weights are unpacked once here; row k's output is bit-identical whatever else is in the
        batch, so rollouts do not depend on how genomes are grouped across workers.
        """
        return BatchedForward(self.layout, params, self.activation)

    def torch_module(self, flat: np.ndarray | None = None) -> torch.nn.Module:
        """The torch definition; children named as ``module_names``. Torch's init if no flat."""
        from .torch_net import ModularNet

        module = ModularNet(self.layout, self.activation)
        if flat is not None:
            self.set_flat(module, flat)
        return module


def _resolve_legs(legs: Any, act_dim: int) -> Legs:
    """Normalise ``legs`` to ``((name, (indices...)), ...)`` and check it partitions actions."""
    if legs is None:
        if act_dim not in _BODY_BY_ACT_DIM:
            raise ValueError(
                f"modules='legs': no built-in leg grouping for act_dim={act_dim} (built-in: "
                f"{_builtin_bodies()}); pass legs={{'front': [..], 'back': [..]}} with action "
                "indices"
            )
        legs = _BODY_BY_ACT_DIM[act_dim]
    if isinstance(legs, str):
        if legs not in BODY_LEGS:
            raise ValueError(f"unknown body {legs!r} for legs; known: {sorted(BODY_LEGS)}")
        legs = BODY_LEGS[legs]
    items = legs.items() if isinstance(legs, Mapping) else legs
    resolved = tuple((str(name), tuple(int(i) for i in idx)) for name, idx in items)
    covered = sorted(i for _, idx in resolved for i in idx)
    if covered != list(range(act_dim)):
        raise ValueError(
            f"legs must use every action index 0..{act_dim - 1} exactly once, got {covered}"
        )
    if any(name in ("shared", "") for name, _ in resolved):
        raise ValueError("leg module names must be non-empty and not 'shared'")
    return resolved


def _builtin_bodies() -> str:
    return ", ".join(f"{body} (act_dim {n})" for n, body in _BODY_BY_ACT_DIM.items())


def _orthogonal(rng: np.random.Generator, rows: int, cols: int, gain: float) -> np.ndarray:
    """Orthogonal ``(rows, cols)`` matrix (Saxe et al. 2014) from ``rng``, scaled by ``gain``."""
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    matrix = q if rows >= cols else q.T
    return (gain * matrix).astype(np.float32)


def _jsonable(value: Any) -> Any:
    """Tuples to lists, leg pairs to a dict, numpy ints to ints: what ``json.dumps`` accepts."""
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value)
    ):
        return {name: list(idx) for name, idx in value}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
