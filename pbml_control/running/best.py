"""best/: the fittest evaluated genome of each surviving lineage, each file self-describing.

``best/lineage_NNNNNN.npz`` is a ``pbml_policies`` policy file (``pbml_policies.read_policy`` or
``load_policy`` reads it alone): the policy spec, the flat weights, the observation statistics
*that scored the reported fitness* (the generation that scored it, which may be earlier than the
last: see ``pbml_control.running.scoring``), the genome's mutation function, and a ``meta`` JSON
with what a replay needs (task id and kwargs, goal, environment and episode seeds, episode
length, fitness, scoring generation, lineage, genome id). ``best/index.json`` lists the files,
best lineage first. Written atomically at the end of a run (and of every resume).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.rollout.engine import episode_seed
from pbml_control.running.callbacks import Callback
from pbml_control.running.checkpoint import atomic_write_bytes, atomic_write_text
from pbml_control.running.run_files import best_per_lineage
from pbml_control.seeding import evaluation_seed

#: ``clip`` of the engine's normaliser (``RunningStats.normalizer()``'s default).
OBS_CLIP = 10.0


def scoring_meta(cfg, schedule, generation: int | None) -> dict[str, Any]:
    """Where a fitness scored in ``generation`` came from (``cfg`` a run's ``Config``,
    ``schedule`` its ``GoalSchedule``): task, goal, seeds, episode length."""
    task = cfg.task
    out: dict[str, Any] = {
        "task": {
            "id": task.id,
            "kwargs": task.env_kwargs(),
            "episode_steps": task.episode_steps,
            "episodes": task.episodes,
        },
        "generation": generation,
        "obs_norm": {"clip": OBS_CLIP} if cfg.policy.obs_norm else None,
    }
    if generation is None:
        return out
    goal = schedule.goal_at(generation)
    env_seed = evaluation_seed(cfg.run.seed, generation)
    out["goal"] = None if goal is None else np.asarray(goal, dtype=np.float64).tolist()
    out["env_seed"] = env_seed
    out["episode_seeds"] = [episode_seed(env_seed, e) for e in range(task.episodes)]
    return out


def mutation_function(pop, i: int) -> dict[str, np.ndarray]:
    """Genome ``i``'s mutation function as extra arrays of its policy file (directions too,
    when it carries them; a controller ignores them: it does not mutate)."""
    extra = {"log_sigma": pop.log_sigma[i], "gate_logit": pop.gate_logit[i]}
    if pop.num_directions:
        extra.update(dirs=pop.dirs[i], dir_log_scale=pop.dir_log_scale[i])
    return extra


class BestGenomes(Callback):
    """best/: the fittest evaluated genome of each surviving lineage, with what rebuilds it."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = run_dir / "best"

    def on_end(self, exp, state, interrupted: bool) -> None:
        from pbml_policies import RunningStats, policy_bytes

        pop = state.population
        self.folder.mkdir(exist_ok=True)
        index = []
        for rank, i in enumerate(best_per_lineage(pop)):
            name = f"lineage_{int(pop.lineage_ids[i]):06d}.npz"
            scored_at, stats = state.scoring.of(int(pop.ids[i]))
            meta = scoring_meta(exp.cfg, exp.schedule, scored_at)
            entry = {
                "rank": rank,
                "file": name,
                "id": int(pop.ids[i]),
                "lineage": int(pop.lineage_ids[i]),
                "fitness": float(pop.fitness[i]),
            }
            meta.update(genome=entry["id"], lineage=entry["lineage"], fitness=entry["fitness"])
            meta.update(rank=rank, run_generation=pop.generation, obs_stats="scoring")
            if stats is None and state.obs_stats is not None:  # origin unknown: older checkpoint
                stats, meta["obs_stats"] = state.obs_stats.to_arrays(), "latest"
            data = policy_bytes(
                exp.policy,
                pop.params[i],
                None if stats is None else RunningStats.from_arrays(stats),
                meta,
                mutation_function(pop, i),
            )
            atomic_write_bytes(self.folder / name, data)
            # which episode the fitness came from: that generation's goal and episode seeds
            origin = {key: meta.get(key) for key in ("goal", "episode_seeds")}
            index.append({**entry, "generation_scored": scored_at, **origin})
        summary = {
            "task": exp.cfg.task.id,
            "policy": exp.policy.to_dict(),
            "generation": pop.generation,
            "genomes": index,
        }
        atomic_write_text(self.folder / "index.json", json.dumps(summary, indent=1))
        keep = {entry["file"] for entry in index}
        for stale in self.folder.glob("lineage_*.npz"):  # lineages extinct since a resume
            if stale.name not in keep:
                stale.unlink()
        (self.folder / "obs_stats.npz").unlink(missing_ok=True)  # an older version's latest stats
