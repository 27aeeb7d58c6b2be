"""Mutation functions: how a child's weights and mutation function derive from its parent's.

For each module m, with probability ``p_m`` the child adds ``sigma_m * N(0, I)`` to the
module's weights (plus, when the genome carries mutation directions, a Gaussian combination of
them: pbml_control.evolution.directions); then the child's ``log sigma_m`` and ``logit p_m``
take a Gaussian step of a fixed meta-rate (self-adaptation; docs/design.md "Genome"). The
weights move with the *parent's* mutation function, so a child's own radius does not change its
own fitness, only its offspring's: this is why a mutation function can only be selected over
several generations, the effect that PBML exploits (Frans & Witkowski 2021, arXiv 2103.06435).

Everything is vectorised over children. The random draws always have the same shapes, in the
same order, whatever the gates are, so a run is reproducible from its generator alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pbml_control.evolution import directions as dirs_mod
from pbml_control.evolution.genome import ModuleLayout, sigmoid

if TYPE_CHECKING:  # selection imports this module: a runtime import would be circular
    from pbml_control.evolution.selection.config import MutationConfig


def expand_modules(values: np.ndarray, layout: ModuleLayout) -> np.ndarray:
    """Repeat per-module columns (K, M) into per-parameter columns (K, D)."""
    return np.repeat(values, layout.sizes, axis=1)


#: A genome's genes: (params, log_sigma, gate_logit, dirs, dir_log_scale, dir_path); dirs and
#: dir_log_scale have a direction axis of length k, dir_path is (K, D), or (K, 0) when k = 0.
Genes = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def mutate(
    genes: Genes,
    layout: ModuleLayout,
    cfg: MutationConfig,
    rng: np.random.Generator,
    sigma_scale: np.ndarray | None = None,
) -> Genes:
    """Children of the given parent rows' genes (params (K, D), log_sigma (K, M), gate_logit
    (K, M), dirs (K, k, D), dir_log_scale (K, M, k), dir_path (K, D or 0)).

    ``sigma_scale`` (K,) multiplies the radius for this one mutation only, and is not inherited:
    the options use it for extra mutation of low-ranked parents and for scouts. A module whose
    gate logit is -inf (gate 0) is copied bit for bit, and its gate stays -inf. Without
    directions (k = 0) nothing more is drawn than before directions existed.
    """
    params, log_sigma, gate_logit, dirs, dir_log_scale, path = genes
    k, m = log_sigma.shape
    fires = rng.random((k, m)) < sigmoid(gate_logit)
    noise = rng.standard_normal(params.shape)
    sigma = np.exp(log_sigma.astype(np.float64))
    if sigma_scale is not None:
        sigma = sigma * np.asarray(sigma_scale, dtype=np.float64)[:, None]
    step = expand_modules(sigma, layout) * noise
    mask = dirs_mod.module_mask(layout, cfg) if dirs.shape[1] else None
    if mask is not None:
        w = rng.standard_normal(dir_log_scale.shape)
        step = step + dirs_mod.direction_step(dirs, dir_log_scale, layout, mask, w)
    fired = expand_modules(fires, layout)
    child = np.where(fired, params + step, params).astype(np.float32)
    new_ls, new_gl = self_adapt(log_sigma, gate_logit, cfg, rng)
    if mask is None:
        return child, new_ls, new_gl, dirs.copy(), dir_log_scale.copy(), path.copy()
    steps = np.where(fired, step, 0.0)
    new_path = path.copy()
    if cfg.direction_rule == "cumulative" and not (cfg.frozen or cfg.directions_frozen):
        new_path = dirs_mod.cumulate(path, steps, sigma, dir_log_scale, layout, mask, cfg)
    new_dirs, new_scales = adapt_directions(
        dirs, dir_log_scale, steps, new_path, layout, mask, cfg, rng
    )
    return child, new_ls, new_gl, new_dirs, new_scales, new_path


def adapt_directions(
    dirs: np.ndarray,
    log_scale: np.ndarray,
    steps: np.ndarray,
    path: np.ndarray,
    layout: ModuleLayout,
    mask: np.ndarray,
    cfg: MutationConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A child's directions and scales after its birth ``steps`` (K, D), by the config's rule
    ('cumulative' moves them toward the child's evolution ``path`` instead of its step).

    Draws: the scales' Gaussian step always, and for the 'mutate' rule a rotation the shape of
    ``dirs``, whatever is frozen, so frozen and evolving twins share every other draw."""
    scale_step = cfg.direction_meta_rate * rng.standard_normal(log_scale.shape)
    rotation = rng.standard_normal(dirs.shape) if cfg.direction_rule == "mutate" else None
    if cfg.frozen:
        return dirs.copy(), log_scale.copy()
    lo, hi = np.log(cfg.sigma_min), np.log(cfg.sigma_max * np.sqrt(max(layout.sizes)))
    scales = np.clip(log_scale + scale_step * mask[None, :, None], lo, hi).astype(np.float32)
    if cfg.directions_frozen:
        return dirs.copy(), scales
    if rotation is not None:
        return dirs_mod.rotate(dirs, layout, mask, cfg.direction_rate, rotation), scales
    if cfg.direction_rule == "cumulative":  # toward the path, in the modules that mutated
        moved = np.where(np.abs(steps) > 0, path, 0.0)
        return dirs_mod.path_update(dirs, moved, layout, mask, cfg.direction_rate), scales
    return dirs_mod.path_update(dirs, steps, layout, mask, cfg.direction_rate), scales


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


def crossover(a: Genes, b: Genes, layout: ModuleLayout, rng: np.random.Generator) -> Genes:
    """Module-wise uniform crossover of two parent sets of genes.

    Each module comes whole from one parent (weights together with that module's mutation
    function, directions included), so mating never splits a module's co-adapted weights; our
    reconstruction of the article's "mating between genomes".
    """
    from_b = rng.random(a[1].shape) < 0.5
    per_param = expand_modules(from_b, layout)
    params = np.where(per_param, b[0], a[0])
    dirs = np.where(per_param[:, None, :], b[3], a[3])
    scales = np.where(from_b[:, :, None], b[4], a[4])
    path = np.where(per_param, b[5], a[5]) if a[5].shape[1] else a[5]
    return params, np.where(from_b, b[1], a[1]), np.where(from_b, b[2], a[2]), dirs, scales, path
