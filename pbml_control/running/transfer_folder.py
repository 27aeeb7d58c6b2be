"""A transfer into its folder: `adaptation.csv` (written whole or not at all) and its plots, under
the folder's lock. What `pbml transfer` and `pbml_control.Run.transfer` do."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class TransferResult:
    """What a transfer wrote: its folder, its rows (one per goal, seed, source and generation)
    and the files."""

    path: Path
    rows: list[dict[str, Any]]
    written: list[Path] = field(default_factory=list)
    #: True when the folder already held the whole CSV of a transfer stopped before its plot,
    #: and only the plot was written now (``rows`` are then read back from the CSV, as text).
    completed_only: bool = False

    def summary(self) -> list[dict[str, Any]]:
        """Mean fitness max per source and generation, over goals and seeds."""
        from pbml_control.running.transfer import summary_table

        return summary_table(self.rows)


def default_folder(run_dir: Path, task_id: str, goal: str | None, split: str, num_goals: int):
    """RUN_DIR/transfers/<task>_<goal or split and count>: transfers to different goals never
    share a folder."""
    what = f"goal{goal}" if goal is not None else f"{split}{num_goals}"
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", f"{task_id.split('/')[-1]}_{what}")
    return Path(run_dir) / "transfers" / name


def plan_goals(task_id: str, goal, split: str, num_goals: int) -> list[np.ndarray]:
    """The goals to adapt to: ``goal`` (a number or a list of numbers), or ``num_goals`` goals
    drawn from ``split`` ('test' or 'train') with the transfer's own seed stream."""
    import pbml_envs

    from pbml_control.errors import UserError
    from pbml_control.seeding import Purpose, stream

    try:
        if goal is not None:
            return [pbml_envs.validate_goal(task_id, goal)]
        if split not in ("test", "train"):
            raise UserError(f"transfer: split must be 'test' or 'train', got {split!r}")
        if num_goals < 1:
            raise UserError(f"--num-goals must be >= 1, got {num_goals}")
        rng = stream(0, Purpose.TRANSFER, 1)
        return list(pbml_envs.sample_goals(task_id, rng, num_goals, split=split))
    except ValueError as err:
        raise UserError(str(err)) from err


def transfer_sources(run_dir: Path, compare: bool, baselines: list[str]) -> list:
    """The populations to adapt: the run's own, a population from scratch when ``compare``,
    and each ``NAME=RUN_DIR`` baseline."""
    from pbml_control.errors import UserError
    from pbml_control.running.transfer import Source

    sources = [Source("run", Path(run_dir))]
    if compare:
        sources.append(Source("scratch", None))
    for text in baselines:
        name, _, path = text.partition("=")
        if not name or not path:
            raise UserError(f"--baseline expects NAME=RUN_DIR, got '{text}'")
        sources.append(Source(name, Path(path)))
    return sources


def transfer_into(out: Path, sources, plan, overwrite: bool = False) -> TransferResult:
    """Run ``plan`` for ``sources`` (`pbml_control.running.transfer`) into the folder ``out``;
    an existing transfer there is refused unless ``overwrite``."""
    from pbml_control.running.checkpoint import atomic_write_text
    from pbml_control.running.lock import folder_lock
    from pbml_control.running.run_files import claim_folder, create_parents, read_csv
    from pbml_control.running.transfer import CURVE_FIELDS, run_transfer

    out = Path(out)
    with folder_lock(out, "transfer folder"):
        if not overwrite and interrupted_after_csv(out):  # killed before its plot
            rows = read_csv(out / "adaptation.csv")
            return TransferResult(out, rows, write_plot(out), completed_only=True)
        refusal = f"'{out}' already holds a transfer; pass --overwrite to replace it"
        create_parents(out)
        claim_folder(out, overwrite, "adaptation.csv", "`pbml transfer`", refusal)
        rows = run_transfer(sources, plan)
        out.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, CURVE_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / "adaptation.csv", buffer.getvalue())  # whole, or not there
        return TransferResult(out, rows, [out / "adaptation.csv", *write_plot(out)])


def interrupted_after_csv(out: Path) -> bool:
    """A transfer folder whose CSV was written (atomically, so it is whole) and whose plot was
    not: the transfer was stopped in between, and finishing it is only the plot."""
    return (out / "adaptation.csv").is_file() and not any(out.glob("adaptation_*.png"))


def write_plot(out: Path) -> list[Path]:
    from pbml_control.analysis.plots import plot_adaptation

    return list(plot_adaptation(out / "adaptation.csv", out))
