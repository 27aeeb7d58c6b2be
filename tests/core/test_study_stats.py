"""Study statistics against values worked out by hand on small fixed inputs."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pbml_control.study import stats
from pbml_control.study.stats import PairedResult, holm, mean_ci, paired_test

CONTROL = np.zeros(5)


def test_all_positive_diffs_exact_wilcoxon():
    # Ranks 1..5 all positive: W+ = 15, only the all-positive sign pattern of 2^5 reaches it.
    result = paired_test([1, 2, 3, 4, 5], CONTROL)
    assert result.n == 5 and result.n_dropped == 0
    assert result.mean_diff == 3.0
    assert result.p_value == pytest.approx(1 / 32)
    assert result.n_favour == 5 and result.n_ties == 0
    np.testing.assert_array_equal(result.diffs, [1, 2, 3, 4, 5])
    assert result.alternative == "greater" and result.margin == 0.0 and result.confidence == 0.95


def test_mixed_signs_by_hand():
    # d = [1, -2, 3, 4, 5]: |d| ranks 1..5, W+ = 1 + 3 + 4 + 5 = 13, so W- = 2.
    # P(W+ >= 13) = P(W- <= 2): the negative-sign sets {}, {1}, {2} -> 3 of 32 patterns.
    result = paired_test([11, 8, 13, 14, 15], [10, 10, 10, 10, 10])
    np.testing.assert_array_equal(result.diffs, [1, -2, 3, 4, 5])
    assert result.mean_diff == pytest.approx(11 / 5)
    assert result.p_value == pytest.approx(3 / 32)
    assert result.n_favour == 4 and result.n_ties == 0


def test_margin_shifts_counts_and_p():
    # d = [-1, 1, 2, 3, 4]; margin 1 tests d + 1 = [0, 2, 3, 4, 5]: the zero is a tie and is
    # dropped by Wilcoxon, leaving 4 positive ranks: p = 1/2^4.
    diffs = np.array([-1.0, 1, 2, 3, 4])
    superiority = paired_test(diffs, CONTROL)
    # Without margin: W- = rank of |-1| = 1.5 (tied with 1), P(W- <= 1.5) > 1/32.
    assert superiority.n_favour == 4 and superiority.n_ties == 0
    assert superiority.p_value > 1 / 32
    shifted = paired_test(diffs, CONTROL, margin=1.0)
    assert shifted.n_favour == 4 and shifted.n_ties == 1
    assert shifted.p_value == pytest.approx(1 / 16)
    more = paired_test(diffs, CONTROL, margin=2.0)  # d + 2 all positive
    assert more.n_favour == 5 and more.p_value == pytest.approx(1 / 32)
    # The interval is for mean(d) itself, not shifted by the margin.
    assert shifted.mean_diff == superiority.mean_diff == pytest.approx(1.8)
    assert (shifted.ci_low, shifted.ci_high) == (superiority.ci_low, superiority.ci_high)


def test_nan_pair_dropped_and_counted():
    result = paired_test([1, 2, np.nan, 4, 5, 6], [0, 0, 0, 0, 0, np.nan])
    assert result.n == 4 and result.n_dropped == 2
    assert result.mean_diff == 3.0
    assert result.p_value == pytest.approx(1 / 16)
    assert np.isnan(result.diffs[[2, 5]]).all()
    np.testing.assert_array_equal(result.diffs[[0, 1, 3, 4]], [1, 2, 4, 5])


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    rng = np.random.default_rng(7)
    treatment, control = rng.normal(1, 1, 12), rng.normal(0, 1, 12)
    first = paired_test(treatment, control, seed=3)
    again = paired_test(treatment, control, seed=3)
    other = paired_test(treatment, control, seed=4)
    assert first.ci_low < first.mean_diff < first.ci_high
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.p_value == again.p_value


def test_constant_diffs_give_point_interval():
    result = paired_test([2.5, 3.5, 4.5], [0.4, 1.4, 2.4])
    assert (result.ci_low, result.ci_high) == (2.1, 2.1)
    assert result.p_value == pytest.approx(1 / 8)


def test_bca_degeneracy_falls_back_to_percentile(monkeypatch):
    calls = []
    monkeypatch.setattr(stats.stats, "bootstrap", _degenerate_bca(scipy_stats.bootstrap, calls))
    low, high = stats.bootstrap_mean_ci(np.array([1.0, 2.0, 4.0]), n_resamples=500)
    assert calls == ["BCa", "percentile"]
    assert 1.0 <= low < high <= 4.0


def _degenerate_bca(real, calls):
    """A scipy.stats.bootstrap whose BCa warns about degeneracy and returns NaN, as scipy does
    for data whose jackknife is constant (hard to provoke with non-constant data)."""

    def bootstrap(*args, method, **kwargs):
        calls.append(method)
        if method != "BCa":
            return real(*args, method=method, **kwargs)
        warnings.warn("BCa failed", scipy_stats.DegenerateDataWarning, stacklevel=2)
        return SimpleNamespace(confidence_interval=SimpleNamespace(low=np.nan, high=np.nan))

    return bootstrap


def test_too_few_pairs():
    single = paired_test([1.0], [0.0])
    assert single.n == 1 and math.isnan(single.ci_low) and math.isnan(single.ci_high)
    assert single.p_value == pytest.approx(0.5)
    ties = paired_test([1.0, 2.0], [1.0, 2.0])
    assert math.isnan(ties.p_value) and ties.n_ties == 2 and ties.n_favour == 0
    empty = paired_test([np.nan, 1.0], [0.0, np.nan])
    assert empty.n == 0 and empty.n_dropped == 2
    assert all(math.isnan(x) for x in (empty.mean_diff, empty.ci_low, empty.p_value))


def test_length_mismatch_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="lengths 3 and 2"):
        paired_test([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="margin"):
        paired_test([1, 2], [1, 2], margin=-0.1)
    with pytest.raises(ValueError, match="confidence"):
        paired_test([1, 2], [1, 2], confidence=95)


def test_to_row_is_plain_scalars():
    row = paired_test([1, 2, 3, 4, 5], CONTROL).to_row()
    assert "diffs" not in row
    assert {type(v) for v in row.values()} <= {int, float, str}
    assert row["n"] == 5 and row["p_value"] == pytest.approx(1 / 32)
    assert set(row) == set(PairedResult.__dataclass_fields__) - {"diffs"}


def test_mean_ci_against_t_by_hand():
    # Column 0: [1, 2, 3] -> mean 2, s = 1, half-width t_{0.975, 2} * 1 / sqrt(3).
    # Column 1: one finite value -> that value, NaN bounds. Column 2: nothing finite.
    values = np.array([[1.0, np.nan, np.nan], [2.0, 5.0, np.nan], [3.0, np.nan, np.nan]])
    mean, low, high = mean_ci(values)
    half = scipy_stats.t.ppf(0.975, 2) / math.sqrt(3)
    np.testing.assert_allclose([mean[0], low[0], high[0]], [2.0, 2.0 - half, 2.0 + half])
    assert mean[1] == 5.0 and np.isnan([low[1], high[1]]).all()
    assert np.isnan([mean[2], low[2], high[2]]).all()


def test_mean_ci_confidence_and_shape():
    mean, low, high = mean_ci(np.array([[0.0], [2.0]]), confidence=0.9)
    # s = sqrt(2), sem = 1, half-width t_{0.95, 1}.
    assert mean[0] == 1.0 and high[0] - mean[0] == pytest.approx(scipy_stats.t.ppf(0.95, 1))
    with pytest.raises(ValueError, match="seeds, T"):
        mean_ci(np.arange(3.0))


def test_holm_by_hand():
    # Sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


def test_holm_keeps_nan_and_does_not_count_it():
    adjusted = holm([np.nan, 0.02, 0.01])
    assert math.isnan(adjusted[0])
    assert adjusted[1:] == pytest.approx([0.02, 0.02])  # m = 2: 0.01 x 2, max(0.02 x 1, 0.02)
