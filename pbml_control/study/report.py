"""A study's outputs: results.csv, report.md with a table per hypothesis family, and the plots.

Per run, the probe measure is the mean over its K goals x S seeds of a score (f@g or gain@g,
from each probe's fitness curve) in one probe set (the final population, the swap, a budget);
a hypothesis pairs the treatment's and the control's runs by seed and reports the mean paired
difference with a bootstrap 95% interval, the one-sided Wilcoxon signed-rank p-value (and its
Holm adjustment over the hypotheses of its family), the seeds in favour, the effect size d_z and
the power the design had for it. The verdict is "supported" only when the Holm-adjusted p < 0.05
and the interval's lower end clears -margin; otherwise "not shown". Seeds missing from either
arm are left out and counted.
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
from pbml_control.study.pairing import ALPHA, families, paired_seeds
from pbml_control.study.probe import scores
from pbml_control.study.probe_spec import FINAL, measure_score
from pbml_control.study.spec import Hypothesis, Study
from pbml_control.study.stats import (
    PairedResult,
    effect_size,
    holm,
    mean_ci,
    paired_test,
    wilcoxon_power,
)

Results = dict[tuple[str, int], dict[str, Any]]


def probe_rows(result: dict[str, Any], probe_set: str = FINAL) -> list[dict[str, Any]]:
    """A run's probes of one probe set (none if the run has not got that set)."""
    if probe_set == FINAL:
        return result["probes"]
    return result.get("probe_sets", {}).get(probe_set, [])


def run_measure(
    result: dict[str, Any], measure: str, study: Study, probe_set: str = FINAL
) -> float:
    """One run's value of a hypothesis measure in one probe set (mean over its probes)."""
    score, generation = measure_score(measure, study.probe)
    if score.startswith("run:"):
        return float(result.get("run_metrics", {}).get(score[4:], float("nan")))
    if generation is None:
        return float(result["in_run"]["trend"])
    key = f"{score}@{generation}"
    values = [
        scores(p["curve"], [generation], study.probe.reference)[key]
        for p in probe_rows(result, probe_set)
    ]
    return float(np.nanmean(values)) if values else float("nan")


def per_seed(
    results: Results, arm: str, seeds: list[int], measure: str, study: Study, probe_set=FINAL
) -> np.ndarray:
    return np.array([
        run_measure(results[arm, s], measure, study, probe_set) if (arm, s) in results
        else np.nan
        for s in seeds
    ])  # fmt: skip


def hypothesis_scores(study: Study, results: Results, h: Hypothesis):
    """Per paired seed, (treatment, control) values of a hypothesis; with `growth_from`, the
    paired difference at `probe` and at `growth_from` (their difference is the growth)."""
    seeds = paired_seeds(study, h)

    def diff(t_set: str, c_set: str) -> np.ndarray:
        t = per_seed(results, h.treatment, seeds, h.measure, study, t_set)
        return t - per_seed(results, h.control, seeds, h.measure, study, c_set)

    if h.growth_from:
        return diff(h.probe, h.control_set), diff(h.growth_from, h.growth_from)
    a = per_seed(results, h.treatment, seeds, h.measure, study, h.probe)
    return a, per_seed(results, h.control, seeds, h.measure, study, h.control_set)


def evaluate_hypotheses(study: Study, results: Results) -> list[tuple[Any, PairedResult, float]]:
    """(hypothesis, paired result, Holm-adjusted p within its family) for every hypothesis."""
    tested = []
    for h in study.hypotheses:
        a, b = hypothesis_scores(study, results, h)
        tested.append((h, paired_test(a, b, margin=h.margin)))
    adjusted = [float("nan")] * len(tested)
    for family in families(study):
        members = [i for i, (h, _) in enumerate(tested) if h.family == family]
        for i, p in zip(members, holm([tested[i][1].p_value for i in members]), strict=True):
            adjusted[i] = p
    return [(h, r, p) for (h, r), p in zip(tested, adjusted, strict=True)]


def design_power(r: PairedResult, family_size: int) -> tuple[float, float]:
    """(d_z observed, power of this many pairs for it at Holm's strictest level in the family)."""
    d_z = effect_size(r.diffs + r.margin)
    return d_z, wilcoxon_power(d_z, r.n, ALPHA / max(1, family_size))


def verdict(result: PairedResult, p_holm: float) -> str:
    if result.n < 2 or not np.isfinite(p_holm):
        return "not shown (too few seeds)"
    ok = p_holm < ALPHA and result.ci_low > -result.margin
    return "supported" if ok else "not shown"


