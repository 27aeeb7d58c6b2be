"""Worker deltas must merge into exactly the statistics of the concatenated data."""

import numpy as np
import pytest
from pbml_policies import RunningStats


def _chunks(seed=0, dim=5):
    rng = np.random.default_rng(seed)
    sizes = [1, 7, 0, 300, 2, 45]
    # A large offset and mixed scales: the case where naive sum-of-squares loses precision.
    return [rng.normal(1e4, [1e-2, 1, 10, 1e3, 1], size=(n, dim)) for n in sizes]


def _stats_of(chunk):
    stats = RunningStats.zeros(chunk.shape[1])
    stats.update(chunk)
    return stats


def test_merged_stats_equal_stats_of_concatenated_data():
    chunks = _chunks()
    merged = RunningStats.zeros(5)
    for chunk in chunks:
        merged = merged.merge(_stats_of(chunk))
    data = np.concatenate(chunks)
    assert merged.count == len(data)
    np.testing.assert_allclose(merged.mean, data.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(merged.var, data.var(axis=0), rtol=1e-9)
    np.testing.assert_allclose(merged.m2, ((data - data.mean(0)) ** 2).sum(0), rtol=1e-9)


def test_incremental_updates_equal_one_update():
    chunks = _chunks(seed=1)
    stats = RunningStats.zeros(5)
    for chunk in chunks:
        stats.update(chunk)
    whole = _stats_of(np.concatenate(chunks))
    np.testing.assert_allclose(stats.mean, whole.mean, rtol=1e-14)
    np.testing.assert_allclose(stats.m2, whole.m2, rtol=1e-9)


def test_merge_is_deterministic_and_leaves_inputs_alone():
    deltas = [_stats_of(c) for c in _chunks(seed=2)]
    snapshots = [d.copy() for d in deltas]

    def merge_all():
        total = RunningStats.zeros(5)
        for delta in deltas:
            total = total.merge(delta)
        return total

    assert merge_all() == merge_all()
    assert all(d == s for d, s in zip(deltas, snapshots, strict=True))


def test_normalize_is_identity_before_data_then_standardises_and_clips():
    stats = RunningStats.zeros(3)
    obs = np.array([[1.0, -2.0, 30.0]])
    out = stats.normalize(obs)
    assert out.dtype == np.float32 and np.array_equal(out, obs.astype(np.float32))

    stats.update(np.random.default_rng(0).normal([1, 2, 3], [1, 10, 0.1], size=(5000, 3)))
    z = stats.normalize(np.random.default_rng(1).normal([1, 2, 3], [1, 10, 0.1], size=(5000, 3)))
    np.testing.assert_allclose(z.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(z.std(0), 1, atol=0.05)
    assert np.all(np.abs(stats.normalize(1e6 * np.ones(3), clip=5.0)) == 5.0)


def test_arrays_round_trip_and_copy_is_independent():
    stats = _stats_of(_chunks()[3])
    arrays = stats.to_arrays()
    assert {k: v.dtype for k, v in arrays.items()} == dict.fromkeys(arrays, np.float64)
    restored = RunningStats.from_arrays(arrays)
    assert restored == stats
    restored.update(np.ones((1, 5)))
    assert restored != stats


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="cannot merge"):
        RunningStats.zeros(2).merge(RunningStats.zeros(3))
    with pytest.raises(ValueError, match="lack"):
        RunningStats.from_arrays({"mean": np.zeros(2)})


def test_frozen_normalizer_matches_normalize_and_ignores_later_updates():
    rng = np.random.default_rng(4)
    stats = _stats_of(rng.normal(3.0, 2.0, size=(50, 4)))
    obs = rng.normal(3.0, 2.0, size=(64, 4)).astype(np.float32)
    normalizer = stats.normalizer(clip=3.0)
    expected = stats.normalize(obs, clip=3.0)
    stats.update(rng.normal(size=(50, 4)))
    assert normalizer(obs).tobytes() == expected.tobytes()
    assert normalizer(obs[5:6]).tobytes() == expected[5:6].tobytes()


def test_normalize_keeps_precision_for_large_means():
    rng = np.random.default_rng(5)
    data = rng.normal(1e6, 1e-2, size=(1000, 1))  # float32 ulp at 1e6 is 0.06
    stats = _stats_of(data)
    z = stats.normalize(data)
    np.testing.assert_allclose(z.std(), 1.0, rtol=1e-3)
