"""`pbml plot`: every plot is written and not empty; lineage shares are recorded honestly."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

from pbml_control.analysis.plots import LineageShares, plot_run
from pbml_control.analysis.plots.shares import OTHER, share_rows
from pbml_control.cli import main
from pbml_control.evolution.genome import Population
from pbml_control.running.run_files import read_csv
from tests.helpers.tiny_run import tiny_run  # noqa: F401 (fixture)

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG


def write_adaptation(path) -> None:
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "goal_index", "seed", "generation", "fitness_max",
                         "fitness_mean"])  # fmt: skip
        for source in ("pbml", "scratch"):
            for goal in range(2):
                for seed in range(2):
                    for gen in range(5):
                        writer.writerow([source, goal, seed, gen, gen + seed, gen - goal])


def test_plot_run_writes_every_plot(tiny_run, tmp_path):  # noqa: F811
    run = shutil.copytree(tiny_run, tmp_path / "run")
    write_adaptation(run / "transfers" / "hard" / "adaptation.csv")
    written = plot_run(run)
    names = sorted(p.name for p in written)
    assert names == ["adaptation_hard.png", "fitness.png", "muller.png", "mutation.png"]
    assert all(p.parent == run / "plots" and is_png(p) for p in written)


def test_lineage_shares_sum_to_one_and_match_metrics(tiny_run):  # noqa: F811
    totals, top = defaultdict(float), defaultdict(float)
    for row in read_csv(tiny_run / "lineage_shares.csv"):
        totals[row["generation"]] += float(row["share"])
        top[row["generation"]] = max(top[row["generation"]], float(row["share"]))
    metrics = read_csv(tiny_run / "metrics.csv")
    assert sorted(totals) == [r["generation"] for r in metrics]
    assert np.allclose(list(totals.values()), 1.0)
    assert np.allclose([top[r["generation"]] for r in metrics],
                       [float(r["lineage/top_share"]) for r in metrics])  # fmt: skip


def population(lineages: list[int], shares: list[float]) -> Population:
    n = len(lineages)
    ints = np.arange(n, dtype=np.int64)
    return Population(
        params=np.zeros((n, 1), np.float32), log_sigma=np.zeros((n, 1), np.float32),
        gate_logit=np.zeros((n, 1), np.float32), ids=ints, parent_ids=ints,
        lineage_ids=np.array(lineages), birth_gen=ints * 0, shares=np.array(shares),
        fitness=np.zeros(n), scout_until=ints * 0, generation=0, next_id=n,
    )  # fmt: skip


def test_share_rows_keep_the_top_lineages_and_the_rest():
    pop = population([3, 3, 5, 7, 9, 11], [0.2, 0.2, 0.3, 0.2, 0.0985, 0.0015])
    rows = share_rows(4, pop, top=2)
    got = [(r["lineage"], round(r["share"], 6)) for r in rows]
    # the top 2, then every lineage with at least 0.2% one by one, then the rest
    assert got == [(3, 0.4), (5, 0.3), (7, 0.2), (9, 0.0985), (OTHER, 0.0015)]


def test_a_run_of_many_equal_founders_has_no_big_other_band():
    pop = population(list(range(64)), [1 / 64] * 64)
    rows = share_rows(0, pop, top=16)
    assert len(rows) == 64 and OTHER not in [r["lineage"] for r in rows]


def test_lineage_shares_drop_rows_after_the_checkpoint_on_resume(tmp_path):
    log = LineageShares(tmp_path)
    for generation in range(4):
        event = SimpleNamespace(generation=generation, evaluated=population([1, 2], [0.5, 0.5]))
        log.on_generation(None, event)
    resumed = LineageShares(tmp_path)
    resumed.on_start(None, SimpleNamespace(population=SimpleNamespace(generation=2)))
    resumed.on_generation(None, SimpleNamespace(generation=2, evaluated=population([1], [1.0])))
    generations = [int(r["generation"]) for r in read_csv(tmp_path / "lineage_shares.csv")]
    assert generations == [0, 0, 1, 1, 2]


def test_plot_cli_writes_pngs(tiny_run, tmp_path, capsys):  # noqa: F811
    run = shutil.copytree(tiny_run, tmp_path / "run")
    assert main(["plot", str(run)]) == 0
    assert "fitness.png" in capsys.readouterr().out


@pytest.mark.parametrize("make_dir", [False, True])
def test_plot_cli_bad_run_dir_is_a_one_line_error(tmp_path, capsys, make_dir):
    target = tmp_path / "not_a_run"
    if make_dir:
        target.mkdir()
    assert main(["plot", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not_a_run" in err
