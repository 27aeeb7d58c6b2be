"""A study's outputs: results.csv, report.md with a table per hypothesis, and the plots.

Per run, the probe measure is the mean over its K goals x S seeds of the normalised gain at a
generation; a hypothesis pairs the treatment's and the control's runs by seed and reports the
mean paired difference with a bootstrap 95% interval, the one-sided Wilcoxon signed-rank
p-value (and its Holm adjustment over the study's hypotheses) and the seeds in favour. The
verdict is "supported" only when the Holm-adjusted p < 0.05 and the interval's lower end
clears -margin; otherwise "not shown". Seeds missing from either arm are left out and counted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.experiments.common import markdown_table
from pbml_control.running.checkpoint import atomic_write_text
from pbml_control.study import machine
from pbml_control.study.spec import Study, measure_generation
from pbml_control.study.stats import PairedResult, holm, mean_ci, paired_test

Results = dict[tuple[str, int], dict[str, Any]]
ALPHA = 0.05


def run_measure(result: dict[str, Any], measure: str, study: Study) -> float:
    """One run's value of a hypothesis measure."""
    generation = measure_generation(measure, study.probe)
    if generation is None:
        return float(result["in_run"]["trend"])
    values = [p[f"gain@{generation}"] for p in result["probes"]]
    return float(np.nanmean(values)) if values else float("nan")


def per_seed(results: Results, arm: str, seeds: list[int], measure: str, study: Study):
    return np.array([
        run_measure(results[arm, s], measure, study) if (arm, s) in results else np.nan
        for s in seeds
    ])  # fmt: skip


def evaluate_hypotheses(study: Study, results: Results) -> list[tuple[Any, PairedResult, float]]:
    """(hypothesis, paired result, Holm-adjusted p) for every hypothesis of the study."""
    tested = []
    for h in study.hypotheses:
        a = per_seed(results, h.treatment, study.seeds, h.measure, study)
        b = per_seed(results, h.control, study.seeds, h.measure, study)
        tested.append((h, paired_test(a, b, margin=h.margin)))
    adjusted = holm([r.p_value for _, r in tested])
    return [(h, r, p) for (h, r), p in zip(tested, adjusted, strict=True)]


def verdict(result: PairedResult, p_holm: float) -> str:
    if result.n < 2 or not np.isfinite(p_holm):
        return "not shown (too few seeds)"
    ok = p_holm < ALPHA and result.ci_low > -result.margin
    return "supported" if ok else "not shown"


def results_rows(results: Results) -> list[dict[str, Any]]:
    """results.csv: one row per run and probe."""
    rows = []
    for (arm, seed), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        run = {
            "arm": arm, "seed": seed, "generations": r["generations"], "rollouts": r["rollouts"],
            "final_fitness_max": r["final_fitness_max"], "in_run_early": r["in_run"]["early"],
            "in_run_late": r["in_run"]["late"], "in_run_trend": r["in_run"]["trend"],
            "cpu": r["machine"]["cpu"],
        }  # fmt: skip
        for p in r["probes"]:
            rows.append({**run, **{k: v for k, v in p.items() if k != "curve"}})
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def hypothesis_section(study: Study, tested) -> str:
    lines = ["## Hypotheses", ""]
    headers = ("hypothesis", "measure", "pairs", "mean diff", "95% CI", "Wilcoxon p",
               "Holm p", "seeds in favour", "verdict")  # fmt: skip
    rows = []
    for h, r, p_holm in tested:
        rows.append([
            f"{h.name}: {h.treatment} > {h.control}" + (f" - {h.margin}" if h.margin else ""),
            h.measure, f"{r.n}" + (f" ({r.n_dropped} missing)" if r.n_dropped else ""),
            _fmt(r.mean_diff), f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]", _fmt(r.p_value, 4),
            _fmt(p_holm, 4), f"{r.n_favour}/{r.n}", verdict(r, p_holm),
        ])  # fmt: skip
    lines.append(markdown_table(headers, rows))
    lines.append("")
    for h, r, _ in tested:
        diffs = ", ".join(_fmt(d) for d in r.diffs)
        lines.append(f"- **{h.name}** ({h.text}). Paired differences by seed: {diffs}.")
    return "\n".join(lines)


