import io

import numpy as np
import pytest

from pbml_control.evolution.genome import ModuleLayout, Population, logit, sigmoid
from pbml_control.evolution.selection import SelectionConfig, make_strategy

LAYOUT = ModuleLayout(names=("body", "head"), sizes=(3, 2))


def make_pop(size: int = 6) -> Population:
    strategy = make_strategy("pbml", SelectionConfig(size=size), LAYOUT)
    return strategy.init(np.arange(5, dtype=np.float32), np.random.default_rng(0))


def test_layout_slices_partition_the_vector():
    assert LAYOUT.num_params == 5 and LAYOUT.num_modules == 2
    assert LAYOUT.slices == (slice(0, 3), slice(3, 5))
    assert ModuleLayout.from_dict(LAYOUT.to_dict()) == LAYOUT


@pytest.mark.parametrize("names,sizes", [(("a", "a"), (1, 1)), (("a",), (0,)), (("a",), (1, 2))])
def test_layout_rejects_bad_modules(names, sizes):
    with pytest.raises(ValueError):
        ModuleLayout(names, sizes)


def test_founders_are_distinct_lineages_with_unique_ids():
    pop = make_pop()
    assert pop.params.dtype == np.float32 and pop.params.shape == (6, 5)
    assert np.array_equal(pop.ids, np.arange(6)) and np.array_equal(pop.lineage_ids, pop.ids)
    assert (pop.parent_ids == -1).all() and pop.next_id == 6 and pop.generation == 0
    assert pop.shares.sum() == pytest.approx(1.0) and np.isnan(pop.fitness).all()
    np.testing.assert_allclose(pop.sigma(), 0.05, rtol=1e-6)
    np.testing.assert_allclose(pop.gate(), 0.5)


def test_arrays_round_trip_through_npz_without_pickle():
    pop = make_pop()
    buf = io.BytesIO()
    np.savez(buf, **pop.to_arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as data:
        back = Population.from_arrays(dict(data))
    for name, value in pop.to_arrays().items():
        np.testing.assert_array_equal(getattr(back, name), value)
    assert isinstance(back.generation, int) and back.next_id == pop.next_id


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("ids", np.zeros(5, np.int64), "ids"),
        ("log_sigma", np.zeros((6, 3), np.float32), "log_sigma"),
        ("shares", np.zeros(6, np.int64), "shares"),
        ("params", np.zeros(6, object), "params"),
    ],
)
def test_from_arrays_names_the_bad_field(field, value, match):
    arrays = make_pop().to_arrays()
    arrays[field] = value
    with pytest.raises(ValueError, match=match):
        Population.from_arrays(arrays)


def test_from_arrays_names_a_missing_field():
    arrays = make_pop().to_arrays()
    del arrays["next_id"]
    with pytest.raises(ValueError, match="next_id"):
        Population.from_arrays(arrays)


def test_gate_encoding_is_exact_at_the_ends():
    assert sigmoid(np.array([logit(0.0), logit(1.0)])).tolist() == [0.0, 1.0]
    assert sigmoid(np.array([logit(0.25)]))[0] == pytest.approx(0.25)
