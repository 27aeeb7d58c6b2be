"""One study job: an (arm, seed) run trained or resumed to its end, then probed.

A job leaves everything in its run directory, so it can be stopped at any moment: a training
run resumes from its latest checkpoint (bit for bit), a run stopped before its first
checkpoint starts over, and the probe (short, deterministic) is redone unless its result file
``probe.json`` exists, which is written last, atomically: its presence means "done".

Kinds: 'train' runs are ordinary `pbml train` run directories (serial rollouts: the study
spreads runs, not rollouts, over the cores); 'moving' runs evolve the moving-target toy world
(`pbml_envs.toy.moving`) with the same config tree (population, run, goals.every as the period,
task.kwargs as the world's fields) and write metrics.csv and final.npz.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import ConfigError
from pbml_control.evolution.founders import with_initial_mutation
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.running.checkpoint import atomic_write_bytes, atomic_write_text, list_checkpoints
from pbml_control.running.config import Config, dump_config
from pbml_control.running.lock import job_lock
from pbml_control.running.run_files import read_csv
from pbml_control.study import machine
from pbml_control.study.probe import (
    goal_rng,
    in_run_recovery,
    probe_founders,
    probe_goal_seeds,
    probe_selection,
    scores,
)
from pbml_control.study.probe_spec import FINAL, SWAP, ProbeSpec
from pbml_control.study.spec import Study

RESULT = "probe.json"
#: A run's mutation series, kept small in the study folder (the bulky run files are not kept).
SERIES = "series.json"
#: The study folder's subfolder that holds one run directory per (arm, seed).
RUNS = "run_results"


def run_dir_of(out: Path, arm: str, seed: int) -> Path:
    return out / RUNS / f"{arm}_seed{seed}"


def lock_path(out: Path, arm: str, seed: int) -> Path:
    """The lock a job holds while it writes its run directory (beside it, so a restart that
    clears the run directory keeps the lock)."""
    return out / RUNS / f".{arm}_seed{seed}.job.lock"


def run_job(study: Study, arm: str, seed: int, out: Path) -> dict[str, Any]:
    """Train (or resume) the run of (arm, seed) and probe it; returns the job's result."""
    out = Path(out)
    run_dir = run_dir_of(out, arm, seed)
    done = run_dir / RESULT
    if done.is_file():
        return json.loads(done.read_text())
    with job_lock(lock_path(out, arm, seed), f"{arm} seed {seed}"):
        if done.is_file():  # finished by the holder we waited for
            return json.loads(done.read_text())
        result = _train_and_probe(study, arm, seed, run_dir)
        atomic_write_text(done, json.dumps(result, indent=1))
    return result


def _train_and_probe(study: Study, arm: str, seed: int, run_dir: Path) -> dict[str, Any]:
    cfg = study.run_config(arm, seed)
    kind = KINDS[study.head.kind]
    start = time.perf_counter()
    population, obs_stats = kind.train(cfg, run_dir)
    wall = time.perf_counter() - start
    rows = _metrics(run_dir)
    if rows:
        run_series(run_dir)
    start = time.perf_counter()
    sets = {}
    for name in study.probe.probe_sets(cfg.population.mutation.frozen):
        pop, obs = kind.probe_source(name, cfg, run_dir, population, obs_stats)
        sets[name] = kind.probe(cfg, study.probe, pop, obs, seed)
    return {
        "arm": arm,
        "seed": seed,
        "generations": len(rows),
        "rollouts": int(float(rows[-1]["budget/rollouts_total"])) if rows else 0,
        "final_fitness_max": float(rows[-1]["pop/fitness_max"]) if rows else float("nan"),
        "in_run": in_run_recovery(rows, study.probe.horizon, study.probe.reference),
        "run_metrics": kind.run_metrics(cfg, rows, population, run_dir),
        "probes": sets.pop(FINAL),
        "probe_sets": sets,
        "train_s": core_seconds(rows) or wall,
        "probe_s": time.perf_counter() - start,
        "machine": machine.describe(),
    }


