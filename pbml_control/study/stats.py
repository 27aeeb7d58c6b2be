"""Statistics for multi-seed paired experiments ("studies").

A study runs a treatment arm and a control arm on the same seeds, so seed i of one arm is paired
with seed i of the other: both share the environment noise and initial population that the seed
fixes. Paired differences remove that shared variation, which is why everything here works on
d_i = treatment_i - control_i rather than on two independent samples.

With the handful of seeds a study can afford, nothing here assumes normality for the headline
result: the p-value is a one-sided Wilcoxon signed-rank test and the interval is a bootstrap
interval, both from scipy (hand-written tests are where subtle mistakes hide). Only `holm` is
written here, since scipy has no Holm adjustment.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALTERNATIVE = "greater"


@dataclass
class PairedResult:
    """Outcome of `paired_test` for the hypothesis "treatment > control - margin".

    `diffs` keeps one entry per seed in seed order (NaN where the pair was dropped), so a report
    can show which seed said what; every other number uses only the `n` complete pairs.
    """

    n: int
    n_dropped: int
    diffs: np.ndarray
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_favour: int
    n_ties: int
    alternative: str
    margin: float
    confidence: float

    def to_row(self) -> dict[str, float | int | str]:
        """Plain scalars for a CSV or markdown table row (arrays do not fit in a cell)."""
        return {
            "n": int(self.n),
            "n_dropped": int(self.n_dropped),
            "mean_diff": float(self.mean_diff),
            "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high),
            "p_value": float(self.p_value),
            "n_favour": int(self.n_favour),
            "n_ties": int(self.n_ties),
            "alternative": str(self.alternative),
            "margin": float(self.margin),
            "confidence": float(self.confidence),
        }


def paired_test(
    treatment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    *,
    margin: float = 0.0,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedResult:
    """Test "treatment > control - margin" on per-seed paired scores.

    margin = 0 is a superiority test; margin > 0 a non-inferiority test ("at least as good as,
    up to margin"). The Wilcoxon test and the favour/tie counts use d_i + margin; the bootstrap
    interval is for the mean of d_i itself, so it reads directly against -margin.

    A pair with a non-finite value (NaN: a seed that crashed or was not run) is dropped and
    counted in `n_dropped`. Same inputs and `seed` give the same result.
    """
    t, c = _paired_arrays(treatment, control)
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be finite and >= 0, got {margin}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    diffs = t - c
    keep = np.isfinite(t) & np.isfinite(c)
    d = diffs[keep]
    shifted = d + margin
    low, high = bootstrap_mean_ci(d, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return PairedResult(
        n=int(d.size),
        n_dropped=int((~keep).sum()),
        diffs=np.where(keep, diffs, np.nan),
        mean_diff=float(d.mean()) if d.size else float("nan"),
        ci_low=low,
        ci_high=high,
        p_value=wilcoxon_greater(shifted),
        n_favour=int((shifted > 0).sum()),
        n_ties=int((shifted == 0).sum()),
        alternative=ALTERNATIVE,
        margin=float(margin),
        confidence=float(confidence),
    )


def _paired_arrays(treatment, control) -> tuple[np.ndarray, np.ndarray]:
    """Both arms as 1-D float arrays of equal length: a mismatch means the seeds do not pair."""
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    if t.ndim != 1 or c.ndim != 1:
        raise ValueError(f"treatment and control must be 1-D, got shapes {t.shape} and {c.shape}")
    if t.size != c.size:
        raise ValueError(
            f"treatment and control must pair seed by seed: lengths {t.size} and {c.size} differ"
        )
    return t, c


def wilcoxon_greater(shifted: np.ndarray) -> float:
    """One-sided Wilcoxon signed-rank p-value for "median of `shifted` > 0".

    Zero differences are discarded (scipy's default zero_method="wilcox"); scipy picks the exact
    null distribution for small samples. With no non-zero difference at all (including no data)
    the test has nothing to rank: we return NaN ("not tested") rather than scipy's 1.0, so it is
    not mistaken for evidence against the hypothesis and `holm` leaves it out of its count.
    """
    shifted = np.asarray(shifted, dtype=float)
    if not np.any(shifted != 0):
        return float("nan")
    return float(stats.wilcoxon(shifted, alternative=ALTERNATIVE).pvalue)


def bootstrap_mean_ci(
    d: np.ndarray, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap confidence interval of mean(d): BCa, percentile where BCa cannot be computed.

    BCa corrects bias and skew, which matters with few seeds, but its acceleration is undefined
    when the jackknife values are all equal; scipy then warns and returns NaN, and the percentile
    interval is used instead. Constant differences give exactly [d, d] (every resample has the
    same mean); fewer than two differences give NaN, since one value says nothing about spread.
    """
    d = np.asarray(d, dtype=float)
    if d.size < 2:
        return float("nan"), float("nan")
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        low, high = _bootstrap(d, "BCa", confidence, n_resamples, seed)
    degenerate = any(issubclass(w.category, stats.DegenerateDataWarning) for w in caught)
    if degenerate or not (np.isfinite(low) and np.isfinite(high)):
        return _bootstrap(d, "percentile", confidence, n_resamples, seed)
    for w in caught:  # unrelated warnings still reach the caller
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return low, high


def _bootstrap(
    d: np.ndarray, method: str, confidence: float, n_resamples: int, seed: int
) -> tuple[float, float]:
    """One scipy bootstrap with a fresh generator, so each method is reproducible on its own."""
    result = stats.bootstrap(
        (d,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method=method,
        random_state=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mean_ci(
    values: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean and Student-t confidence interval of a (seeds, T) array.

    This is for drawing curves over generations, where a band per point is wanted and a
    bootstrap per point would be slow and jumpy; the t interval is the usual choice there.
    NaNs are ignored column by column (a seed may stop early). A column with one finite value
    gets that value as its mean and NaN bounds; a column with none is NaN throughout.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be a (seeds, T) array, got shape {values.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    finite = ~np.isnan(values)
    n = finite.sum(axis=0)
    filled = np.where(finite, values, 0.0)
    mean = np.divide(filled.sum(axis=0), n, out=np.full(n.shape, np.nan), where=n > 0)
    squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
    several = n > 1
    sem = np.full(n.shape, np.nan)
    sem[several] = np.sqrt(squares[several] / (n[several] - 1) / n[several])
    half = np.full(n.shape, np.nan)
    half[several] = stats.t.ppf((1 + confidence) / 2, n[several] - 1) * sem[several]
    return mean, mean - half, mean + half


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    A study tests several hypotheses (metrics, environments) at once; Holm controls the
    family-wise error rate like Bonferroni but is uniformly more powerful, and needs no
    independence assumption. With the m p-values sorted ascending, p_(1) <= ... <= p_(m):

        adjusted_(k) = max_{j <= k} min(1, (m - j + 1) * p_(j))

    the running maximum keeps the adjusted values in the same order as the raw ones. NaN
    ("not tested") stays NaN and is not counted in m, since it cannot produce a false positive.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(x) for x in adjusted]


def wilcoxon_power(
    effect: float, n: int, alpha: float, *, replications: int = 4_000, seed: int = 0
) -> float:
    """Power of the one-sided Wilcoxon signed-rank test at level ``alpha`` for ``n`` paired
    differences drawn from a normal with standardised mean ``effect`` (d_z = mean / sd).

    A simulation, so a report can say what chance its design had of seeing the effect it
    measured (NaN when it cannot: fewer than two pairs, or a non-finite effect)."""
    if n < 2 or not np.isfinite(effect):
        return float("nan")
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((replications, n)) + effect
    p = stats.wilcoxon(draws, alternative=ALTERNATIVE, axis=1).pvalue
    return float(np.mean(p < alpha))


def effect_size(diffs: np.ndarray) -> float:
    """d_z of paired differences: mean over standard deviation (NaN for fewer than 2 finite)."""
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2 or np.std(d, ddof=1) == 0:
        return float("nan")
    return float(np.mean(d) / np.std(d, ddof=1))
