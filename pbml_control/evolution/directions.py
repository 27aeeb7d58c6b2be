"""Inherited mutation directions: k unit vectors per module, each with its own log scale.

A genome's mutation function can carry, per module m, k unit directions u_mi over the module's
weights and a log scale a_mi for each. When the module's gate fires, a child's step is

    sigma_m * N(0, I) + sum_i exp(a_mi) * w_i * u_mi,    w_i ~ N(0, 1),

so a population can learn *which way* to mutate, which a radius and a gate cannot express.

How directions change (``mutation.direction_rule``):

* ``'path'`` (default): a child's directions move toward the step that made it,
  ``u <- normalise((1 - c) u + c sign(u . s) s / |s|)``, later directions kept orthogonal to
  earlier ones and moved toward the step's remainder. A child is a parent's only when it is
  selected to breed, so the directions a genome passes on are an inherited memory of its
  lineage's successful steps, as the evolution path of CMA-ES (Hansen & Ostermeier 2001) is of
  the search's; the memory is about 1/c births long. It stays a heritable mutation function that
  selection weighs between lineages.
* ``'mutate'``: each u_mi takes a small Gaussian rotation (std ``direction_rate`` per unit of
  the module's dimension) and is renormalised; selection alone must find good directions.

In both rules the log scales take Gaussian steps (``direction_meta_rate``). With
``directions_frozen`` the directions never change (the control: random directions with the same
parameter count and sampling) while the scales still adapt; ``mutation.frozen`` freezes both.

Storage: ``dirs`` (N, k, D) holds direction i of every module in that module's slice of a
D-vector (zero outside the modules that carry directions), ``dir_log_scale`` (N, M, k).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pbml_control.evolution.genome import ModuleLayout, Population

if TYPE_CHECKING:  # selection imports this module: a runtime import would be circular
    from pbml_control.evolution.selection.config import MutationConfig

_TINY = 1e-12


def module_mask(layout: ModuleLayout, cfg: MutationConfig) -> np.ndarray:
    """(M,) True for the modules that carry directions (`direction_modules`; empty: all)."""
    if not cfg.direction_modules:
        return np.ones(layout.num_modules, dtype=bool)
    return np.array([name in cfg.direction_modules for name in layout.names])


def initial_scales(n: int, layout: ModuleLayout, cfg: MutationConfig) -> np.ndarray:
    """(n, M, k) float32 initial log scales: ``direction_scale`` times the module's initial
    isotropic step length ``init_sigma * sqrt(size)``, so both parts start comparable."""
    sizes = np.asarray(layout.sizes, dtype=np.float64)
    scale = np.log(cfg.direction_scale * cfg.init_sigma * np.sqrt(sizes))
    return np.broadcast_to(scale[None, :, None], (n, layout.num_modules, cfg.directions)).astype(
        np.float32
    )


def random_directions(
    n: int, k: int, layout: ModuleLayout, mask: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n, k, D) float32: k orthonormal random directions in each masked module (zeros elsewhere).

    The Gaussian draw has shape (n, k, D) whatever the mask, so the generator advances the same."""
    raw = rng.standard_normal((n, k, layout.num_params))
    out = np.zeros_like(raw)
    for m, part in enumerate(layout.slices):
        if mask[m]:
            out[:, :, part] = orthonormal(raw[:, :, part])
    return out.astype(np.float32)


def orthonormal(block: np.ndarray) -> np.ndarray:
    """Gram-Schmidt over axis 1 of (n, k, d): row i orthogonal to rows < i, each of unit norm."""
    out = np.array(block, dtype=np.float64)
    for i in range(out.shape[1]):
        for j in range(i):
            out[:, i] -= np.sum(out[:, i] * out[:, j], axis=1, keepdims=True) * out[:, j]
        out[:, i] /= np.maximum(np.linalg.norm(out[:, i], axis=1, keepdims=True), _TINY)
    return out