def run_series(run_dir: Path) -> dict[str, list[float]]:
    """A run's per-generation population-mean sigma and gate per module, kept small.

    Read from ``series.json`` when present, else taken from metrics.csv (rounded to 4
    significant digits) and written there: the study folder can keep the series of every run
    without the runs' bulky files.
    """
    path = run_dir / SERIES
    if path.is_file():
        return json.loads(path.read_text())
    rows = read_csv(run_dir / "metrics.csv")
    keys = [k for k in (rows[0] if rows else {}) if k.startswith(("mut/sigma/", "mut/gate/"))]
    series = {k: [float(f"{float(r[k]):.4g}") for r in rows] for k in keys}
    atomic_write_text(path, json.dumps(series))
    return series


def core_seconds(rows: list[dict]) -> float:
    """Seconds a run's generations took, summed from metrics.csv (over every sitting of a
    resumed run, which a clock in one process would miss); 0 when the rows lack the time."""
    return sum(float(r.get("time/elapsed_s") or 0.0) for r in rows)


def _metrics(run_dir: Path) -> list[dict]:
    return read_csv(run_dir / "metrics.csv")


class TrainKind:
    """'train': ordinary run directories through the trainer."""

    @staticmethod
    def train(cfg: Config, run_dir: Path):
        from pbml_control.running.checkpoint import load_checkpoint, split_arrays
        from pbml_control.running.run import RunFinished, resume_run, start_run

        if list_checkpoints(run_dir / "checkpoints"):
            try:
                resume_run(run_dir, progress=False, summary=False)
            except RunFinished:  # finished before the study was stopped: nothing to redo
                pass
        else:
            if run_dir.exists():  # stopped before its first checkpoint: nothing to keep
                shutil.rmtree(run_dir)
            start_run(cfg, run_dir, progress=False, summary=False)
        arrays, _ = load_checkpoint(run_dir)
        obs = split_arrays(arrays, "obs")
        return Population.from_arrays(split_arrays(arrays, "pop")), (obs or None)

    @staticmethod
    def run_metrics(cfg: Config, rows: list[dict], population: Population, run_dir: Path) -> dict:
        """tracking; with mutation directions also velocity_alignment: the mean |cosine| between
        the best genome's directions and its velocity gradient over the modules that carry
        them, and velocity_alignment_random, the same for random directions
        (`pbml analyse directions` with its defaults)."""
        metrics = tracking(rows)
        if population.num_directions:
            from pbml_control.analysis.directions import analyse_directions

            _, modules = analyse_directions(run_dir)
            metrics["velocity_alignment"] = float(np.mean([np.mean(m.cosines) for m in modules]))
            metrics["velocity_alignment_random"] = float(
                np.mean([m.random_cosine for m in modules])
            )
        return metrics

    @staticmethod
    def probe_source(name: str, cfg: Config, run_dir: Path, population: Population, obs):
        """(population, observation statistics) a probe set starts from."""
        if name == FINAL:
            return population, obs
        if name == SWAP:
            from pbml_control.running.checkpoint import load_checkpoint

            _, meta = load_checkpoint(run_dir)
            layout = ModuleLayout.from_dict(meta["layout"]) if "layout" in meta else None
            return with_initial_mutation(population, cfg.population, layout), obs
        from pbml_control.running.callbacks import kept_checkpoint
        from pbml_control.running.checkpoint import load_checkpoint, split_arrays

        budget = int(name.split("=", 1)[1])
        path = kept_checkpoint(run_dir, budget)
        if path is None:
            raise ConfigError(
                f"'{run_dir}' kept no checkpoint at {budget} rollouts (run.keep_at_rollouts); "
                "was it trained before the study probed budgets?"
            )
        arrays, _ = load_checkpoint(path)
        obs_arrays = split_arrays(arrays, "obs")
        return Population.from_arrays(split_arrays(arrays, "pop")), (obs_arrays or None)

    @staticmethod
    def probe(
        cfg: Config, probe: ProbeSpec, population: Population, obs, seed: int = 0
    ) -> list[dict]:
        import pbml_envs

        from pbml_control.rollout import pool_from_config
        from pbml_control.running.trainer import TrainState, build_experiment, train
        from pbml_control.running.transfer import CurveRecorder
        from pbml_control.seeding import Purpose, stream

        goals = pbml_envs.sample_goals(
            cfg.task.id, goal_rng(probe, seed), probe.goals, split="test",
            stratified=probe.goal_draw == "per_seed",
        )  # fmt: skip
        founders = probe_founders(population, probe)
        results = []
        with pool_from_config(cfg.pool) as pool:
            for k, env_seed in probe_goal_seeds(probe, seed):
                pcfg = probe_config(cfg, probe, goals[k], env_seed)
                exp = build_experiment(pcfg, pool=pool)
                stats = _stats(obs) if cfg.policy.obs_norm else None
                state = TrainState(founders, stream(env_seed, Purpose.TRANSFER), stats)
                recorder = CurveRecorder()
                train(exp, state, [recorder])
                curve = np.array([r["fitness_max"] for r in recorder.rows])
                results.append(_probe_row(k, goals[k], env_seed, curve, probe))
        return results


