"""Flat-vector layout of a stack of dense layers, and the batched numpy forward built on it.

A genome is a flat float32 vector. The layout says which entries are which weights: it is an
ordered list of named modules, each an ordered list of *segments*, and a segment is a set of
output rows of one dense layer stored as ``W[rows]`` (row-major, torch's ``(out, in)`` order)
followed by ``b[rows]``. One module per layer is the default; functional modules (one per leg)
are segments that split a layer's rows. Modules are therefore contiguous slices of the genome,
which is what per-module mutation needs, and the order matches ``nn.Module.parameters()`` of the
torch definition, so ``get_flat``/``set_flat`` are plain concatenations.

The numpy forward is what rollouts run: K genomes on K observations per call. It uses stacked
``np.matmul`` (one BLAS call of the same shape per genome), which makes row k's result
bit-identical whatever the other rows are; the tests check this, because it is what makes a
rollout's result independent of how many genomes a worker steps together. (Bit-identity holds
for one numpy/BLAS build on one CPU type; across machines, results agree to float32 round-off.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

Array = np.ndarray


def _relu(x: Array, out: Array | None = None) -> Array:
    return np.maximum(x, np.float32(0.0), out=out)


#: Activations by name; each takes `out=` so the batched forward can apply it in place.
ACTIVATIONS: dict[str, Callable[..., Array]] = {"tanh": np.tanh, "relu": _relu}


@dataclass(frozen=True)
class Segment:
    """Output rows ``rows`` of dense layer ``layer`` (input width ``in_dim``)."""

    layer: int
    rows: tuple[int, ...]
    in_dim: int

    @property
    def size(self) -> int:
        return len(self.rows) * (self.in_dim + 1)


Groups = tuple[tuple[str, tuple[Segment, ...]], ...]


def whole_layer(dims: Sequence[int], layer: int) -> Segment:
    """The segment holding every row of ``layer`` in order."""
    return Segment(layer, tuple(range(dims[layer + 1])), dims[layer])


def layer_groups(dims: Sequence[int]) -> Groups:
    """Default modules: ``hidden0, hidden1, ..., output``, one per dense layer."""
    n_layers = len(dims) - 1
    names = [f"hidden{i}" for i in range(n_layers - 1)] + ["output"]
    return tuple((name, (whole_layer(dims, i),)) for i, name in enumerate(names))


def leg_groups(dims: Sequence[int], legs: Sequence[tuple[str, Sequence[int]]]) -> Groups:
    """Functional modules: ``shared`` (all hidden layers, if any), then one module per leg.

    A leg module holds the output units that drive the leg's joints and the weights feeding
    them, so mutation can change one leg's control while leaving the others alone.
    """
    last = len(dims) - 2
    groups: list[tuple[str, tuple[Segment, ...]]] = []
    if last > 0:
        groups.append(("shared", tuple(whole_layer(dims, i) for i in range(last))))
    for name, rows in legs:
        groups.append((name, (Segment(last, tuple(int(r) for r in rows), dims[last]),)))
    return tuple(groups)


@dataclass(frozen=True)
class Layout:
    """Where each weight of a dense stack ``dims = (obs, hidden..., act)`` lives in the genome."""

    dims: tuple[int, ...]
    groups: Groups

    def __post_init__(self) -> None:
        names = [name for name, _ in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"module names must be unique, got {names}")
        for layer, out_dim in enumerate(self.dims[1:]):
            rows = sorted(r for s in self.segments_of(layer) for r in s.rows)
            if rows != list(range(out_dim)):
                raise ValueError(
                    f"the segments of layer {layer} must cover its rows 0..{out_dim - 1} "
                    f"exactly once, got {rows}"
                )

    @property
    def num_layers(self) -> int:
        return len(self.dims) - 1

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.groups)

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(sum(s.size for s in segs) for _, segs in self.groups)

    @cached_property
    def slices(self) -> tuple[slice, ...]:
        ends = np.cumsum((0, *self.sizes))
        return tuple(slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True))

    @property
    def num_params(self) -> int:
        return sum(self.sizes)

    def placed(self) -> Iterator[tuple[int, Segment]]:
        """Every segment with its offset in the flat vector, in flat order."""
        offset = 0
        for _, segs in self.groups:
            for seg in segs:
                yield offset, seg
                offset += seg.size

    def segments_of(self, layer: int) -> list[Segment]:
        return [seg for _, segs in self.groups for seg in segs if seg.layer == layer]

    def pack(self, layers: Sequence[tuple[Array, Array]]) -> Array:
        """Flat ``(D,)`` float32 vector from per-layer ``(W (out, in), b (out,))``."""
        flat = np.empty(self.num_params, dtype=np.float32)
        for offset, seg in self.placed():
            weight, bias = layers[seg.layer]
            rows = list(seg.rows)
            n_w = len(rows) * seg.in_dim
            flat[offset : offset + n_w] = weight[rows].reshape(-1)
            flat[offset + n_w : offset + seg.size] = bias[rows]
        return flat

    def unpack(self, params: Array) -> list[tuple[Array, Array]]:
        """Per-layer ``(W (K, out, in), b (K, out))`` from ``params (K, D)``.

        Copies once (per generation, not per step) into contiguous arrays in natural row order,
        so a layer split across leg modules costs nothing extra at step time and the per-step
        matmuls read compact memory.
        """
        k = params.shape[0]
        placed = list(self.placed())
        result = []
        for layer in range(self.num_layers):
            out_dim, in_dim = self.dims[layer + 1], self.dims[layer]
            weight = np.empty((k, out_dim, in_dim), dtype=np.float32)
            bias = np.empty((k, out_dim), dtype=np.float32)
            for offset, seg in placed:
                if seg.layer != layer:
                    continue
                rows = list(seg.rows)
                n_w = len(rows) * in_dim
                weight[:, rows] = params[:, offset : offset + n_w].reshape(k, len(rows), in_dim)
                bias[:, rows] = params[:, offset + n_w : offset + seg.size]
            result.append((weight, bias))
        return result


class BatchedForward:
    """``obs (K, obs_dim) -> actions (K, act_dim)`` for K fixed genomes; weights unpacked once.

    Hidden layers use the policy's activation, the output layer ``tanh`` (actions in [-1, 1]).
    A plain class rather than a closure so it can be pickled and inspected.

    Why the buffers: a rollout calls this once per environment step with the same shapes, and
    each layer is one stacked matmul (K small matrix-vector products) written into a buffer made
    once, then the bias and the activation applied in place. The arithmetic is that of
    ``act(weight @ x + bias)``, operation for operation, so results do not change; only the
    allocations do (the rollout engine's step is short enough for them to show). So one
    instance is not for concurrent calls from several threads; make one per thread.
    """

    def __init__(self, layout: Layout, params: Array, activation: str) -> None:
        params = np.asarray(params, dtype=np.float32)
        if params.ndim != 2 or params.shape[1] != layout.num_params:
            raise ValueError(f"params must have shape (K, {layout.num_params}), got {params.shape}")
        self.num_genomes = int(params.shape[0])
        self.obs_dim, self.act_dim = layout.dims[0], layout.dims[-1]
        self.layers = layout.unpack(params)
        hidden = ACTIVATIONS[activation]
        self.activations = [hidden] * (layout.num_layers - 1) + [np.tanh]
        k = self.num_genomes
        self._buffers = [np.empty((k, dim, 1), dtype=np.float32) for dim in layout.dims[1:]]

    def __call__(self, obs: Array) -> Array:
        x = np.asarray(obs, dtype=np.float32)
        if x.shape != (self.num_genomes, self.obs_dim):
            expected = (self.num_genomes, self.obs_dim)
            raise ValueError(f"obs must have shape {expected}, got {x.shape}")
        column = x[:, :, None]
        layers = zip(self.layers, self.activations, self._buffers, strict=True)
        for (weight, bias), act, out in layers:
            np.matmul(weight, column, out=out)
            y = out[:, :, 0]
            y += bias
            act(y, out=y)
            column = out
        return column[:, :, 0].copy()  # the buffers are reused by the next call