def results_rows(results: Results) -> list[dict[str, Any]]:
    """results.csv: one row per run, probe set and probe ('final' first, then the run's other
    probe sets in name order), with the run's own measures (`run:NAME`) on every row, so that
    every hypothesis measure recomputes from this file alone. A column a run lacks is empty."""
    rows = []
    for (arm, seed), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        run = {
            "arm": arm, "seed": seed, "generations": r["generations"], "rollouts": r["rollouts"],
            "final_fitness_max": r["final_fitness_max"], "in_run_early": r["in_run"]["early"],
            "in_run_late": r["in_run"]["late"], "in_run_trend": r["in_run"]["trend"],
            "cpu": r["machine"]["cpu"],
        }  # fmt: skip
        metrics = {f"run:{k}": v for k, v in sorted(r.get("run_metrics", {}).items())}
        for probe_set in [FINAL, *sorted(r.get("probe_sets", {}))]:
            for p in probe_rows(r, probe_set):
                probe = {k: v for k, v in p.items() if k != "curve"}
                rows.append({**run, "probe_set": probe_set, **probe, **metrics})
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows as CSV; the columns are every key of every row, in the order first seen."""
    buffer = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def hypothesis_section(study: Study, tested) -> str:
    """One table per family (a single family keeps the plain title 'Hypotheses')."""
    names = families(study)
    parts = []
    for family in names:
        mine = [t for t in tested if t[0].family == family]
        title = "Hypotheses" if len(names) == 1 else f"{family.capitalize()} hypotheses"
        parts.append(_family_table(f"## {title}", mine, power=any(
            h.probe != FINAL or h.control_probe or h.growth_from or h.family != "primary"
            for h in study.hypotheses)))  # fmt: skip
    return "\n\n".join(parts)


def _contrast(h: Hypothesis) -> str:
    t = h.treatment + ("" if h.probe == FINAL else f" [{h.probe}]")
    c = h.control + ("" if h.control_set == FINAL else f" [{h.control_set}]")
    text = f"{h.name}: {t} > {c}" + (f" - {h.margin}" if h.margin else "")
    return text + (f", growth since {h.growth_from}" if h.growth_from else "")


def _family_table(title: str, tested, power: bool) -> str:
    """A family's table; `power` adds d_z and the design's power for it (newer studies)."""
    headers = ["hypothesis", "measure", "pairs", "mean diff", "95% CI", "Wilcoxon p", "Holm p",
               "seeds in favour", "verdict"]  # fmt: skip
    headers += ["d_z", "power for d_z"] if power else []
    rows = []
    for h, r, p_holm in tested:
        row = [
            _contrast(h), h.measure, f"{r.n}" + (f" ({r.n_dropped} missing)" if r.n_dropped
            else ""), _fmt(r.mean_diff), f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
            _fmt(r.p_value, 4), _fmt(p_holm, 4), f"{r.n_favour}/{r.n}", verdict(r, p_holm),
        ]  # fmt: skip
        if power:
            d_z, chance = design_power(r, len(tested))
            row += [_fmt(d_z, 2), _fmt(chance, 2)]
        rows.append(row)
    lines = [title, "", markdown_table(headers, rows), ""]
    for h, r, _ in tested:
        diffs = ", ".join(_fmt(d) for d in r.diffs)
        lines.append(f"- **{h.name}** ({h.text}). Paired differences by seed: {diffs}.")
    if power:
        lines += ["", "d_z: mean paired difference over its standard deviation. Power: the chance "
                  "a one-sided Wilcoxon at Holm's strictest level in the family (0.05 / "
                  "hypotheses) had to find an effect of that d_z with these pairs (simulated, "
                  "normal differences)."]  # fmt: skip
    return "\n".join(lines)


def growth_section(study: Study, results: Results) -> str:
    """For each hypothesis with `growth_from`: its paired difference at every probed budget."""
    growing = [h for h in study.hypotheses if h.growth_from]
    if not growing or not study.probe.budgets:
        return ""
    from pbml_control.study.probe_spec import budget_set

    sets = [budget_set(b) for b in study.probe.budgets] + [FINAL]
    final = max(study.arms[a].run.budget_rollouts for a in study.arms)
    labels = [f"{b:,}" for b in study.probe.budgets] + [f"{final:,} (final)"]
    rows = []
    for h in growing:
        seeds = paired_seeds(study, h)
        for name, label in zip(sets, labels, strict=True):
            t = per_seed(results, h.treatment, seeds, h.measure, study, name)
            r = paired_test(t, per_seed(results, h.control, seeds, h.measure, study, name))
            rows.append([f"{h.treatment} - {h.control}", h.measure, label, str(r.n),
                         _fmt(r.mean_diff), f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
                         f"{r.n_favour}/{r.n}"])  # fmt: skip
    headers = ("difference", "measure", "rollouts", "pairs", "mean", "95% CI", "seeds in favour")
    return (
        "## Growth with training\n\nThe paired difference at each budget a run was probed at "
        "(learning to learn predicts it grows with training):\n\n" + markdown_table(headers, rows)
    )


def arm_section(study: Study, results: Results) -> str:
    at = study.probe.at
    measures = [f"gain@{g}" for g in at]  # what older studies showed, unchanged
    if study.probe.score == "f":
        measures = [f"f@{g}" for g in at] + [f"gain@{study.probe.primary}"]
    extra = sorted({k for r in results.values() for k in r.get("run_metrics", {})})
    measures += [f"run:{k}" for k in extra]  # measures of the whole run (newer studies)
    headers = ("arm", "runs", *(m if m.startswith("run:") else f"probe {m}" for m in measures),
               "in-run early", "in-run late", "in-run late - early", "final fitness max",
               "generations", "rollouts")  # fmt: skip
    rows = []
    for arm in study.arms:
        mine = [results[arm, s] for s in study.seeds_of(arm) if (arm, s) in results]
        if not mine:
            rows.append([arm, "0", *["n/a"] * (len(headers) - 2)])
            continue
        cells = [_mean_ci([run_measure(r, m, study) for r in mine]) for m in measures]
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


def status_text(
    study: Study, out: Path, results: Results, max_core_hours: float | None = None
) -> str:
    """'complete', or 'INCOMPLETE: n/N runs' naming the seeds of each arm not done; with a
    compute cap, whether the cap is what stopped the study and what it counted."""
    from pbml_control.study.status import seed_ranges, spent_core_seconds

    total = len(study.jobs())
    if len(results) == total:
        text = "complete"
    else:
        missing = [
            f"{arm} seeds {seed_ranges(seeds)}"
            for arm in study.arms
            if (seeds := [s for s in study.seeds_of(arm) if (arm, s) not in results])
        ]
        text = f"INCOMPLETE: {len(results)}/{total} runs; not done: " + "; ".join(missing)
    if max_core_hours is None:
        return text
    spent = spent_core_seconds(study, out) / 3600
    if len(results) < total and spent >= max_core_hours:
        return (
            f"{text}. The study was stopped by its compute cap of {max_core_hours:g} "
            f"core-hours ({spent:.2f} spent, runs stopped part way included); a hypothesis "
            "uses the seeds both of its arms finished"
        )
    return f"{text} (compute cap {max_core_hours:g} core-hours; {spent:.2f} spent)"


def write_report(
    study: Study,
    out: Path,
    results: Results,
    command: str,
    wall: str | None,
    max_core_hours: float | None = None,
) -> Path:
    """Write results.csv, report.md and the plots. ``wall``: this sitting's wall time, or None
    when this sitting ran nothing (``--report-only``), so a report never claims "0 s"."""
    from pbml_control.study import figures

    write_csv(out / "results.csv", results_rows(results))
    tested = evaluate_hypotheses(study, results)
    status = status_text(study, out, results, max_core_hours)
    parts = [
        f"# Study: {study.head.name}", "", study.head.description, "",
        f"Status: {status}. Command: `{command}`. Run time: {_compute(results)} summed over "
        f"runs (one core each)" + (f"; this sitting's wall time: {wall}." if wall else "."),
        f"Seeds: {study.seeds}. Design fingerprint: {study.fingerprint()} (study.json).", "",
        _probe_text(study), "", hypothesis_section(study, tested), "",
        *([growth_section(study, results), ""] if growth_section(study, results) else []),
        arm_section(study, results),
        "", machines_section(results), "", figures.write_all(study, out, results),
    ]  # fmt: skip
    path = out / "report.md"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path


def _compute(results: Results) -> str:
    minutes = sum(r["train_s"] + r.get("probe_s", 0.0) for r in results.values()) / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _probe_text(study: Study) -> str:
    p = study.probe
    if p.score == "f" or p.goal_draw != "common" or p.budgets or p.swap:
        return _probe_text_2(study)
    return (
        f"Probe: every final population is moved to {p.goals} held-out goals x {p.env_seeds} "
        f"environment seeds and evolved {p.generations} generations with `{p.strategy}` "
        f"(population {p.population}); gain@g = (f_g - f_0) / ({p.reference:g} - f_0) with f the "
        f"best fitness, averaged over the {p.goals * p.env_seeds} probes of a run. In-run: the "
        f"normalised gain {p.horizon} generations after each goal change, last third of the "
        "goal periods minus the first third."
    )


def _probe_text_2(study: Study) -> str:
    p = study.probe
    goals = (
        f"{p.goals} held-out goals drawn for each seed (stratified over the test split's bands, "
        "the same for every arm of a seed)"
        if p.goal_draw == "per_seed"
        else f"{p.goals} held-out goals (the same for every run)"
    )
    sets = "the final population"
    if p.budgets:
        sets += (
            ", the population where the run had spent "
            + ", ".join(f"{b:,}" for b in p.budgets)
            + " rollouts ('budget=B', from checkpoints the runs kept)"
        )
    if p.swap:
        sets += ", and the final genomes with every mutation function reset to the initial one "
        sets += "('swap': same weights, goals and seeds; arms whose mutation evolves)"
    return (
        f"Probe: {sets} is moved to {goals} x {p.env_seeds} environment seed(s) each and evolved "
        f"{p.generations} generations with `{p.strategy}` (population {p.population}). Scores "
        f"per probe: f@g, the best fitness of probe generation g (primary score: "
        f"`{p.score}@{p.primary}`), and gain@g = (f_g - f_0) / ({p.reference:g} - f_0); a run's "
        f"score is the mean over its {p.goals * p.env_seeds} probes. In-run: the normalised gain "
        f"{p.horizon} generations after each goal change, last third of the goal periods minus "
        "the first third."
    )
