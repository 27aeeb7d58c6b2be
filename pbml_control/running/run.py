"""Start, resume and finish runs: the run directory around the generation loop."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from pbml_control.analysis.plots import LineageShares
from pbml_control.errors import CheckpointError, ConfigError, Terminated, UserError
from pbml_control.evolution.ancestry import Ancestry
from pbml_control.evolution.genome import Population
from pbml_control.running.best import BestGenomes
from pbml_control.running.callbacks import (
    Checkpointer,
    LineageLog,
    MetricsLog,
    Progress,
)
from pbml_control.running.checkpoint import (
    atomic_write_text,
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
    split_arrays,
)
from pbml_control.running.config import Config, config_from_toml_text, dump_config, imports_unasked
from pbml_control.running.run_files import MARKER, prepare_run_dir
from pbml_control.running.scoring import Scoring
from pbml_control.running.trainer import (
    Experiment,
    TrainState,
    build_experiment,
    initial_state,
    train,
)
from pbml_control.seeding import generator_from_state


def default_callbacks(run_dir: Path, cfg: Config, progress: bool = True) -> list:
    callbacks = [
        MetricsLog(run_dir),
        LineageLog(run_dir),
        LineageShares(run_dir),
        Checkpointer(run_dir, cfg.run.checkpoint_every, cfg.run.keep_checkpoints),
        BestGenomes(run_dir),
    ]
    return callbacks + ([Progress()] if progress else [])


@contextmanager
def sigterm_as_interrupt():
    """While a run trains, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so that it
    takes Ctrl-C's path: the last whole generation is checkpointed before the process ends.
    Only the main thread can install signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(exp: Experiment, state: TrainState, callbacks: list) -> TrainState:
    """The loop with its end: on Ctrl-C or SIGTERM the last whole generation is checkpointed."""
    interrupted = True
    try:
        with sigterm_as_interrupt():
            state = train(exp, state, callbacks)
        interrupted = False
    except KeyboardInterrupt:
        for cb in callbacks:
            if isinstance(cb, Checkpointer) and cb.latest is not None:
                cb.save(exp, cb.latest)
        raise
    finally:
        exp.pool.close()
    for cb in callbacks:
        cb.on_end(exp, state, interrupted)
    return state


def start_run(cfg: Config, run_dir: Path | str, overwrite: bool = False, progress: bool = True):
    """A fresh run in `run_dir`: writes config.toml, then trains."""
    run_dir = Path(run_dir)
    exp = build_experiment(cfg)
    try:
        prepare_run_dir(run_dir, overwrite)
        atomic_write_text(run_dir / "config.toml", dump_config(cfg))
        state = initial_state(exp)
    except BaseException:
        exp.pool.close()
        raise
    return _run(exp, state, default_callbacks(run_dir, cfg, progress))


def load_run_state(exp: Experiment, arrays, meta) -> TrainState:
    try:
        population = Population.from_arrays(split_arrays(arrays, "pop"))
        rng = generator_from_state(meta["rng"])
        obs_stats = None
        obs = split_arrays(arrays, "obs")
        if exp.cfg.policy.obs_norm:
            from pbml_policies import RunningStats

            obs_stats = RunningStats.from_arrays(obs)
        anc = split_arrays(arrays, "anc")  # absent in checkpoints of older versions
        ancestry = Ancestry.from_arrays(anc) if anc else Ancestry.of(population)
        score = split_arrays(arrays, "score")  # absent in older checkpoints: origins unknown
        scoring = Scoring.from_arrays(score) if score else Scoring()
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise CheckpointError(f"checkpoint content is inconsistent: {err}") from err
    if int(meta.get("generation", population.generation)) != population.generation:
        raise CheckpointError(
            f"checkpoint says generation {meta.get('generation')}, its population is at "
            f"{population.generation}"
        )
    if population.params.shape[1] != exp.layout.num_params:
        raise CheckpointError(
            f"checkpoint genomes have {population.params.shape[1]} parameters, the policy "
            f"has {exp.layout.num_params}"
        )
    steps, rollouts = int(meta.get("env_steps", 0)), int(meta.get("rollouts", 0))
    return TrainState(population, rng, obs_stats, steps, rollouts, ancestry, scoring)