def _stats(obs):
    from pbml_policies import RunningStats

    return RunningStats.from_arrays(obs) if obs else None


def probe_config(cfg: Config, probe: ProbeSpec, goal: np.ndarray, env_seed: int) -> Config:
    """The arm's config turned into one probe: a fixed held-out goal, the probe's selection."""
    pcfg = copy.deepcopy(cfg)
    pcfg.population = probe_selection(cfg, probe)
    pcfg.goals.schedule, pcfg.goals.goal = "fixed", np.atleast_1d(goal).tolist()
    pcfg.run.generations = probe.generations + 1
    pcfg.run.budget_rollouts = pcfg.run.budget_env_steps = 0
    pcfg.run.seed = env_seed
    return pcfg.validate()


def _probe_row(k: int, goal, env_seed: int, curve: np.ndarray, probe: ProbeSpec) -> dict:
    return {
        "goal_index": k,
        "goal": " ".join(f"{v:.6g}" for v in np.atleast_1d(goal)),
        "env_seed": env_seed,
        "f0": float(curve[0]),
        **scores(curve, probe.at, probe.reference),
        "curve": [float(v) for v in curve],
    }


class MovingKind:
    """'moving': the moving-target toy world, evolved in-process (a run takes a second)."""

    WORLD = "moving"

    @classmethod
    def world(cls, cfg: Config, seed: int, **extra):
        from pbml_envs.toy.moving import MovingTargetWorld
        from pbml_envs.toy.subspace import SubspaceWorld

        from pbml_control.experiments.common import world_seed

        world = {"moving": MovingTargetWorld, "subspace": SubspaceWorld}[cls.WORLD]
        # goals.schedule 'fixed' (the static control): the first goal for the whole run.
        period = cfg.goals.every if cfg.goals.schedule != "fixed" else 2**62
        try:
            return world(period=period, seed=world_seed(0, seed), **cfg.task.kwargs, **extra)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"task.kwargs of the {cls.WORLD} world: {err}") from err

    @classmethod
    def train(cls, cfg: Config, run_dir: Path):
        from pbml_control.running.run_files import CsvLog

        final = run_dir / "final.npz"
        if final.is_file() and (run_dir / "metrics.csv").is_file():
            from pbml_policies.io import read_npz

            return Population.from_arrays(read_npz(final.read_bytes())), None
        if run_dir.exists():  # an interrupted toy run (about a second): start over
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        atomic_write_text(run_dir / "config.toml", dump_config(cfg))
        pop, rows = evolve_budget(cfg, cls.world(cfg, cfg.run.seed), cfg.run.seed)
        CsvLog(run_dir / "metrics.csv").append(rows)
        buffer = io.BytesIO()
        np.savez(buffer, **pop.to_arrays())
        atomic_write_bytes(final, buffer.getvalue())
        return pop, None

    @staticmethod
    def run_metrics(cfg: Config, rows: list[dict], population: Population, run_dir: Path) -> dict:
        return tracking(rows)

    @classmethod
    def probe_source(cls, name: str, cfg: Config, run_dir: Path, population: Population, obs):
        if name == SWAP:
            layout = ModuleLayout(*zip(*cls.world(cfg, 0).modules, strict=True))
            return with_initial_mutation(population, cfg.population, layout), obs
        return population, obs  # 'final' (the loader refuses budgets for this kind)

    @classmethod
    def probe(
        cls, cfg: Config, probe: ProbeSpec, population: Population, obs, seed: int = 0
    ) -> list[dict]:
        founders = probe_founders(population, probe)
        shape = cls.world(cfg, cfg.run.seed)  # the run's world: the subspace goals live in
        rng = goal_rng(probe, seed)
        goals = [shape.draw_goal(rng) for _ in range(probe.goals)]
        pcfg = Config(population=probe_selection(cfg, probe))
        pcfg.run.generations = probe.generations + 1
        results = []
        for k, env_seed in probe_goal_seeds(probe, seed):
            world = cls.world(cfg, env_seed, fixed_goal=tuple(goals[k].tolist()))
            _, rows = evolve_budget(pcfg, world, env_seed, start=founders)
            curve = np.array([r["pop/fitness_max"] for r in rows])
            results.append(_probe_row(k, goals[k], env_seed, curve, probe))
        return results


