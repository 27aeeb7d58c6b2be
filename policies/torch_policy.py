"""A torch ``nn.Module`` as the policy: the module's named top-level children are the genome's
modules, and a chunk of K genomes runs in one call per step.

The registry wraps a factory ``(obs_dim, act_dim, **options) -> nn.Module`` in
``TorchModulePolicy``. The module maps one observation ``(obs_dim,)`` to ``(act_dim,)`` raw
outputs; ``tanh`` squashes them to [-1, 1], as the numpy policies' output layer does, and the
rollout scales that onto the action box. The genome is
``parameters_to_vector(module.parameters())``; each top-level child that owns parameters is one
module (its slice), children without parameters (activations) are not. The batched forward
stacks the K genomes' parameters and runs ``vmap(functional_call(module, params, obs))``: one
call for the chunk, and a genome's actions do not depend on the other genomes in its batch
(tests check that bit for bit on this CPU).

torch is imported only when a ``TorchModulePolicy`` is built or run, never by the numpy policies.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .flat import TorchFlat
from .names import registered_policy

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, eq=True)
class TorchModulePolicy(TorchFlat):
    """Spec of a registered torch factory's policy: the name, the sizes and the options.

    Like the numpy policies it holds no weights and pickles small; the module is built from the
    registry on first use in each process (so workers find a user's factory by its entry point).
    """

    name: str
    obs_dim: int
    act_dim: int
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("obs_dim", "act_dim"):
            value = getattr(self, attr)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{attr} must be a positive int, got {value!r}")
            object.__setattr__(self, attr, int(value))
        try:  # checkpoints store the options as JSON: normalise tuples to lists now
            options = json.loads(json.dumps(dict(self.options)))
        except (TypeError, ValueError) as err:
            raise ValueError(f"policy {self.name!r}: options must be JSON values: {err}") from err
        object.__setattr__(self, "options", options)

    def __getstate__(self) -> dict[str, Any]:  # the built module and forward stay behind
        return {k: getattr(self, k) for k in ("name", "obs_dim", "act_dim", "options")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # --- the module and its layout ------------------------------------------------------------
    @cached_property
    def _net(self) -> torch.nn.Module:
        return self._build()

    def _build(self) -> torch.nn.Module:
        factory = registered_policy(self.name)
        try:
            net = factory(self.obs_dim, self.act_dim, **self.options)
        except TypeError as err:
            raise ValueError(f"policy {self.name!r}: {err}") from err
        return _checked(net, self.name, self.obs_dim, self.act_dim).eval()

    @cached_property
    def _params(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Parameter names (as ``named_parameters``) and shapes, in genome order."""
        return tuple((n, tuple(p.shape)) for n, p in self._net.named_parameters())

    @cached_property
    def module_names(self) -> tuple[str, ...]:
        return tuple(name for name, child in self._net.named_children() if _size(child))

    @cached_property
    def module_sizes(self) -> tuple[int, ...]:
        return tuple(_size(getattr(self._net, name)) for name in self.module_names)

    @property
    def module_slices(self) -> tuple[slice, ...]:
        ends = np.cumsum((0, *self.module_sizes))
        return tuple(slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True))

    @property
    def num_params(self) -> int:
        return int(sum(self.module_sizes))

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "obs_dim", "act_dim", **options}``: what ``policy_from_dict`` rebuilds."""
        return {"name": self.name, "obs_dim": self.obs_dim, "act_dim": self.act_dim, **self.options}

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> TorchModulePolicy:
        kwargs = dict(description)
        name, obs_dim, act_dim = kwargs.pop("name"), kwargs.pop("obs_dim"), kwargs.pop("act_dim")
        return cls(name, obs_dim, act_dim, kwargs)

    # --- weights -----------------------------------------------------------------------------
    def init_flat(self, rng: np.random.Generator) -> np.ndarray:
        """The factory's own initialisation, under a torch seed drawn from ``rng``."""
        import torch

        seed = int(rng.integers(2**63 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = self._build()
        return self.get_flat(net)

    def batched(self, params: np.ndarray) -> TorchBatchedForward:
        """Forward for K genomes: ``params (K, D)`` -> callable ``obs (K, obs) -> act (K, act)``."""
        return TorchBatchedForward(self, params)

    def torch_module(self, flat: np.ndarray | None = None) -> torch.nn.Module:
        """A fresh module with ``tanh`` outputs; its children are the genome's modules."""
        from .torch_net import Squashed

        module = Squashed(self._build(), self.module_names)
        if flat is not None:
            self.set_flat(module, flat)
        return module

    @cached_property
    def _vmapped(self) -> Any:
        from torch.func import functional_call, vmap

        net = self._net
        return vmap(lambda params, obs: functional_call(net, params, (obs,)))


class TorchBatchedForward:
    """``obs (K, obs_dim) -> actions (K, act_dim)`` for K fixed genomes, one torch call per step.

    The genomes' parameters are copied and stacked once here. torch runs on one thread: in a
    rollout worker for good (the pool's processes already split the cores), elsewhere only for
    the call, so results never depend on the thread count.
    """

    def __init__(self, policy: TorchModulePolicy, params: np.ndarray) -> None:
        import torch

        params = np.asarray(params, dtype=np.float32)
        if params.ndim != 2 or params.shape[1] != policy.num_params:
            raise ValueError(f"params must have shape (K, {policy.num_params}), got {params.shape}")
        if multiprocessing.parent_process() is not None:
            torch.set_num_threads(1)
        self.num_genomes, self.obs_dim = int(params.shape[0]), policy.obs_dim
        flat = torch.from_numpy(params.copy())
        self.params: dict[str, torch.Tensor] = {}
        offset = 0
        for name, shape in policy._params:
            size = int(np.prod(shape))
            view = flat[:, offset : offset + size].reshape(self.num_genomes, *shape)
            self.params[name] = view.contiguous()
            offset += size
        self._call = policy._vmapped

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        import torch

        x = np.asarray(obs, dtype=np.float32)
        if x.shape != (self.num_genomes, self.obs_dim):
            expected = (self.num_genomes, self.obs_dim)
            raise ValueError(f"obs must have shape {expected}, got {x.shape}")
        threads = torch.get_num_threads()
        try:
            if threads != 1:
                torch.set_num_threads(1)
            with torch.no_grad():
                return torch.tanh(self._call(self.params, torch.from_numpy(x))).numpy()
        finally:
            if threads != 1:
                torch.set_num_threads(threads)


def _size(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _checked(net: Any, name: str, obs_dim: int, act_dim: int) -> torch.nn.Module:
    """The factory's module, or a ValueError saying what a policy module must look like."""
    import torch

    if not isinstance(net, torch.nn.Module):
        raise ValueError(
            f"policy {name!r}: the factory returned {type(net).__name__}, not nn.Module"
        )
    own = [n for n, _ in net.named_parameters(recurse=False)]
    if own:
        raise ValueError(
            f"policy {name!r}: parameters {own} belong to no child module; the genome's modules "
            "are the top-level children, so put every parameter inside one"
        )
    children = sum(_size(child) for _, child in net.named_children())
    if children != _size(net) or children == 0:
        raise ValueError(
            f"policy {name!r}: top-level children must own disjoint parameters (some are shared "
            "or none exist)"
        )
    with torch.no_grad():
        out = net(torch.zeros(obs_dim))
    if tuple(out.shape) != (act_dim,):
        raise ValueError(
            f"policy {name!r}: the module maps one observation ({obs_dim},) to {tuple(out.shape)}, "
            f"expected ({act_dim},)"
        )
    return net
