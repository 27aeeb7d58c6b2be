"""Start, resume and finish runs: the run directory around the generation loop.

`start_run` and `resume_run` are what `pbml train` and `pbml resume` call, and they do all of it:
the default callbacks (plus any the caller passes), the loop, then the summary and the plots
(`finish_run`). On Ctrl-C or SIGTERM the last whole generation is checkpointed and the
KeyboardInterrupt carries where (`checkpoint`, `run_dir` attributes, and a note saying how to
resume).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pbml_control.analysis.plots import LineageShares
from pbml_control.errors import CheckpointError, ConfigError, UserError
from pbml_control.evolution.ancestry import Ancestry
from pbml_control.evolution.genome import Population
from pbml_control.running.best import BestGenomes
from pbml_control.running.callbacks import (
    Checkpointer,
    LineageLog,
    MetricsLog,
)
from pbml_control.running.checkpoint import (
    atomic_write_text,
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
    split_arrays,
)
from pbml_control.running.config import Config, config_from_toml_text, dump_config, imports_unasked
from pbml_control.running.lock import folder_lock
from pbml_control.running.progress import Progress
from pbml_control.running.restore import check_state, own_config, resumed_config
from pbml_control.running.run_files import MARKER, best_generation, prepare_run_dir
from pbml_control.running.scoring import Scoring
from pbml_control.running.trainer import (
    Experiment,
    TrainState,
    build_experiment,
    initial_state,
    reached_end,
    train,
)
from pbml_control.seeding import generator_from_state
from pbml_control.signals import interrupts_held, sigterm_as_interrupt


class RunFinished(UserError):
    """`resume_run` on a run that already reached its end: nothing to do (the message says how to
    ask for more generations)."""


def default_callbacks(run_dir: Path, cfg: Config, progress: bool = True) -> list:
    """The run directory's writers (metrics, lineages, shares, checkpoints, best genomes, and
    TensorBoard when `run.tensorboard`), then the progress display."""
    callbacks = [MetricsLog(run_dir)]
    if cfg.run.tensorboard:
        from pbml_control.running.tensorboard import TensorBoardLog

        callbacks.append(TensorBoardLog(run_dir))
    callbacks += [
        LineageLog(run_dir),
        LineageShares(run_dir),
        Checkpointer(
            run_dir, cfg.run.checkpoint_every, cfg.run.keep_checkpoints, cfg.run.keep_at_rollouts
        ),
        BestGenomes(run_dir),
    ]
    return callbacks + ([Progress()] if progress else [])


def finish_run(run_dir: Path | str, cfg: Config, summary: bool = True) -> list[Path]:
    """What the end of a run prints and writes: the summary (when `summary`), then the plots
    (when `run.plots`); returns the plot files."""
    from pbml_control.analysis.plots import plot_run
    from pbml_control.analysis.report import print_summary

    run_dir = Path(run_dir)
    if summary:
        print_summary(run_dir)
    written = plot_run(run_dir) if cfg.run.plots else []
    if summary and written:
        print(f"plots: {', '.join(str(p) for p in written)}")
    return written


def _run(exp: Experiment, state: TrainState, callbacks: list, run_dir: Path) -> TrainState:
    """The loop with its end: on Ctrl-C or SIGTERM the last whole generation is checkpointed,
    and the interrupt says which checkpoint and how to resume."""
    interrupted = True
    try:
        with sigterm_as_interrupt():
            state = train(exp, state, callbacks)
        interrupted = False
    except KeyboardInterrupt as err:
        with interrupts_held():  # a second Ctrl-C must not cut the checkpoint or the cleanup
            _close(callbacks)
            _save_on_interrupt(exp, callbacks, run_dir, err)
            exp.pool.close()
        raise
    finally:
        exp.pool.close()
    for cb in callbacks:
        cb.on_end(exp, state, interrupted)
    return state


def _close(callbacks: list) -> None:
    """Callbacks that hold something open (a progress bar, a TensorBoard writer) release it."""
    for cb in callbacks:
        close = getattr(cb, "close", None)
        if callable(close):
            close()


def _save_on_interrupt(exp: Experiment, callbacks: list, run_dir: Path, err) -> None:
    for cb in callbacks:
        if isinstance(cb, Checkpointer) and cb.latest is not None:
            err.checkpoint = cb.save(exp, cb.latest)
            err.generation = cb.latest.population.generation
            err.run_dir = run_dir
            err.add_note(
                f"saved checkpoint {err.checkpoint} (generation {err.generation}); continue "
                f"with: {resume_command(run_dir)}"
            )


def resume_command(run_dir: Path, generations: int | None = None) -> str:
    more = f" --generations {generations}" if generations is not None else ""
    return f"pbml resume {shlex.quote(str(run_dir))}{more}"


def start_run(
    cfg: Config,
    run_dir: Path | str,
    overwrite: bool = False,
    progress: bool = True,
    callbacks: Sequence = (),
    summary: bool = True,
) -> TrainState:
    """A fresh run in `run_dir` (missing parent folders are created): writes config.toml, trains
    with the default callbacks plus `callbacks` (objects with the `Callback` methods), then
    `finish_run` prints the summary (unless `summary` is false) and writes the plots."""
    run_dir = Path(run_dir)
    if cfg.run.tensorboard:  # a missing package fails before anything is written
        from pbml_control.running.tensorboard import summary_writer_class

        summary_writer_class()

    def fresh(exp: Experiment) -> TrainState:
        prepare_run_dir(run_dir, overwrite)
        atomic_write_text(run_dir / "config.toml", dump_config(cfg))
        return initial_state(exp)

    with folder_lock(run_dir, "run directory"):
        return _launch(cfg, run_dir, fresh, progress, callbacks, summary)


def _launch(
    cfg: Config,
    run_dir: Path,
    starting_state: Callable[[Experiment], TrainState],
    progress: bool,
    callbacks: Sequence,
    summary: bool,
) -> TrainState:
    """Build the experiment, get the state to start from (the pool is closed if that fails),
    train with the default callbacks plus `callbacks`, then print the summary and plot."""
    exp = build_experiment(cfg)
    try:
        state = starting_state(exp)
    except BaseException:
        exp.pool.close()
        raise
    state = _run(exp, state, [*default_callbacks(run_dir, cfg, progress), *callbacks], run_dir)
    finish_run(run_dir, cfg, summary)
    return state


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
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
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
    state = TrainState(population, rng, obs_stats, steps, rollouts, ancestry, scoring)
    check_state(exp, state, meta, f"generation {meta.get('generation', '?')}")
    return state


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


def restart_run(
    run_dir: Path, generations: int | None, progress: bool, callbacks: Sequence, summary: bool
) -> TrainState:
    """Start a run that never reached a checkpoint again from generation 0, with its saved config
    (nothing is lost: no generation was complete), as `start_run` would have run it: the folder
    is ours (its marker), so it is cleared and trained afresh."""
    cfg = read_checkpoint_config({"config": (run_dir / "config.toml").read_text()})
    if generations is not None:
        cfg.run.generations = generations
    return start_run(cfg, run_dir, True, progress, callbacks, summary)


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
    callbacks: Sequence = (),
    summary: bool = True,
) -> TrainState:
    """Continue a run from its latest checkpoint (or `checkpoint`, one of its own), bit for bit,
    up to `generations` in total, with the default callbacks plus `callbacks`; then, like
    `start_run`, the summary and the plots. RunFinished if the run already reached its end. A run
    stopped before its first checkpoint starts again from generation 0."""
    run_dir = Path(run_dir)
    if checkpoint is None and stopped_before_first_checkpoint(run_dir):
        return restart_run(run_dir, generations, progress, callbacks, summary)
    check_run_dir(run_dir)
    with folder_lock(run_dir, "run directory"):
        return _resume(run_dir, generations, progress, checkpoint, callbacks, summary)


def _resume(run_dir, generations, progress, checkpoint, callbacks, summary) -> TrainState:
    if checkpoint is not None:
        found = resolve_checkpoint(checkpoint)
        if found.parent.resolve() != (run_dir / "checkpoints").resolve():
            raise UserError(f"--checkpoint '{checkpoint}' is not in '{run_dir / 'checkpoints'}'")
    arrays, meta = load_checkpoint(checkpoint or run_dir)  # verified before anything is touched
    # The checkpoint restores state; where and how the run runs comes from its config.toml.
    cfg, note = resumed_config(read_checkpoint_config(meta), own_config(run_dir), run_dir)
    done = int(meta["generation"])
    if generations is not None:
        if generations < max(done, 1):
            raise ConfigError(
                f"--generations {generations} is below the {done} generations the checkpoint "
                "already holds"
            )
        cfg.run.generations = generations
    check_not_finished(run_dir, cfg, meta)

    def saved(exp: Experiment) -> TrainState:
        state = load_run_state(exp, arrays, meta)
        if note:  # the resume goes ahead: say what of config.toml it did not take
            print(note, file=sys.stderr)
        atomic_write_text(run_dir / "config.toml", dump_config(cfg))
        return state

    return _launch(cfg, run_dir, saved, progress, callbacks, summary)


def check_not_finished(run_dir: Path, cfg: Config, meta: dict) -> None:
    """RunFinished when the checkpoint is at the run's end and the end was written (best/ of that
    generation); a run stopped between its last checkpoint and its end still finishes."""
    done = int(meta["generation"])
    counts = int(meta.get("rollouts", 0)), int(meta.get("env_steps", 0))
    if not reached_end(cfg, done, *counts) or best_generation(run_dir) != done:
        return
    run = cfg.run
    if run.generations and done >= run.generations:
        raise RunFinished(
            f"run '{run_dir}' is finished: it reached its {done} generations; nothing to do. To "
            f"train further, ask for more generations in total: {resume_command(run_dir, 2 * done)}"
        )
    limit = "budget_rollouts" if run.budget_rollouts else "budget_env_steps"
    raise RunFinished(
        f"run '{run_dir}' is finished: it spent its budget (run.{limit} = {getattr(run, limit)}) "
        f"at generation {done}; nothing to do (a resume keeps the budget: to spend more, start a "
        f"new run with a larger run.{limit})"
    )
