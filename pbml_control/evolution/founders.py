"""Founders taken from another run: `population.init_from`, and the swap control.

A run can start from the final population of another run (its latest checkpoint, or the one
named) instead of fresh founders. With ``population.init_mutation = 'initial'`` every genome's
mutation function is replaced by the config's initial one (``mutation.init_sigma`` and
``init_gate``): the *swap* control. Run next to ``'inherit'``, it separates what the evolved
weights bring from what the evolved mutation functions bring.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pbml_control.errors import CheckpointError, UserError
from pbml_control.evolution.directions import initial_directions
from pbml_control.evolution.genome import ModuleLayout, Population, logit
from pbml_control.evolution.selection.config import SelectionConfig
from pbml_control.running.checkpoint import load_checkpoint, split_arrays


def restarted(pop: Population) -> Population:
    """``pop`` as generation 0 of a new run: ids and lineages kept, every fitness unscored (it
    was measured under another run's goal), no scout grace left."""
    out = pop.take(np.arange(pop.size))
    out.generation = 0
    out.birth_gen[:] = 0
    out.scout_until[:] = -1
    out.fitness[:] = np.nan
    return out


def with_initial_mutation(
    pop: Population, cfg: SelectionConfig, layout: ModuleLayout | None = None
) -> Population:
    """``pop`` with every genome's mutation function set to the config's initial one: radius,
    gate and, with ``mutation.directions``, fresh random directions at their initial scales
    (drawn from a generator fixed by the population's id counter, so the swap is repeatable)."""
    out = pop.take(np.arange(pop.size))
    out.log_sigma[:] = np.float32(np.log(cfg.mutation.init_sigma))
    out.gate_logit[:] = np.float32(logit(cfg.mutation.init_gate))
    if cfg.mutation.directions or out.num_directions:
        if layout is None:
            raise ValueError("resetting mutation directions needs the policy's module layout")
        rng = np.random.default_rng(np.random.SeedSequence([int(pop.next_id), 29]))
        if cfg.mutation.directions:
            out.dirs, out.dir_log_scale = initial_directions(out.size, layout, cfg.mutation, rng)
        else:
            out.dirs, out.dir_log_scale = no_directions(out.size, layout)
        out.dir_path = np.zeros((out.size, layout.num_params if out.num_directions else 0),
                                dtype=np.float32)  # fmt: skip
    return out


def no_directions(n: int, layout: ModuleLayout) -> tuple[np.ndarray, np.ndarray]:
    """Empty direction arrays (k = 0) for ``n`` genomes."""
    shape = (n, layout.num_modules, 0)
    return np.zeros((n, 0, layout.num_params), np.float32), np.zeros(shape, np.float32)


def check_founder_count(count: int, cfg: SelectionConfig, source: str) -> None:
    """Fixed-budget strategies need exactly `size` genomes; pbml_paper at most its cap."""
    if cfg.strategy == "pbml_paper":
        if count > cfg.genome_cap:
            raise UserError(
                f"'{source}' has {count} genomes, more than population.max_genomes "
                f"({cfg.genome_cap}); raise max_genomes"
            )
    elif count != cfg.size:
        raise UserError(
            f"'{source}' has {count} genomes, but population.size is {cfg.size}; set "
            f"population.size={count}"
        )


def founders_from_run(cfg: SelectionConfig, layout: ModuleLayout, obs_norm: bool):
    """(population, observation statistics or None) from ``cfg.init_from``, ready to evolve."""
    num_params = layout.num_params
    source = Path(cfg.init_from).expanduser()
    arrays, _ = load_checkpoint(source)
    try:
        pop = Population.from_arrays(split_arrays(arrays, "pop"))
        obs = split_arrays(arrays, "obs")
        stats = None
        if obs_norm:
            from pbml_policies import RunningStats

            stats = RunningStats.from_arrays(obs) if obs else None
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"population.init_from '{source}': {err}") from err
    from pbml_control.running.restore import population_problem

    problem = population_problem(pop)
    if problem is not None:
        raise CheckpointError(f"population.init_from '{source}': {problem}")
    if pop.params.shape[1] != num_params:
        raise UserError(
            f"population.init_from '{source}' holds genomes of {pop.params.shape[1]} "
            f"parameters; this run's policy has {num_params} (use the same policy and task body)"
        )
    check_founder_count(pop.size, cfg, str(source))
    pop = restarted(pop)
    if cfg.init_mutation == "initial":
        return with_initial_mutation(pop, cfg, layout), stats
    if pop.num_directions != cfg.mutation.directions:
        raise UserError(
            f"population.init_from '{source}' holds genomes with {pop.num_directions} mutation "
            f"directions per module; this run's population.mutation.directions is "
            f"{cfg.mutation.directions}: set it to {pop.num_directions}, or start them from the "
            "initial mutation function (population.init_mutation = 'initial')"
        )
    return pop, stats