def evolve_budget(cfg: Config, world, seed: int, start: Population | None = None):
    """Evolve the toy world until cfg.run's generations or rollout budget; (population, rows)
    with the trainer's metric names, so the study reads toy and MuJoCo runs alike."""
    from pbml_control.analysis.metrics import lineage_metrics, mutation_metrics
    from pbml_control.evolution.selection import make_strategy
    from pbml_control.experiments.common import evolve, streams

    layout = ModuleLayout(*zip(*world.modules, strict=True))
    strategy = make_strategy(cfg.population.strategy, cfg.population, layout)
    rngs = streams(0, seed, ("founders", "selection"))
    if start is None:
        start = strategy.init(world.founders(cfg.population.size), rngs["founders"])
        if start.num_directions and hasattr(world, "prepare"):  # the subspace oracle
            start.dirs = np.array(world.prepare(start.dirs), dtype=np.float32)

    def record(pop: Population, fitness: np.ndarray) -> dict[str, Any]:
        return {
            "goal/segment": world.segment(pop.generation),
            "pop/fitness_max": float(np.max(fitness)), "pop/fitness_mean": float(np.mean(fitness)),
            **lineage_metrics(pop), **mutation_metrics(pop, layout),
        }  # fmt: skip

    pop, rows = evolve(
        strategy, start, world.fitness, cfg.run.generations, rngs["selection"], record,
        world.changes, cfg.run.budget_rollouts,
    )  # fmt: skip
    for row in rows:
        row["budget/rollouts_total"] = row.pop("evaluations")
        del row["evaluated"]
    return pop, rows


def tracking(rows: list[dict]) -> dict[str, float]:
    """How well a run tracked its moving goal: the mean best fitness over its second half."""
    values = [float(r["pop/fitness_max"]) for r in rows[len(rows) // 2 :]]
    return {"tracking": float(np.mean(values)) if values else float("nan")}


class SubspaceKind(MovingKind):
    """'subspace': the subspace toy world (`pbml_envs.toy.subspace`), the positive control for
    mutation directions; like 'moving', with the share of the directions inside the goals'
    subspace as a run metric."""

    WORLD = "subspace"

    @classmethod
    def run_metrics(
        cls, cfg: Config, rows: list[dict], population: Population, run_dir: Path
    ) -> dict:
        metrics = tracking(rows)
        if population.num_directions:
            world = cls.world(cfg, cfg.run.seed)
            best = int(np.nanargmax(np.where(np.isnan(population.fitness), -np.inf,
                                             population.fitness)))  # fmt: skip
            metrics["alignment"] = float(world.in_subspace(population.dirs[best]).mean())
            metrics["alignment_mean"] = float(world.in_subspace(population.dirs).mean())
        return metrics


KINDS = {"train": TrainKind, "moving": MovingKind, "subspace": SubspaceKind}
