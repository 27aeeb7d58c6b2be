"""The registered policies: a modular MLP and a linear policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import Policy, check_activation

#: Widest hidden layer a spec accepts (wider ones exhaust memory long before they learn).
MAX_WIDTH = 65_536


@dataclass(frozen=True)
class MLPPolicy(Policy):
    """``obs -> hidden (activation) ... -> tanh actions``; default 64x64 tanh.

    The default in ES/PBML locomotion work (Salimans et al. 2017 used 64x64 tanh), small
    enough that a numpy forward for 64 genomes costs less than a physics step.
    """

    name: ClassVar[str] = "mlp"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        hidden = tuple(int(h) for h in self.hidden)
        if any(h < 1 or h > MAX_WIDTH for h in hidden):
            raise ValueError(f"hidden sizes must be in 1..{MAX_WIDTH}, got {hidden}")
        object.__setattr__(self, "hidden", hidden)
        check_activation(self.activation)
        super().__post_init__()

    @property
    def hidden_dims(self) -> tuple[int, ...]:
        return self.hidden


@dataclass(frozen=True)
class LinearPolicy(Policy):
    """``tanh(W obs + b)``: the ARS baseline (Mania et al. 2018), one module ``output``.

    With ``modules="legs"`` each leg's rows of ``W`` and ``b`` form a module (no ``shared``).
    """

    name: ClassVar[str] = "linear"

    @property
    def hidden_dims(self) -> tuple[int, ...]:
        return ()
