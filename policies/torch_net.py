"""The torch definition of a modular dense policy.

Only imported when a torch module is asked for (``Policy.torch_module``, ``get_flat``,
``set_flat``): rollout workers run the numpy forward and never pay torch's import time or memory.

Each genome module is a named child: an ``nn.Linear`` when the module is one segment, an
``nn.ModuleList`` of them otherwise (e.g. ``shared`` spanning all hidden layers). Children are
registered in module order and a ``Linear`` registers ``weight`` before ``bias``, so
``parameters()`` walks the flat layout in order and ``parameters_to_vector`` is ``get_flat``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .layout import Layout

TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
}


class ModularNet(nn.Module):
    """Dense stack whose layers may be split row-wise across named modules (e.g. legs)."""

    def __init__(self, layout: Layout, activation: str) -> None:
        super().__init__()
        self.dims = layout.dims
        self._activation = TORCH_ACTIVATIONS[activation]
        pieces: list[list[tuple[tuple[int, ...], nn.Linear]]] = [[] for _ in layout.dims[1:]]
        for name, segs in layout.groups:
            linears = [nn.Linear(seg.in_dim, len(seg.rows)) for seg in segs]
            self.add_module(name, linears[0] if len(linears) == 1 else nn.ModuleList(linears))
            for seg, linear in zip(segs, linears, strict=True):
                pieces[seg.layer].append((seg.rows, linear))
        # Plain lists: the Linears are already registered once, under their module's name.
        self._layers = [[linear for _, linear in layer] for layer in pieces]
        self._inverse = [_inverse_order(layer) for layer in pieces]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs
        last = len(self._layers) - 1
        for i, (linears, inverse) in enumerate(zip(self._layers, self._inverse, strict=True)):
            y = torch.cat([linear(x) for linear in linears], dim=-1)
            if inverse is not None:
                y = y[..., torch.as_tensor(inverse, device=y.device)]
            x = torch.tanh(y) if i == last else self._activation(y)
        return x


def _inverse_order(layer: list[tuple[tuple[int, ...], nn.Linear]]) -> list[int] | None:
    """Index that puts concatenated segment outputs back in row order; None if already there."""
    order = [row for rows, _ in layer for row in rows]
    if order == sorted(order):
        return None
    inverse = [0] * len(order)
    for position, row in enumerate(order):
        inverse[row] = position
    return inverse


def module_to_flat(module: nn.Module) -> torch.Tensor:
    return nn.utils.parameters_to_vector(module.parameters()).detach()


def flat_to_module(module: nn.Module, flat: torch.Tensor) -> None:
    with torch.no_grad():
        nn.utils.vector_to_parameters(flat, module.parameters())


class Squashed(nn.Module):
    """``tanh(net(obs))`` whose children are ``net``'s genome modules (the same objects).

    ``net`` itself is kept out of the registered children, so ``named_children()`` and
    ``parameters()`` list exactly the genome's modules, in genome order.
    """

    def __init__(self, net: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        for name in names:
            self.add_module(name, getattr(net, name))
        self.__dict__["net"] = net

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs))


def checked_flat(module: nn.Module, num_params: int) -> np.ndarray:
    """The module's parameters as the policy's float32 genome; ValueError if the sizes differ."""
    flat = module_to_flat(module).cpu().numpy().astype(np.float32, copy=True)
    if flat.shape != (num_params,):
        raise ValueError(f"module has {flat.size} parameters, policy has {num_params}")
    return flat


def assign_flat(module: nn.Module, flat: np.ndarray, num_params: int) -> None:
    """Load a float32 genome into the module's parameters; ValueError if the sizes differ."""
    array = np.asarray(flat, dtype=np.float32)
    if array.shape != (num_params,):
        raise ValueError(f"flat must have shape ({num_params},), got {array.shape}")
    flat_to_module(module, torch.from_numpy(array.copy()))
