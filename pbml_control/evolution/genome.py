"""Genomes: modular flat parameter vectors with a per-module mutation function.

A genome (docs/design.md, "Genome") is a float32 vector partitioned into named modules, plus, for
every module m, a mutation radius ``sigma_m`` (stored as ``log_sigma``) and a mutation gate
``p_m`` (the probability that the module mutates at all, stored as ``gate_logit``). Storing the
radius as a log and the gate as a logit lets self-adaptation add unbounded Gaussian steps and
still keep ``sigma > 0`` and ``0 <= p <= 1`` (Frans & Witkowski 2021, arXiv 2103.06435, evolve
the mutation function together with the weights; the log/logit encoding is our reconstruction).

The whole population is one dataclass of arrays, :class:`Population`, so that a checkpoint is a
plain ``npz`` file (no pickled objects) and two states can be compared in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

#: Field name -> (dtype, shape spec) for :meth:`Population.from_arrays` validation. In a shape
#: spec "N" is the population size, "D" the parameter count, "M" the module count, () a scalar.
_SCHEMA: dict[str, tuple[type, tuple[str, ...]]] = {
    "params": (np.float32, ("N", "D")),
    "log_sigma": (np.float32, ("N", "M")),
    "gate_logit": (np.float32, ("N", "M")),
    "ids": (np.int64, ("N",)),
    "parent_ids": (np.int64, ("N",)),
    "lineage_ids": (np.int64, ("N",)),
    "birth_gen": (np.int64, ("N",)),
    "shares": (np.float64, ("N",)),
    "fitness": (np.float64, ("N",)),
    "scout_until": (np.int64, ("N",)),
    "generation": (np.int64, ()),
    "next_id": (np.int64, ()),
    "dirs": (np.float32, ("N", "K", "D")),
    "dir_log_scale": (np.float32, ("N", "M", "K")),
    "dir_path": (np.float32, ("N", "P")),
}
#: Fields a genome without mutation directions (k = 0) leaves out of its arrays, so such
#: checkpoints are byte for byte those of the versions before directions existed.
_OPTIONAL = ("dirs", "dir_log_scale", "dir_path")


@dataclass(frozen=True)
class ModuleLayout:
    """Named modules that partition a flat parameter vector, in order.

    The policy defines the modules (one per layer by default, or functional ones such as one per
    leg); everything that mutates or mates genomes works module by module through ``slices``.
    """

    names: tuple[str, ...]
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if len(self.names) != len(self.sizes) or not self.names:
            raise ValueError("ModuleLayout needs one size per name and at least one module")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"ModuleLayout names must be unique, got {self.names}")
        if any(s <= 0 for s in self.sizes):
            raise ValueError(f"ModuleLayout sizes must be positive, got {self.sizes}")

    @property
    def num_params(self) -> int:
        return int(sum(self.sizes))

    @property
    def num_modules(self) -> int:
        return len(self.names)

    @property
    def slices(self) -> tuple[slice, ...]:
        ends = np.cumsum(self.sizes)
        return tuple(slice(int(e - s), int(e)) for s, e in zip(self.sizes, ends, strict=True))

    def to_dict(self) -> dict[str, list[Any]]:
        return {"names": list(self.names), "sizes": list(self.sizes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModuleLayout:
        return cls(names=tuple(d["names"]), sizes=tuple(d["sizes"]))


@dataclass
class Population:
    """The state of a population of distinct genomes; what the trainer checkpoints.

    Row i of every per-genome array describes genome i. ``shares`` is each genome's weight in a
    large virtual population (sum 1); ``generation`` counts ``tell`` calls, ``next_id`` is the
    id counter, so ids stay unique for the life of a run, also across checkpoint and resume.
    """

    params: np.ndarray
    log_sigma: np.ndarray
    gate_logit: np.ndarray
    ids: np.ndarray
    parent_ids: np.ndarray
    lineage_ids: np.ndarray
    birth_gen: np.ndarray
    shares: np.ndarray
    fitness: np.ndarray
    scout_until: np.ndarray
    generation: int
    next_id: int
    #: (N, k, D) inherited mutation directions (pbml_control.evolution.directions); k = 0: none.
    dirs: np.ndarray | None = None
    #: (N, M, k) log scale of each module's directions.
    dir_log_scale: np.ndarray | None = None
    #: (N, D) the lineage's evolution path (the 'cumulative' direction rule); (N, 0) when k = 0.
    dir_path: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, d = self.params.shape
        if self.dirs is None:
            self.dirs = np.zeros((n, 0, d), dtype=np.float32)
        if self.dir_log_scale is None:
            self.dir_log_scale = np.zeros((n, self.log_sigma.shape[1], 0), dtype=np.float32)
        if self.dir_path is None:
            self.dir_path = np.zeros((n, d if self.dirs.shape[1] else 0), dtype=np.float32)

    @property
    def size(self) -> int:
        return int(self.params.shape[0])

    @property
    def num_directions(self) -> int:
        """k: the mutation directions per module each genome carries."""
        return int(self.dirs.shape[1])

    def sigma(self) -> np.ndarray:
        """Per-module mutation radius, shape (N, M)."""
        return np.exp(self.log_sigma.astype(np.float64))

    def gate(self) -> np.ndarray:
        """Per-module mutation probability, shape (N, M); a logit of -inf gives exactly 0."""
        return sigmoid(self.gate_logit)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """All fields as arrays (ints as 0-d int64 arrays): safe for ``np.savez``."""
        out: dict[str, np.ndarray] = {}
        for name, (dtype, _) in _SCHEMA.items():
            if name in _OPTIONAL and not self.num_directions:
                continue
            out[name] = np.array(getattr(self, name), dtype=dtype, copy=True)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Population:
        """Rebuild a population, checking every field; ValueError names the bad field."""
        missing = sorted(set(_SCHEMA) - set(arrays) - set(_OPTIONAL))
        if missing:
            raise ValueError(f"population arrays lack field(s): {', '.join(missing)}")
        if ("dirs" in arrays) != ("dir_log_scale" in arrays):
            raise ValueError("population arrays hold only one of 'dirs' and 'dir_log_scale'")
        dims: dict[str, tuple[int, str]] = {}
        values: dict[str, Any] = {}
        for name, (dtype, spec) in _SCHEMA.items():
            if name not in arrays:  # a genome without directions (k = 0)
                continue
            arr = np.asarray(arrays[name])
            _check_field(name, arr, dtype, spec, dims)
            values[name] = int(arr) if spec == () else arr.astype(dtype, copy=True)
        return cls(**values)

    def take(self, index: np.ndarray) -> Population:
        """The genomes at ``index`` (a copy), with the same generation and id counter."""
        rows = {
            f.name: getattr(self, f.name)[index].copy() for f in fields(self) if _is_row(f.name)
        }
        return Population(**rows, generation=self.generation, next_id=self.next_id)


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function in float64; maps -inf to 0 and +inf to 1 exactly."""
    x = np.asarray(logit, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


def logit(p: float) -> float:
    """Inverse of :func:`sigmoid`; 0 -> -inf and 1 -> +inf, so such gates are exact."""
    with np.errstate(divide="ignore"):
        return float(np.log(p) - np.log1p(-p))


def concat(a: Population, b: Population) -> Population:
    """Rows of ``a`` then rows of ``b``; generation and id counter are taken from ``b``."""
    rows = {
        f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)])
        for f in fields(a)
        if _is_row(f.name)
    }
    return Population(**rows, generation=b.generation, next_id=b.next_id)


def _is_row(name: str) -> bool:
    return _SCHEMA[name][1] != ()


def _check_field(
    name: str, arr: np.ndarray, dtype: type, spec: tuple[str, ...], dims: dict[str, tuple[int, str]]
) -> None:
    if arr.dtype == object:
        raise ValueError(f"population field {name!r} holds Python objects")
    kind_ok = np.issubdtype(arr.dtype, np.floating if dtype is not np.int64 else np.integer)
    if not kind_ok:
        raise ValueError(f"population field {name!r} has dtype {arr.dtype}, expected {dtype}")
    if arr.ndim != len(spec):
        raise ValueError(f"population field {name!r} has shape {arr.shape}, expected {spec}")
    for dim_name, dim in zip(spec, arr.shape, strict=True):
        first, owner = dims.setdefault(dim_name, (dim, name))
        if first != dim:
            raise ValueError(
                f"population fields {owner!r} and {name!r} disagree on {dim_name}: {first} != {dim}"
            )
