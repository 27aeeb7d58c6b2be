"""The study's plots from its results and run directories: probe curves with confidence bands,
and each arm's mutation radius and gate over the training generations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.analysis.plots.figures import save
from pbml_control.study.jobs import run_dir_of, run_series
from pbml_control.study.plots import mutation_figure, probe_figure
from pbml_control.study.probe import normalised_curve
from pbml_control.study.spec import Study

Results = dict[tuple[str, int], dict[str, Any]]


def probe_curves(study: Study, results: Results) -> dict[str, np.ndarray]:
    """Per arm, (seeds, G + 1) score over probe generations (mean over the probes): the best
    fitness f_g when the study's score is 'f', else the normalised gain."""
    ref, out = study.probe.reference, {}
    raw = study.probe.score == "f"
    for arm in study.arms:
        rows = []
        for seed in study.seeds:
            if (arm, seed) not in results:
                rows.append(np.full(study.probe.generations + 1, np.nan))
                continue
            probes = results[arm, seed]["probes"]
            curves = [np.asarray(p["curve"]) if raw else normalised_curve(p["curve"], ref)
                      for p in probes]  # fmt: skip
            rows.append(np.nanmean(curves, axis=0))
        out[arm] = np.vstack(rows)
    return out


def mutation_series(study: Study, out: Path, results: Results, kind: str):
    """Per arm and module, (seeds, T) of the population-mean sigma or gate, NaN-padded."""
    series: dict[str, dict[str, list[np.ndarray]]] = {}
    prefix = f"mut/{kind}/"
    for arm, seed in sorted(results, key=lambda k: k[1]):
        for key, values in run_series(run_dir_of(out, arm, seed)).items():
            if key.startswith(prefix):
                module = series.setdefault(arm, {}).setdefault(key[len(prefix) :], [])
                module.append(np.asarray(values, dtype=np.float64))
    lengths = [len(v) for mods in series.values() for vs in mods.values() for v in vs]
    length = max(lengths, default=0)
    padded = {
        arm: {m: np.vstack([np.pad(v, (0, length - len(v)), constant_values=np.nan) for v in vs])
              for m, vs in mods.items()}
        for arm, mods in series.items()
    }  # fmt: skip
    return padded, np.arange(length)


def write_all(study: Study, out: Path, results: Results) -> str:
    """Write the plots; returns the report's markdown that shows them."""
    if not results:
        return ""
    gens = np.arange(study.probe.generations + 1)
    label = ("best fitness f_g" if study.probe.score == "f"
             else "normalised gain (share of gap closed)")  # fmt: skip
    fig = probe_figure(probe_curves(study, results), gens, label,
                       f"{study.head.name}: adaptation probe on held-out goals")  # fmt: skip
    save(fig, out / "probe_curves.png")
    lines = ["## Plots", "", "![probe curves](probe_curves.png)"]
    for kind in ("sigma", "gate"):
        per_arm, generations = mutation_series(study, out, results, kind)
        if per_arm and generations.size:
            save(mutation_figure(per_arm, generations, kind), out / f"mutation_{kind}.png")
            lines.append(f"![mutation {kind}](mutation_{kind}.png)")
    return "\n".join(lines)
