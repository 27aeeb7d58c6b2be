"""``torch_mlp``: the built-in example of a torch module policy, ``mlp`` written as torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .dense import MAX_WIDTH

if TYPE_CHECKING:
    import torch

_OUTPUT_GAIN = 0.01


def torch_mlp(
    obs_dim: int,
    act_dim: int,
    hidden: list[int] | tuple[int, ...] = (64, 64),
    activation: str = "tanh",
) -> torch.nn.Module:
    """``mlp`` as a torch module: children ``hidden0, hidden1, ..., output`` (plus activations).

    Same flat layout as ``mlp`` (a genome of one runs on the other), initialised the same way
    (orthogonal, output layer x0.01) but from torch's generator.
    """
    from collections import OrderedDict

    import torch
    from torch import nn

    hidden = tuple(int(h) for h in hidden)
    if any(h < 1 or h > MAX_WIDTH for h in hidden):
        raise ValueError(f"hidden sizes must be in 1..{MAX_WIDTH}, got {hidden}")
    layers = {"tanh": nn.Tanh, "relu": nn.ReLU}
    if activation not in layers:
        raise ValueError(f"activation must be one of {sorted(layers)}, got {activation!r}")
    dims = (obs_dim, *hidden, act_dim)
    children: OrderedDict[str, nn.Module] = OrderedDict()
    gain = np.sqrt(2.0) if activation == "relu" else 1.0
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        last = i == len(dims) - 2
        linear = nn.Linear(d_in, d_out)
        with torch.no_grad():
            nn.init.orthogonal_(linear.weight, gain=_OUTPUT_GAIN if last else gain)
            linear.bias.zero_()
        children["output" if last else f"hidden{i}"] = linear
        if not last:
            children[f"act{i}"] = layers[activation]()
    return nn.Sequential(children)