def arm_section(study: Study, results: Results) -> str:
    at = study.probe.at
    headers = ("arm", "runs", *(f"probe gain@{g}" for g in at), "in-run early", "in-run late",
               "in-run late - early", "final fitness max", "generations", "rollouts")  # fmt: skip
    rows = []
    for arm in study.arms:
        mine = [results[arm, s] for s in study.seeds_of(arm) if (arm, s) in results]
        if not mine:
            rows.append([arm, "0", *["n/a"] * (len(headers) - 2)])
            continue
        cells = [_mean_ci([run_measure(r, f"probe@{g}", study) for r in mine]) for g in at]
        cells += [_mean_ci([r["in_run"][k] for r in mine]) for k in ("early", "late", "trend")]
        cells.append(_mean_ci([r["final_fitness_max"] for r in mine], 1))
        cells.append(f"{np.mean([r['generations'] for r in mine]):.0f}")
        cells.append(f"{np.mean([r['rollouts'] for r in mine]):.0f}")
        rows.append([arm, str(len(mine)), *cells])
    return "## Arms (mean [95% CI] over seeds)\n\n" + markdown_table(headers, rows)


def _mean_ci(values: list[float], digits: int = 3) -> str:
    mean, low, high = (x[0] for x in mean_ci(np.asarray(values, dtype=np.float64).reshape(-1, 1)))
    return f"{_fmt(mean, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"


def machines_section(results: Results) -> str:
    cpus: dict[str, int] = {}
    for r in results.values():
        cpus[r["machine"]["cpu"]] = cpus.get(r["machine"]["cpu"], 0) + 1
    runs = ", ".join(f"{cpu} ({n} runs)" for cpu, n in sorted(cpus.items()))
    versions = ", ".join(f"{k} {v}" for k, v in machine.versions().items())
    return (
        f"## Machine and software\n\nRuns computed on: {runs}. Report written with {versions}. "
        "Runs are bit-identical only on one CPU model and software stack; across machines the "
        "trajectories differ and only the statistics over seeds carry over."
    )


def write_report(study: Study, out: Path, results: Results, command: str, wall: str) -> Path:
    from pbml_control.study import figures

    write_csv(out / "results.csv", results_rows(results))
    tested = evaluate_hypotheses(study, results)
    total = len(study.jobs())
    status = "complete" if len(results) == total else f"INCOMPLETE: {len(results)}/{total} runs"
    parts = [
        f"# Study: {study.head.name}", "", study.head.description, "",
        f"Status: {status}. Command: `{command}`. Run time: {_compute(results)} summed over "
        f"runs (one core each); this sitting's wall time: {wall}.",
        f"Seeds: {study.seeds}. Design fingerprint: {study.fingerprint()} (study.json).", "",
        _probe_text(study), "", hypothesis_section(study, tested), "", arm_section(study, results),
        "", machines_section(results), "", figures.write_all(study, out, results),
    ]  # fmt: skip
    path = out / "report.md"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path


def _compute(results: Results) -> str:
    minutes = sum(r["train_s"] for r in results.values()) / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _probe_text(study: Study) -> str:
    p = study.probe
    return (
        f"Probe: every final population is moved to {p.goals} held-out goals x {p.env_seeds} "
        f"environment seeds and evolved {p.generations} generations with `{p.strategy}` "
        f"(population {p.population}); gain@g = (f_g - f_0) / ({p.reference:g} - f_0) with f the "
        f"best fitness, averaged over the {p.goals * p.env_seeds} probes of a run. In-run: the "
        f"normalised gain {p.horizon} generations after each goal change, last third of the "
        "goal periods minus the first third."
    )
