"""Study figures build on random data, save as non-blank PNGs and label arms and seeds."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from pbml_control.analysis.plots.figures import save
from pbml_control.study.plots import mutation_figure, probe_figure

T = 20
GENERATIONS = np.arange(T) * 5


def _curves(rng: np.random.Generator, seeds: int, scale: float = 1.0) -> np.ndarray:
    values = scale * rng.lognormal(size=(seeds, T))
    values[0, T // 2 :] = np.nan  # a seed that stopped early
    return values


def _assert_not_blank(path) -> None:
    assert path.is_file()
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.std() > 0


def test_probe_figure_saves_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    curves = {"pbml": _curves(rng, 5), "scratch": _curves(rng, 3)}
    curves["scratch"][2] = np.nan  # a seed that never reported is not counted
    fig = probe_figure(curves, GENERATIONS, ylabel="return", title="Probe")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["pbml (n=5)", "scratch (n=2)"]
    assert ax.get_xlabel() == "probe generation" and ax.get_title() == "Probe"
    colors = {tuple(line.get_color()) for line in ax.get_lines()}
    assert len(colors) == 2
    _assert_not_blank(save(fig, tmp_path / "probe.png"))


@pytest.mark.parametrize("kind", ["sigma", "gate"])
def test_mutation_figure_one_panel_per_module(tmp_path, kind):
    rng = np.random.default_rng(1)
    scale = 0.05 if kind == "sigma" else 0.1
    per_arm = {
        arm: {m: np.clip(_curves(rng, 4, scale), 0, 1) for m in ("body", "head", "tail")}
        for arm in ("pbml", "fixed")
    }
    del per_arm["fixed"]["tail"]  # an arm without that module
    fig = mutation_figure(per_arm, GENERATIONS, kind)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["body", "head", "tail"]
    assert [len(ax.get_lines()) for ax in visible] == [2, 2, 1]
    scale_name = "log" if kind == "sigma" else "linear"
    assert all(ax.get_yscale() == scale_name for ax in visible)
    expected = "mutation radius sigma (log scale)" if kind == "sigma" else "mutation gate p"
    assert visible[0].get_ylabel() == expected
    _assert_not_blank(save(fig, tmp_path / f"mutation_{kind}.png"))


def test_mutation_curves_stop_where_fewer_than_half_the_seeds_still_run():
    values = np.full((4, T), 0.05)
    values[1:, T // 2 :] = np.nan  # 3 of 4 runs end at the middle (their rollout budget)
    values[2:, T // 4 :] = np.nan
    fig = mutation_figure({"pbml": {"body": values}}, GENERATIONS, "sigma")
    (line,) = fig.axes[0].get_lines()
    drawn = np.asarray(line.get_xdata())[~np.isnan(np.asarray(line.get_ydata(), dtype=float))]
    assert drawn.max() == GENERATIONS[T // 2 - 1]  # 2 of 4 seeds last to here, then only 1
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "pbml (n=4)"


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="kind"):
        mutation_figure({}, GENERATIONS, "radius")
    with pytest.raises(ValueError, match="pbml"):
        probe_figure({"pbml": np.ones((2, T + 1))}, GENERATIONS, "return", "Probe")
