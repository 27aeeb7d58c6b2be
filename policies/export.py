"""A controller for use outside this project: policy, observation normalisation and action scaling
in one torch module, saved as TorchScript (and ONNX when ``onnx`` is installed).

Why everything goes inside: an evolved genome only acts right with the observation statistics it
was scored with and with its [-1, 1] outputs mapped onto the task's action box, exactly as the
rollout engine does. A module that does both lets a plain Gymnasium loop run
``torch.jit.load("controller.pt")(obs)`` and step the env with the result, importing nothing
from this project.

The numbers follow the engine step for step: ``(obs - mean) * (1 / sqrt(var + 1e-8))`` and the
clip in float64, the policy in float32, ``low + (raw + 1) * 0.5 * (high - low)`` in float64. Only
the policy's matrix products may round differently from the numpy forward (a few float32 ulps).

Any policy that can give a torch module of itself exports: ``policy.torch_module(flat)`` must
return an ``nn.Module`` mapping float32 ``(B, obs_dim)`` observations to ``(B, act_dim)`` raw
actions in [-1, 1] (:class:`TorchPolicy`). Torch (and onnx) are imported only when called.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .obs_norm import RunningStats

if TYPE_CHECKING:
    import torch

#: The name of the JSON that describes an exported controller (TorchScript extra file).
META_FILE = "pbml.json"


@runtime_checkable
class TorchPolicy(Protocol):
    """What export needs from a policy: its sizes and a torch module of given weights."""

    obs_dim: int
    act_dim: int

    def torch_module(self, flat: np.ndarray | None = None) -> torch.nn.Module: ...


class ExportError(ValueError):
    """The policy cannot be exported (no torch module, or one of the wrong shape)."""


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a dependency; kept for clarity
        raise ExportError("exporting needs torch: pip install torch") from err
    return torch


def _controller_class():
    """The wrapper class, defined on first use so importing this module never imports torch."""
    torch = _torch()

    class Controller(torch.nn.Module):
        """``obs (obs_dim,) or (B, obs_dim)`` -> env action, float64, same leading shape."""

        def __init__(self, net, mean, inv_std, clip: float, low, high) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
            self.register_buffer("inv_std", torch.as_tensor(inv_std, dtype=torch.float64))
            self.register_buffer("low", torch.as_tensor(low, dtype=torch.float64))
            self.register_buffer("high", torch.as_tensor(high, dtype=torch.float64))
            self.clip = float(clip)

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            single = obs.dim() == 1
            x = obs.to(torch.float64)
            if single:
                x = x.unsqueeze(0)
            x = torch.clamp((x - self.mean) * self.inv_std, -self.clip, self.clip)
            raw = self.net(x.to(torch.float32)).to(torch.float64)
            action = self.low + (raw + 1.0) * 0.5 * (self.high - self.low)
            if single:
                action = action.squeeze(0)
            return action

    return Controller


def controller_module(
    policy: Any,
    flat: np.ndarray,
    obs_stats: RunningStats | None,
    low: np.ndarray,
    high: np.ndarray,
    clip: float = 10.0,
) -> torch.nn.Module:
    """The eager controller: normalisation (``obs_stats``; None: identity), the policy, scaling
    onto ``[low, high]``. Its parameters are frozen (``requires_grad`` off)."""
    if not isinstance(policy, TorchPolicy):
        raise ExportError(
            f"policy {type(policy).__name__} cannot be exported: it has no "
            "torch_module(flat) giving a torch nn.Module of itself"
        )
    net = policy.torch_module(np.asarray(flat, dtype=np.float32)).eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    low, high = np.asarray(low, np.float64).reshape(-1), np.asarray(high, np.float64).reshape(-1)
    if low.shape != (policy.act_dim,) or high.shape != (policy.act_dim,):
        raise ExportError(f"action box of shape {low.shape}, the policy acts in {policy.act_dim}")
    norm = (obs_stats or RunningStats.zeros(policy.obs_dim)).normalizer(clip)
    return _controller_class()(net, norm.mean, norm.inv_std, norm.clip, low, high).eval()


def torchscript(controller: torch.nn.Module, obs_dim: int) -> torch.jit.ScriptModule:
    """TorchScript: the policy traced (any nn.Module traces), the wrapper scripted (its batch
    and dtype handling stays general)."""
    torch = _torch()
    example = torch.zeros(2, obs_dim, dtype=torch.float32)
    controller = copy.deepcopy(controller)  # the caller's stays eager (e.g. for ONNX)
    with _no_jit_deprecation():
        controller.net = torch.jit.trace(controller.net, example, check_trace=False)
        return torch.jit.script(controller)


def save_torchscript(
    path: Path, controller: torch.nn.Module, obs_dim: int, meta: Mapping[str, Any]
) -> None:
    """Write the TorchScript archive atomically, ``meta`` as its ``pbml.json`` extra file."""
    torch = _torch()
    scripted = torchscript(controller, obs_dim)
    extra = {META_FILE: json.dumps(dict(meta), indent=1)}
    with _no_jit_deprecation():
        _atomic(path, lambda tmp: torch.jit.save(scripted, str(tmp), _extra_files=extra))


def save_onnx(
    path: Path, controller: torch.nn.Module, obs_dim: int, meta: Mapping[str, Any]
) -> None:
    """Write an ONNX model (input ``obs`` (B, obs_dim), output ``action``) with ``meta`` in its
    metadata as ``pbml.json``; needs ``pip install onnx onnxscript``."""
    torch = _torch()
    try:
        import onnx
    except ImportError as err:
        raise ExportError("ONNX export needs onnx: pip install 'pbml-control[export]'") from err
    example = torch.zeros(2, obs_dim, dtype=torch.float64)

    def write(tmp: Path) -> None:
        with _quiet_onnx():
            program = torch.onnx.export(
                controller,
                (example,),
                input_names=["obs"],
                output_names=["action"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                dynamo=True,
                verbose=False,
            )
        model = program.model_proto
        entry = model.metadata_props.add()
        entry.key, entry.value = META_FILE, json.dumps(dict(meta))
        onnx.save(model, str(tmp))

    _atomic(path, write)


@contextlib.contextmanager
def _no_jit_deprecation():
    """torch 2.13 deprecates torch.jit in favour of torch.export, but TorchScript is still what
    loads anywhere with one call and no project code; the warning is not the user's to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit.*")
        yield


@contextlib.contextmanager
def _quiet_onnx():
    """torch.onnx's exporter logs and warns about things that do not concern a user here
    (torchvision operators, deprecations inside torch)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``pbml.json`` of an exported TorchScript controller."""
    torch = _torch()
    extra = {META_FILE: ""}
    with _no_jit_deprecation():
        torch.jit.load(str(path), _extra_files=extra)
    return json.loads(extra[META_FILE])


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