def direction_step(
    dirs: np.ndarray, log_scale: np.ndarray, layout: ModuleLayout, mask: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """(K, D) float64: sum_i exp(a_mi) w_mi u_mi in every module, for draws ``w`` (K, M, k)."""
    coef = np.exp(log_scale.astype(np.float64)) * w * mask[None, :, None]  # (K, M, k)
    per_param = np.repeat(coef, layout.sizes, axis=1)  # (K, D, k)
    return np.einsum("kdi,kid->kd", per_param, dirs.astype(np.float64))


def path_update(
    dirs: np.ndarray, steps: np.ndarray, layout: ModuleLayout, mask: np.ndarray, rate: float
) -> np.ndarray:
    """Each child's directions moved toward the step that made it (``steps`` (K, D), zero in
    modules that did not mutate: those keep their directions bit for bit)."""
    out = dirs.astype(np.float64, copy=True)
    for m, part in enumerate(layout.slices):
        if not mask[m]:
            continue
        rest = steps[:, part].astype(np.float64, copy=True)
        moved = np.linalg.norm(rest, axis=1) > 0
        if not moved.any():
            continue
        block = out[moved][:, :, part]
        rest = rest[moved]
        for i in range(block.shape[1]):
            u = block[:, i]
            for j in range(i):  # keep direction i orthogonal to the earlier ones
                u = u - np.sum(u * block[:, j], axis=1, keepdims=True) * block[:, j]
            norm = np.linalg.norm(rest, axis=1, keepdims=True)
            sign = np.sign(np.sum(u * rest, axis=1, keepdims=True))
            sign[sign == 0] = 1.0
            target = np.where(norm > _TINY, sign * rest / np.maximum(norm, _TINY), u)
            u = (1.0 - rate) * u + rate * target
            for j in range(i):
                u = u - np.sum(u * block[:, j], axis=1, keepdims=True) * block[:, j]
            u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), _TINY)
            block[:, i] = u
            rest = rest - np.sum(rest * u, axis=1, keepdims=True) * u  # the step's remainder
        out[np.flatnonzero(moved), :, part] = block
    return out.astype(np.float32)


def rotate(
    dirs: np.ndarray, layout: ModuleLayout, mask: np.ndarray, rate: float, noise: np.ndarray
) -> np.ndarray:
    """Each direction plus ``rate / sqrt(d)`` times a Gaussian draw (``noise``, shape of
    ``dirs``), renormalised and re-orthogonalised within its module (the 'mutate' rule)."""
    out = dirs.astype(np.float64, copy=True)
    for m, part in enumerate(layout.slices):
        if mask[m]:
            d = part.stop - part.start
            out[:, :, part] = orthonormal(out[:, :, part] + rate / np.sqrt(d) * noise[:, :, part])
    return out.astype(np.float32)


def alignment(dirs: np.ndarray, shares: np.ndarray, layout: ModuleLayout) -> np.ndarray:
    """(M,) the share-weighted mean |cosine| between different genomes' first directions per
    module: 1 when the population agrees on a direction, about sqrt(2 / (pi d)) when random."""
    n = dirs.shape[0]
    out = np.full(layout.num_modules, np.nan)
    if n < 2 or dirs.shape[1] == 0:
        return out
    weights = np.outer(shares, shares)
    np.fill_diagonal(weights, 0.0)
    total = weights.sum()
    for m, part in enumerate(layout.slices):
        first = dirs[:, 0, part].astype(np.float64)
        if total > 0 and np.any(first):
            out[m] = float((np.abs(first @ first.T) * weights).sum() / total)
    return out


def initial_directions(
    n: int, layout: ModuleLayout, cfg: MutationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(dirs (n, k, D), log scales (n, M, k)) of the initial mutation function: random
    orthonormal directions in the modules that carry them, every scale at its initial value."""
    mask = module_mask(layout, cfg)
    return random_directions(n, cfg.directions, layout, mask, rng), initial_scales(n, layout, cfg)


def direction_records(pop: Population, rows: np.ndarray) -> dict[str, np.ndarray]:
    """{'dir_scale': (n, M) mean direction scale} of genomes ``rows`` (lineages.csv), or {}
    for a population without directions."""
    if not pop.num_directions:
        return {}
    return {"dir_scale": np.exp(pop.dir_log_scale[rows].astype(np.float64)).mean(axis=2)}


def cumulate(
    path: np.ndarray,
    steps: np.ndarray,
    sigma: np.ndarray,
    log_scale: np.ndarray,
    layout: ModuleLayout,
    mask: np.ndarray,
    cfg: MutationConfig,
) -> np.ndarray:
    """The child's evolution path (the 'cumulative' rule): in every module that mutated,
    ``p <- (1 - c) p + sqrt(c (2 - c)) s / L`` with s the birth step and L the module's expected
    step length sqrt(sigma^2 d + sum_i exp(2 a_i)), so p is about unit-sized whatever the radii
    (CMA-ES's cumulation, Hansen & Ostermeier 2001). Consistent steps add up in p and random
    ones cancel, so the directions, moved toward p, learn the moves a lineage keeps making."""
    c = cfg.direction_path_rate
    sizes = np.asarray(layout.sizes, dtype=np.float64)
    length = np.sqrt(sigma**2 * sizes + np.exp(2.0 * log_scale.astype(np.float64)).sum(axis=2))
    fresh = steps / np.repeat(length, layout.sizes, axis=1)
    moved = (np.abs(steps) > 0) & np.repeat(mask, layout.sizes)[None, :]
    blended = (1.0 - c) * path + np.sqrt(c * (2.0 - c)) * fresh
    return np.where(moved, blended, path).astype(np.float32)
