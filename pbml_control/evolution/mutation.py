"""Mutation functions: how a child's weights and mutation function derive from its parent's.

For each module m, with probability ``p_m`` the child adds ``sigma_m * N(0, I)`` to the
module's weights; then the child's ``log sigma_m`` and ``logit p_m`` take a Gaussian step of a
fixed meta-rate (self-adaptation; docs/design.md "Genome"). The weights move with the *parent's*
mutation function, so a child's own radius does not change its own fitness, only its
offspring's: this is why a mutation function can only be selected over several generations, the
effect that PBML exploits (Frans & Witkowski 2021, arXiv 2103.06435).

Everything is vectorised over children. The random draws always have the same shapes, in the
same order, whatever the gates are, so a run is reproducible from its generator alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pbml_control.evolution.genome import ModuleLayout, sigmoid

if TYPE_CHECKING:  # selection imports this module: a runtime import would be circular
    from pbml_control.evolution.selection.config import MutationConfig


def expand_modules(values: np.ndarray, layout: ModuleLayout) -> np.ndarray:
    """Repeat per-module columns (K, M) into per-parameter columns (K, D)."""
    return np.repeat(values, layout.sizes, axis=1)


def mutate(
    params: np.ndarray,
    log_sigma: np.ndarray,
    gate_logit: np.ndarray,
    layout: ModuleLayout,
    cfg: MutationConfig,
    rng: np.random.Generator,
    sigma_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Children of the given parent rows: (params (K, D), log_sigma (K, M), gate_logit (K, M)).

    ``sigma_scale`` (K,) multiplies the radius for this one mutation only, and is not inherited:
    the options use it for extra mutation of low-ranked parents and for scouts. A module whose
    gate logit is -inf (gate 0) is copied bit for bit, and its gate stays -inf.
    """
    k, m = log_sigma.shape
    fires = rng.random((k, m)) < sigmoid(gate_logit)
    noise = rng.standard_normal(params.shape)
    sigma = np.exp(log_sigma.astype(np.float64))
    if sigma_scale is not None:
        sigma = sigma * np.asarray(sigma_scale, dtype=np.float64)[:, None]
    step = expand_modules(sigma, layout) * noise
    child = np.where(expand_modules(fires, layout), params + step, params).astype(np.float32)
    return child, *self_adapt(log_sigma, gate_logit, cfg, rng)


def self_adapt(
    log_sigma: np.ndarray, gate_logit: np.ndarray, cfg: MutationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Perturb a child's mutation function with the fixed meta-rates, then clip to the bounds.

    Infinite gate logits (gates of exactly 0 or 1) are kept: they are a user's deliberate freeze
    or always-on switch, not a value that self-adaptation should drift out of.

    With ``cfg.frozen`` (the control) the child keeps its parent's mutation function bit for bit.
    The steps are still drawn, so the generator advances exactly as in an evolving run: a frozen
    run and its evolving twin of the same seed share every other random draw of their first
    generation, which makes them a paired comparison.
    """
    lo, hi = np.log(cfg.sigma_min), np.log(cfg.sigma_max)
    ls_step = cfg.meta_rate * rng.standard_normal(log_sigma.shape)
    gl_step = cfg.gate_meta_rate * rng.standard_normal(gate_logit.shape)
    if cfg.frozen:
        return log_sigma.astype(np.float32, copy=True), gate_logit.astype(np.float32, copy=True)
    new_ls = np.clip(log_sigma + ls_step, lo, hi).astype(np.float32)
    finite = np.isfinite(gate_logit)
    bound = cfg.gate_logit_bound
    moved = np.clip(np.where(finite, gate_logit, 0.0) + gl_step, -bound, bound)
    new_gl = np.where(finite, moved, gate_logit).astype(np.float32)
    return new_ls, new_gl


def crossover(
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
    layout: ModuleLayout,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Module-wise uniform crossover of two parent sets, each (params, log_sigma, gate_logit).

    Each module comes whole from one parent (weights together with that module's mutation
    function), so mating never splits a module's co-adapted weights; our reconstruction of the
    article's "mating between genomes".
    """
    from_b = rng.random(a[1].shape) < 0.5
    params = np.where(expand_modules(from_b, layout), b[0], a[0])
    return params, np.where(from_b, b[1], a[1]), np.where(from_b, b[2], a[2])
