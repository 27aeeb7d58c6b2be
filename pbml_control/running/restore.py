"""What a checkpoint may and may not decide when a run resumes.

A checkpoint restores *state*; it never decides *where or how* a run runs. So on resume:

* the operational settings (`OPERATIONAL`: the pool's backend, address, workers, timeouts and
  retries, checkpoint interval and retention, plots, TensorBoard) come from the run's own
  `config.toml`, the file its owner can read and edit, never from the checkpoint, which a third
  party could have re-signed (its digests have no key);
* everything else (task, policy, population, mutation, goals, budget, seed: the science) comes
  from the checkpoint, which is what makes a resume bit for bit; where `config.toml` says
  otherwise, the resume says so in one note and the checkpoint wins;
* every restored array is checked before use (`check_state`): shapes, finite values, counts
  consistent with the policy, the population rule and the mutation function.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import CheckpointError, ConfigError, UserError
from pbml_control.running.config import Config, config_from_toml_text
from pbml_control.running.config_io import flatten

#: Settings that say where and how a run runs: taken from the run's config.toml on resume.
OPERATIONAL = (
    ("pool", "backend"), ("pool", "address"), ("pool", "workers"), ("pool", "job_timeout_s"),
    ("pool", "max_retries"), ("run", "checkpoint_every"), ("run", "keep_checkpoints"),
    ("run", "plots"), ("run", "tensorboard"),
)  # fmt: skip


def own_config(run_dir: Path) -> Config:
    """The run's config.toml; UserError naming the file and the problem if it is not valid."""
    path = run_dir / "config.toml"
    try:
        return config_from_toml_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError) as err:
        raise UserError(
            f"'{path}' is not a valid config ({err}); it says how the run runs (pool, "
            "checkpoints), so fix it or restore it from the checkpoint's copy"
        ) from err


def resumed_config(saved: Config, own: Config, run_dir: Path) -> tuple[Config, str]:
    """``saved`` (the checkpoint's) with the operational settings of ``own`` (config.toml), and
    a note naming the other keys where the two differ ('' if none): shown once the resume is
    known to go ahead, so a refused resume stays one line."""
    out = copy.deepcopy(saved)
    for section, key in OPERATIONAL:
        setattr(getattr(out, section), key, getattr(getattr(own, section), key))
    ours = flatten(tomllib.loads(_dump(out)))
    theirs = flatten(tomllib.loads(_dump(own)))
    changed = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if not changed:
        return out, ""
    shown = ", ".join(f"{k} ({theirs.get(k)!r} in config.toml, {ours.get(k)!r} in the "
                      "checkpoint)" for k in changed[:5])  # fmt: skip
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return out, (
        f"note: '{run_dir / 'config.toml'}' differs from the checkpoint in {shown}{more}; "
        "the checkpoint's values are used (a resume continues the same run; a changed design "
        "is a new run). Only pool, checkpoint and plot settings are taken from config.toml."
    )


def _dump(cfg: Config) -> str:
    from pbml_control.running.config import dump_config

    return dump_config(cfg)


def check_state(exp, state, meta: dict[str, Any], path: str) -> None:
    """Refuse restored state that does not fit the run, in one line naming what is wrong."""
    pop, cfg = state.population, exp.cfg
    problem = population_problem(pop) or count_problem(pop, cfg, exp.layout)
    if problem is None and "policy" in meta and meta["policy"] != exp.policy.to_dict():
        problem = (f"its policy {meta['policy']} is not the config's "
                   f"{exp.policy.to_dict()}")  # fmt: skip
    if problem is None and state.obs_stats is not None:
        problem = stats_problem(state.obs_stats, exp.policy.obs_dim)
    if problem is None:
        problem = scoring_problem(state.scoring, exp.policy.obs_dim)
    if problem is None and (state.rollouts < 0 or state.env_steps < 0):
        problem = "negative rollout or step counts"
    if problem is not None:
        raise CheckpointError(f"checkpoint '{path}' cannot be resumed: {problem}")


def population_problem(pop) -> str | None:
    """What is invalid in a population's arrays (None if nothing)."""
    finite = {
        "params": pop.params,
        "log_sigma": pop.log_sigma,
        "shares": pop.shares,
        "dirs": pop.dirs,
        "dir_log_scale": pop.dir_log_scale,
        "dir_path": pop.dir_path,
    }
    for name, values in finite.items():  # fmt: skip
        if not np.all(np.isfinite(values)):
            return f"population field '{name}' holds NaN or infinite values"
    if np.any(np.isnan(pop.gate_logit)):
        return "population field 'gate_logit' holds NaN"
    if np.any(pop.fitness == np.inf):
        return "population field 'fitness' holds +inf"
    if pop.size < 1 or np.any(pop.shares < 0) or not pop.shares.sum() > 0:
        return "population shares must be >= 0 with a positive sum, over at least one genome"
    if np.any(pop.ids < 0) or np.unique(pop.ids).size != pop.size or pop.next_id <= pop.ids.max():
        return "genome ids must be distinct, >= 0 and below the id counter"
    if pop.generation < 0 or np.any(pop.birth_gen > pop.generation):
        return "a genome is born after the population's generation"
    return None


def count_problem(pop, cfg: Config, layout) -> str | None:
    """Counts that must agree with the policy, the population rule and the mutation function."""
    if pop.log_sigma.shape[1] != layout.num_modules:
        return f"its genomes have {pop.log_sigma.shape[1]} modules, the policy {layout.num_modules}"
    if pop.params.shape[1] != layout.num_params:
        return f"its genomes have {pop.params.shape[1]} parameters, the policy {layout.num_params}"
    strategy = cfg.population
    if strategy.strategy == "pbml_paper":
        if pop.size > strategy.genome_cap:
            return f"{pop.size} genomes, more than population.max_genomes ({strategy.genome_cap})"
    elif pop.size != strategy.size:
        return f"{pop.size} genomes, but population.size is {strategy.size}"
    if pop.num_directions != strategy.mutation.directions:
        return (f"its genomes carry {pop.num_directions} mutation directions, the config "
                f"{strategy.mutation.directions}")  # fmt: skip
    return None


def scoring_problem(scoring, obs_dim: int) -> str | None:
    """The statistics that scored each living genome (best/ replays them) must be valid too."""
    from pbml_policies import RunningStats

    for generation, arrays in scoring.stats.items():
        try:
            stats = RunningStats.from_arrays(arrays)
        except (KeyError, ValueError, TypeError) as err:
            return f"the statistics that scored generation {generation} are invalid: {err}"
        problem = stats_problem(stats, obs_dim)
        if problem is not None:
            return f"the statistics that scored generation {generation}: {problem}"
    return None


def stats_problem(stats, obs_dim: int) -> str | None:
    """What is invalid in restored observation statistics (None if nothing)."""
    if stats.dim != obs_dim:
        return f"observation statistics of {stats.dim} dimensions, the task has {obs_dim}"
    if not (np.isfinite(stats.count) and stats.count >= 0):
        return f"observation count {float(stats.count)!r} is not a finite number >= 0"
    if not (np.all(np.isfinite(stats.mean)) and np.all(np.isfinite(stats.m2))):
        return "observation statistics hold NaN or infinite values"
    if np.any(stats.m2 < 0):
        return "observation statistics hold a negative sum of squares"
    return None
