"""How a study's hypotheses pair runs: their families (Holm adjusts within each), the seeds both
arms of a hypothesis run, and whether that many pairs can pass Holm at all. Design facts only:
`--status` uses them before any outcome exists, the report after.
"""

from __future__ import annotations

from pbml_control.study.spec import Hypothesis, Study

#: The level every hypothesis is tested at (Holm-adjusted within its family).
ALPHA = 0.05


def families(study: Study) -> list[str]:
    """Hypothesis families in the order they first appear ('primary' first if present)."""
    seen = list(dict.fromkeys(h.family for h in study.hypotheses))
    return sorted(seen, key=lambda f: f != "primary")


def paired_seeds(study: Study, h: Hypothesis) -> list[int]:
    """The seeds both arms of a hypothesis run."""
    theirs = set(study.seeds_of(h.control))
    return [s for s in study.seeds_of(h.treatment) if s in theirs]


def pair_warnings(study: Study, left_out: set[tuple[str, int]]) -> list[str]:
    """A line per hypothesis whose pairs (its seeds less the runs left out) are too few to pass
    Holm's first step in its family: with n pairs and no ties the smallest one-sided exact
    Wilcoxon p is 2^-n, and Holm compares a family's smallest p with alpha / m. Such a
    hypothesis can be supported only after j others of its family were (its p is then compared
    with alpha / (m - j)), or never if even alpha itself is out of reach."""
    lines = []
    for family in families(study):
        members = [h for h in study.hypotheses if h.family == family]
        m = len(members)
        for h in members:
            n = sum(
                (h.treatment, s) not in left_out and (h.control, s) not in left_out
                for s in paired_seeds(study, h)
            )
            smallest = 0.5**n
            if smallest < ALPHA / m:
                continue
            need = next((j for j in range(m) if smallest < ALPHA / (m - j)), None)
            head = (
                f"warning: {h.name} ({family}, Holm over {m}) has {n} pairs"
                + (" after the cap" if left_out else "")
                + f": the smallest one-sided Wilcoxon p at {n} pairs is 1/{2**n} = "
                f"{smallest:.4f}, not below {ALPHA:g}/{m}"
            )
            lines.append(
                head + "; it cannot be supported whatever the data"
                if need is None
                else head + f"; it can be supported only after {need} other {family} hypotheses are"
            )
    return lines
