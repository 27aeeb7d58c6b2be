"""The Python API in a few lines: train, resume, evaluate, load and export.

```python
import pbml_control

run = pbml_control.train("quickstart", population=32, generations=50)
print(run.evaluate(episodes=10)[0].interval())   # mean, sd and 95% interval on fresh seeds
policy = run.best_policy()                        # a pbml_policies.PolicyRecord
run.export("controller.pt")
run = pbml_control.resume(run.path, generations=80)
result = run.transfer(goal=3.5, compare=True)     # adapt to a new goal, next to scratch
report = pbml_control.run_study("studies/moving_target.toml", "moving_study")
```

These wrap the same functions the CLI calls (`start_run`, `resume_run`, `evaluate_run`,
`export_controller`, `transfer_into`, `study_and_report`); the ask/tell layer
(`pbml_control.evolution.selection.make_strategy`, `pbml_control.running.trainer.train`) stays
available underneath. Process-pool workers start with forkserver, so a script that trains guards
its entry with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Keyword shortcuts of `train` and the config keys they set.
SHORTCUTS = {
    "population": "population.size",
    "generations": "run.generations",
    "seed": "run.seed",
    "strategy": "population.strategy",
    "workers": "pool.workers",
    "backend": "pool.backend",
    "budget_rollouts": "run.budget_rollouts",
    "task": "task.id",
    "episode_steps": "task.episode_steps",
    "goals_every": "goals.every",
    "policy": "policy.name",
}


@dataclass
class Run:
    """A run directory, with what a user does next with it."""

    path: Path

    @property
    def config(self):
        """The run's resolved config (its config.toml) as a `Config`."""
        from pbml_control.errors import UserError
        from pbml_control.running.config import config_from_toml_text

        try:
            text = (self.path / "config.toml").read_text()
        except OSError as err:
            raise UserError(f"'{self.path}' has no readable config.toml: {err}") from err
        return config_from_toml_text(text)

    def metrics(self) -> list[dict[str, float]]:
        """metrics.csv, one dict a generation (column -> number; an empty cell is NaN, text such
        as a 2-D goal stays text)."""
        from pbml_control.running.run_files import read_csv

        return [
            {k: _number(v) for k, v in row.items()} for row in read_csv(self.path / "metrics.csv")
        ]

    def evaluate(self, episodes: int = 10, lineages: int = 1, goal: list[float] | None = None):
        """The best genomes re-scored on fresh episode seeds (`pbml evaluate`): a list of
        `pbml_control.running.evaluate.Evaluation`, best lineage first."""
        from pbml_control.running.evaluate import evaluate_run

        return evaluate_run(self.path, episodes, lineages, goal)[1]

    def best_policy(self, rank: int = 0):
        """The best genome of the rank-th lineage as a `pbml_policies.PolicyRecord` (policy,
        weights, statistics, and the task, goal and seeds that reproduce its fitness)."""
        import json

        from pbml_policies import load_policy

        from pbml_control.errors import UserError

        try:
            index = json.loads((self.path / "best" / "index.json").read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"'{self.path}' has no readable best/ (has it finished?)") from err
        entries = sorted(index["genomes"], key=lambda e: e["rank"])
        if not 0 <= rank < len(entries):
            raise UserError(f"rank {rank}: the run has {len(entries)} lineage(s) in best/")
        return load_policy(self.path / "best" / entries[rank]["file"])

    def export(self, out: str | Path, overwrite: bool = False, **options: Any) -> Path:
        """A TorchScript controller of the best genome (`pbml export`); options as there."""
        from pbml_control.running.export import export_controller

        return export_controller(self.path, Path(out), overwrite=overwrite, **options).path

    def resume(self, generations: int | None = None, progress: bool = False) -> Run:
        return resume(self.path, generations, progress)

    def transfer(
        self,
        goal: float | list[float] | None = None,
        *,
        num_goals: int = 3,
        split: str = "test",
        generations: int = 10,
        seeds: int = 2,
        compare: bool = False,
        baselines: dict[str, str | Path] | None = None,
        task: str | None = None,
        strategy: str | None = None,
        out: str | Path | None = None,
        overwrite: bool = False,
    ):
        """Adapt the final population to new goals (`pbml transfer`, same defaults): ``goal``,
        or ``num_goals`` goals drawn from ``split``; ``compare`` adds a population from scratch,
        ``baselines`` other runs by name. Returns a `TransferResult` (folder, rows, summary());
        the folder defaults to RUN_DIR/transfers/<task>_<goal or split and count>."""
        from pbml_control.errors import UserError
        from pbml_control.running import transfer_folder as tf
        from pbml_control.running.transfer import TransferPlan, load_source_config

        if generations < 1 or seeds < 1:
            raise UserError("transfer(): generations and seeds must be >= 1")
        if split not in ("test", "train"):
            raise UserError(f"transfer(): split must be 'test' or 'train', got {split!r}")
        try:
            values = None if goal is None else [float(v) for v in _as_list(goal)]
        except (TypeError, ValueError):
            raise UserError(
                f"transfer(): goal must be a number or a list of numbers, got {goal!r}"
            ) from None
        text = None if goal is None else ",".join(str(v) for v in _as_list(goal))  # folder name
        value = values[0] if values is not None and len(values) == 1 else values
        task_id = task or load_source_config(self.path).task.id
        goals = tf.plan_goals(task_id, value, split, num_goals)
        plan = TransferPlan(task_id, goals, generations, seeds, strategy)
        folder = (
            Path(out)
            if out is not None
            else tf.default_folder(self.path, task_id, text, split, num_goals)
        )
        baseline_text = [f"{name}={path}" for name, path in (baselines or {}).items()]
        return tf.transfer_into(
            folder, tf.transfer_sources(self.path, compare, baseline_text), plan, overwrite
        )