def read_checkpoint_config(meta: dict) -> Config:
    """The config a checkpoint holds, refusing a task id that would import a module."""
    import tomllib

    try:
        cfg = config_from_toml_text(meta["config"])
    except (KeyError, TypeError, ConfigError, tomllib.TOMLDecodeError) as err:
        raise CheckpointError(f"checkpoint holds no valid config: {err}") from err
    module = imports_unasked(cfg)
    if module:
        raise CheckpointError(
            f"the checkpoint's task.id '{cfg.task.id}' would import the module '{module}'; "
            f"loading a run never imports modules it names. If you trust it, import "
            f"'{module}' yourself and resume from Python (pbml_control.running.run.resume_run)"
        )
    return cfg


def stopped_before_first_checkpoint(run_dir: Path) -> bool:
    """A run directory `pbml train` made (its marker and config.toml) that holds no checkpoint
    yet: the run was stopped (SIGKILL, power loss) before its generation-0 checkpoint."""
    if not ((run_dir / MARKER).is_file() and (run_dir / "config.toml").is_file()):
        return False
    folder = run_dir / "checkpoints"
    return not folder.is_dir() or not list_checkpoints(folder)


def restart_run(run_dir: Path, generations: int | None, progress: bool):
    """Start a run that never reached a checkpoint again from generation 0, with its saved config
    (nothing is lost: no generation was complete), as `start_run` would have run it."""
    cfg = read_checkpoint_config({"config": (run_dir / "config.toml").read_text()})
    if generations is not None:
        cfg.run.generations = generations
    exp = build_experiment(cfg)
    try:
        state = initial_state(exp)
    except BaseException:
        exp.pool.close()
        raise
    return _run(exp, state, default_callbacks(run_dir, cfg, progress))


def check_run_dir(run_dir: Path) -> None:
    if not (run_dir / "config.toml").is_file() or not (run_dir / "checkpoints").is_dir():
        raise UserError(
            f"'{run_dir}' is not a run directory (it needs the config.toml and checkpoints/ "
            "that `pbml train` writes)"
        )


def resume_run(
    run_dir: Path | str,
    generations: int | None = None,
    progress: bool = True,
    checkpoint: Path | None = None,
):
    """Continue a run from its latest checkpoint (or `checkpoint`, one of its own), bit for bit,
    up to `generations` in total. A run stopped before its first checkpoint starts again."""
    run_dir = Path(run_dir)
    if checkpoint is None and stopped_before_first_checkpoint(run_dir):
        return restart_run(run_dir, generations, progress)
    check_run_dir(run_dir)
    if checkpoint is not None:
        found = resolve_checkpoint(checkpoint)
        if found.parent.resolve() != (run_dir / "checkpoints").resolve():
            raise UserError(f"--checkpoint '{checkpoint}' is not in '{run_dir / 'checkpoints'}'")
    arrays, meta = load_checkpoint(checkpoint or run_dir)  # verified before anything is touched
    cfg = read_checkpoint_config(meta)
    done = int(meta["generation"])
    if generations is not None:
        if generations < max(done, 1):
            raise ConfigError(
                f"--generations {generations} is below the {done} generations the checkpoint "
                "already holds"
            )
        cfg.run.generations = generations
    exp = build_experiment(cfg)
    try:
        state = load_run_state(exp, arrays, meta)
        atomic_write_text(run_dir / "config.toml", dump_config(cfg))
    except BaseException:
        exp.pool.close()
        raise
    return _run(exp, state, default_callbacks(run_dir, cfg, progress))
