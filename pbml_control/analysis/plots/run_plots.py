"""`plot_run`: every plot a run directory has the data for, written into RUN_DIR/plots/.

- fitness.png: max, mean and median fitness, goal changes marked (metrics.csv)
- mutation.png: per-module mutation radius and gate (metrics.csv)
- muller.png: lineage shares over generations (lineage_shares.csv, when recorded)
- adaptation_<name>.png: adaptation curves per source (transfers/<name>/adaptation.csv)
"""

from __future__ import annotations

from pathlib import Path

from pbml_control.analysis.plots import data, figures
from pbml_control.analysis.plots.muller import muller_figure
from pbml_control.analysis.plots.shares import FILE as SHARES_FILE
from pbml_control.errors import UserError

FITNESS = {"max": "pop/fitness_max", "mean": "pop/fitness_mean", "median": "pop/fitness_median"}
ADAPTATION = ("fitness_max", "fitness_mean")


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write the run's plots; returns the files written (none before the first generation)."""
    run_dir = Path(run_dir)
    metrics = run_dir / "metrics.csv"
    if not metrics.is_file():
        raise UserError(f"'{run_dir}' has no metrics.csv; is it a run directory?")
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    written: list[Path] = []
    rows = data.read_rows(metrics)
    if rows:
        cfg = run_config(run_dir)
        note, unit = controls_note(cfg), goal_unit(cfg.task.id if cfg else "")
        written += [_fitness(rows, out, note, unit), _mutation(rows, out, note, unit)]
        shares = run_dir / SHARES_FILE
        if shares.is_file():
            written.append(_muller(data.read_rows(shares), rows, out))
    for path in sorted((run_dir / "transfers").glob("*/adaptation.csv")):
        written.extend(plot_adaptation(path, out))
    return written


def run_config(run_dir: Path):
    """The run's config, or None when config.toml is missing or unreadable (plots still work)."""
    from pbml_control.errors import ConfigError
    from pbml_control.running.config import config_from_toml_text

    try:
        return config_from_toml_text((run_dir / "config.toml").read_text())
    except (OSError, UnicodeDecodeError, ValueError, ConfigError):
        return None


#: Unit of a goal, keyed by words of the task's goal text (pbml_envs states the goal in words
#: such as "a target forward velocity in m/s"; it has no unit field).
UNIT_WORDS = (("m/s", "m/s"), ("radian", "rad"), ("position", "m"))


def goal_unit(task_id: str) -> str:
    """'m/s', 'rad', 'm' or '' (a sign, a toy world or an unknown task) for a task's goal."""
    try:
        from pbml_envs.tasks import task_spec

        text = task_spec(task_id).goal_space.range_text
    except (ValueError, AttributeError):
        return ""
    return next((unit for word, unit in UNIT_WORDS if word in text), "")


#: The selection rules in words, for figure headings (`population.strategy` names them in code).
STRATEGY_WORDS = {
    "pbml": "PBML selection",
    "pbml_paper": "PBML selection (the paper's rule)",
    "greedy": "greedy selection",
    "drift": "drift control (random ranks)",
    "truncation": "truncation selection",
}


def goals_words(goals) -> str:
    """How the goal changed, in words: 'a new goal every 20 generations', 'one fixed goal'."""
    if goals.schedule == "fixed":
        return "one fixed goal"
    if goals.schedule == "list":
        return f"listed goals, {goals.every} generations each"
    return f"a new goal every {goals.every} generations"


def controls_note(cfg) -> str:
    """The strategy and the controls a run used, for the figures' headings ('' if unknown).
    `cfg` is a Config or a run directory to read it from."""
    if isinstance(cfg, str | Path):
        cfg = run_config(Path(cfg))
    if cfg is None:
        return ""
    pop = cfg.population
    parts = [STRATEGY_WORDS.get(pop.strategy, f"{pop.strategy} selection"), goals_words(cfg.goals)]
    if pop.mutation.frozen:
        parts.append("CONTROL: mutation function frozen")
    if pop.init_from:
        how = "reset to initial (swap control)" if pop.init_mutation == "initial" else "inherited"
        parts.append(f"founders from {Path(pop.init_from).name}, mutation {how}")
    return "; ".join(parts)


def _fitness(rows: data.Rows, out: Path, note: str = "", unit: str = "") -> Path:
    series = {name: data.column(rows, key) for name, key in FITNESS.items()}
    gens = data.column(rows, "generation")
    fig = figures.fitness_figure(gens, series, data.goal_changes(rows), unit)
    return figures.save(figures.with_note(fig, note), out / "fitness.png")


def _mutation(rows: data.Rows, out: Path, note: str = "", unit: str = "") -> Path:
    names = data.modules(rows)
    sigma = {m: data.column(rows, f"mut/sigma/{m}") for m in names}
    gate = {m: data.column(rows, f"mut/gate/{m}") for m in names}
    scale = {m: data.column(rows, f"mut/dir_scale/{m}") for m in names
             if f"mut/dir_scale/{m}" in rows[0]}  # fmt: skip
    gens = data.column(rows, "generation")
    fig = figures.mutation_figure(gens, sigma, gate, data.goal_changes(rows), unit, scale)
    return figures.save(figures.with_note(fig, note), out / "mutation.png")


def _muller(share_rows: data.Rows, rows: data.Rows, out: Path) -> Path:
    matrix = data.share_matrix(share_rows)
    fig = muller_figure(matrix, data.goal_changes(rows))
    return figures.save(fig, out / "muller.png")


def plot_adaptation(path: Path, out: Path) -> list[Path]:
    """adaptation_<name>.png in `out` from a transfer's adaptation.csv (<name>: its folder)."""
    rows = data.read_rows(path)
    if not rows:
        return []
    name = path.parent.name
    missing = {"source", "goal_index", "seed", "generation", *ADAPTATION} - set(rows[0])
    if missing:
        raise UserError(f"'{path}' lacks column(s): {', '.join(sorted(missing))}")
    panels = {key: data.adaptation_curves(rows, key) for key in ADAPTATION}
    return [figures.save(figures.adaptation_figure(name, panels), out / f"adaptation_{name}.png")]