def run_study(
    study_file: str | Path,
    out: str | Path | None = None,
    *,
    workers: int = 2,
    backend: str = "process",
    address: str = "",
    report_only: bool = False,
    max_core_hours: float | None = None,
) -> Path:
    """Run (or continue) a study file, as `pbml study` does, and return its report.md; the
    folder defaults to runs/studies/<study name>. ``max_core_hours``: no run starts once the
    study has spent that many core-hours (`--max-core-hours`)."""
    from pbml_control.study.command import study_and_report

    return study_and_report(
        study_file, out, workers, backend, address, report_only, max_core_hours
    )[0]


def train(
    config: str | Path = "quickstart",
    out: str | Path | None = None,
    *,
    set: list[str] | None = None,  # noqa: A002 (the CLI's --set)
    progress: bool = False,
    overwrite: bool = False,
    **shortcuts: Any,
) -> Run:
    """Train a config (a file, or a packaged config's name) and return the run.

    ``shortcuts`` are the common settings by keyword (`SHORTCUTS`: population, generations,
    seed, strategy, workers, backend, budget_rollouts, task, episode_steps, goals_every,
    policy); ``set`` takes any other as the CLI's
    ``--set`` does ("population.mutation.directions=2"). ``out`` defaults to runs/<run.name>."""
    from pbml_control.errors import UserError
    from pbml_control.running.config import load_config
    from pbml_control.running.packaged import resolve_config
    from pbml_control.running.run import start_run

    unknown = sorted(set_ for set_ in shortcuts if set_ not in SHORTCUTS)
    if unknown:
        raise UserError(
            f"train() got unknown setting(s) {unknown}; shortcuts: {', '.join(SHORTCUTS)}, any "
            "other config key through set=['section.key=value']"
        )
    overrides = [f"{SHORTCUTS[k]}={_toml(v)}" for k, v in shortcuts.items()] + list(set or [])
    cfg = load_config(resolve_config(config), overrides)
    path = Path(out) if out is not None else Path("runs") / cfg.run.name
    start_run(cfg, path, overwrite=overwrite, progress=progress, summary=progress)
    return Run(path)


def resume(path: str | Path, generations: int | None = None, progress: bool = False) -> Run:
    """Continue a run bit for bit (`pbml resume`); a finished run is returned as it is."""
    from pbml_control.running.run import RunFinished, resume_run

    try:
        resume_run(Path(path), generations, progress=progress, summary=progress)
    except RunFinished:
        pass
    return Run(Path(path))


def _number(text: str) -> Any:
    try:
        return float(text) if text != "" else float("nan")
    except ValueError:
        return text


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _toml(value: Any) -> str:
    """A Python value as the TOML the --set parser reads."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)
