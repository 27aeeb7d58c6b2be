"""Plots fit for a talk: every default figure is at least 1200 px wide, a one-generation run
plots without a warning, the Muller plot's colours, labels and time axis, and goal units."""

from __future__ import annotations

import shutil
import struct
import warnings

import numpy as np
import pytest

from pbml_control.analysis.plots import plot_run
from pbml_control.analysis.plots.data import ShareMatrix
from pbml_control.analysis.plots.figures import save
from pbml_control.analysis.plots.muller import (
    PALETTE,
    early_dynamics,
    lineage_colors,
    muller_figure,
    top_lineages,
)
from pbml_control.analysis.plots.run_plots import goal_unit
from pbml_control.analysis.plots.shares import OTHER
from pbml_control.experiments import plots as experiment_plots
from pbml_control.study.plots import mutation_figure, probe_figure
from tests.core.test_plots import write_adaptation
from tests.helpers.tiny_run import OVERRIDES, tiny_run, train_tiny_run  # noqa: F401 (fixture)

MIN_WIDTH = 1200


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_every_run_plot_is_at_least_1200_px_wide(tiny_run, tmp_path):  # noqa: F811
    run = shutil.copytree(tiny_run, tmp_path / "run")
    write_adaptation(run / "transfers" / "hard" / "adaptation.csv")
    written = plot_run(run)
    assert len(written) == 4
    for path in written:
        assert png_size(path)[0] >= MIN_WIDTH, path.name


def test_study_and_experiment_plots_are_at_least_1200_px_wide(tmp_path):
    rng = np.random.default_rng(0)
    gens = np.arange(6)
    curves = {"a": rng.normal(size=(3, 6)), "b": rng.normal(size=(3, 6))}
    paths = [save(probe_figure(curves, gens, "gain", "probe"), tmp_path / "probe.png")]
    per_arm = {"a": {"m": rng.lognormal(size=(3, 6))}}
    paths.append(save(mutation_figure(per_arm, gens, "sigma"), tmp_path / "sigma.png"))
    runs = {"pbml": [[{"x_mean": float(g), "log10_r_mean": -g / 10} for g in gens]]}
    experiment_plots.plot_numeric(runs, tmp_path / "numeric.png")
    paths.append(tmp_path / "numeric.png")
    for path in paths:
        assert png_size(path)[0] >= MIN_WIDTH, path.name


def test_a_one_generation_run_plots_without_warnings(tmp_path):
    overrides = [o for o in OVERRIDES if not o.startswith("run.generations")]
    run = train_tiny_run(tmp_path / "one", [*overrides, "run.generations=1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = plot_run(run)
    assert sorted(p.name for p in written) == ["fitness.png", "muller.png", "mutation.png"]


def matrix(shares: list[list[float]], lineages: list[int]) -> ShareMatrix:
    values = np.array(shares, dtype=float)
    return ShareMatrix(np.arange(len(values), dtype=float), lineages, values)


def test_top_lineages_get_distinct_palette_colours_and_labels():
    m = matrix([[0.5, 0.3, 0.1, 0.1], [0.2, 0.7, 0.05, 0.05]], [3, 8, 9, OTHER])
    top = top_lineages(m, count=2)
    assert [m.lineages[j] for j in top] == [8, 3]
    colors = lineage_colors(m.lineages, top)
    assert colors[1] == PALETTE[0] and colors[0] == PALETTE[1]
    assert colors[2] not in PALETTE and colors[3] not in PALETTE
    fig = muller_figure(m, [])
    (ax,) = fig.axes
    labels = {t.get_text() for t in ax.texts}
    assert {"L8", "L3"} <= labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["lineage 8", "lineage 3"] and legend[-1].startswith("other")


def test_time_axis_is_log_when_the_change_happens_early():
    early = [[1.0, 0.0]] * 2 + [[0.0, 1.0]] * 98  # a takeover in generation 2, then nothing
    late = [[1.0 - g / 99, g / 99] for g in range(100)]  # a steady sweep over the whole run
    assert early_dynamics(np.array(early)) and not early_dynamics(np.array(late))
    assert not early_dynamics(np.array(early[:10]))  # short runs stay linear
    (ax,) = muller_figure(matrix(early, [0, 1]), []).axes
    assert ax.get_xscale() == "function" and "log" in ax.get_xlabel()
    assert all(float(t).is_integer() for t in ax.get_xticks())
    (ax,) = muller_figure(matrix(late, [0, 1]), []).axes
    assert ax.get_xscale() == "linear"


@pytest.mark.parametrize(
    "task,unit",
    [
        ("pbml/HalfCheetahVel-v0", "m/s"),
        ("pbml/AntDir-v0", "rad"),
        ("pbml/AntGoal-v0", "m"),
        ("pbml/HalfCheetahDir-v0", ""),
        ("toy/unknown", ""),
    ],
)
def test_goal_units_come_from_the_task(task, unit):
    assert goal_unit(task) == unit


def test_fitness_plot_names_the_goal_unit(tiny_run, tmp_path):  # noqa: F811
    from pbml_control.analysis.plots import data, figures

    rows = data.read_rows(tiny_run / "metrics.csv")
    gens = data.column(rows, "generation")
    fig = figures.fitness_figure(gens, {"max": gens}, data.goal_changes(rows), "m/s")
    (ax,) = fig.axes
    assert "(m/s)" in ax.get_title()
    labels = [t.get_text() for t in ax.texts]
    assert labels[0].endswith(" m/s") and len(labels) == len(data.goal_changes(rows))
    assert "array(" not in " ".join(labels)
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_the_title_promises_goal_labels_only_when_they_are_drawn():
    from pbml_control.analysis.plots.figures import MAX_GOAL_LABELS, goal_title

    few = [(float(g), "1.5") for g in range(MAX_GOAL_LABELS)]
    many = [(float(g), "1.5") for g in range(MAX_GOAL_LABELS + 1)]
    assert goal_title("Fitness", "m/s", few).endswith("goals (m/s) on top")
    assert goal_title("Fitness", "m/s", many) == "Fitness; dotted lines: goal changes"
