"""The flat-vector view of a policy's torch module, shared by every policy kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


class TorchFlat:
    """`get_flat` / `set_flat` for a class with `num_params` and a `torch_module(flat)` whose
    parameters, in order, are the genome (torch is imported only when they are called)."""

    num_params: int

    def get_flat(self, module: torch.nn.Module) -> np.ndarray:
        from .torch_net import checked_flat

        return checked_flat(module, self.num_params)

    def set_flat(self, module: torch.nn.Module, flat: np.ndarray) -> None:
        from .torch_net import assign_flat

        assign_flat(module, flat, self.num_params)
