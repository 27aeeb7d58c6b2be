import io

import numpy as np
import pytest

from pbml_control.errors import ConfigError
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import STRATEGIES, SelectionConfig, make_strategy
from pbml_control.evolution.selection.base import fitness_ranks

LAYOUT = ModuleLayout(names=("a", "b"), sizes=(2, 1))


def setup(name: str, size: int = 4, **kw):
    strategy = make_strategy(name, SelectionConfig(strategy=name, size=size, **kw), LAYOUT)
    founders = np.arange(size * 3, dtype=np.float32).reshape(size, 3)
    return strategy, strategy.init(founders, np.random.default_rng(0))


def test_ranks_break_ties_at_random():
    fit = np.array([3.0, 1.0, 3.0, 0.0])
    seen = {tuple(fitness_ranks(fit, np.random.default_rng(s)).round(3)) for s in range(20)}
    assert seen == {(0.0, 0.667, 0.333, 1.0), (0.333, 0.667, 0.0, 1.0)}
    assert fitness_ranks(np.array([5.0]), np.random.default_rng(0)).tolist() == [0.0]


def test_pbml_hand_computed_shares_and_extinction():
    strategy, pop = setup("pbml", rank_pressure=3.0, min_share=0.05)
    nxt, report = strategy.tell(pop, np.array([4.0, 3.0, 2.0, 1.0]), np.random.default_rng(1))
    raw = 0.25 * np.exp(-3.0 * np.array([0, 1 / 3, 2 / 3, 1]))
    shares = raw / raw.sum()  # [0.644, 0.237, 0.087, 0.032]: genome 3 falls under 0.05
    assert report.dead["id"].tolist() == [3] and report.dead["death_gen"].tolist() == [0]
    assert nxt.ids[:3].tolist() == [0, 1, 2] and nxt.ids[3] == 4 == report.born[0]
    parent = int(nxt.parent_ids[3])
    expected = shares[:3] / shares[:3].sum()
    expected[parent] /= 2  # the parent splits its share with its one child
    np.testing.assert_allclose(nxt.shares, [*expected, expected[parent]])
    assert nxt.lineage_ids[3] == parent and nxt.birth_gen[3] == 1 and nxt.generation == 1


def test_pbml_low_rank_loses_share_but_survives():
    strategy, pop = setup("pbml", size=8, rank_pressure=1.0)
    nxt, report = strategy.tell(pop, np.arange(8.0), np.random.default_rng(0))
    assert report.dead["id"].size == 0 and report.born.size == 0
    assert np.all(np.diff(nxt.shares) > 0)  # ordered by fitness, everyone alive


def test_greedy_keeps_only_the_best():
    strategy, pop = setup("greedy")
    nxt, report = strategy.tell(pop, np.array([1.0, 5.0, 3.0, 2.0]), np.random.default_rng(0))
    assert nxt.ids[0] == 1 and (nxt.parent_ids[1:] == 1).all()
    assert sorted(report.dead["id"].tolist()) == [0, 2, 3]


def test_truncation_keeps_top_k():
    strategy, pop = setup("truncation", truncation_k=2)
    nxt, _ = strategy.tell(pop, np.array([1.0, 5.0, 3.0, 4.0]), np.random.default_rng(0))
    assert nxt.ids[:2].tolist() == [1, 3] and set(nxt.parent_ids[2:]) <= {1, 3}
    np.testing.assert_allclose(nxt.shares, 0.25)


def test_drift_ignores_fitness():
    strategy, pop = setup("drift", size=16)
    a, _ = strategy.tell(pop, np.arange(16.0), np.random.default_rng(5))
    b, _ = strategy.tell(pop, -np.arange(16.0), np.random.default_rng(5))
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.shares, b.shares)


def test_non_finite_fitness_counts_as_failed_and_ranks_last():
    strategy, pop = setup("truncation", truncation_k=2)
    nxt, report = strategy.tell(pop, np.array([np.nan, 1.0, np.inf, 0.5]), np.random.default_rng(0))
    assert report.num_failed == 2 and nxt.ids[:2].tolist() == [1, 3]
    assert np.isneginf(report.dead["fitness"]).all()


def test_scouts_are_exempt_from_death_during_grace():
    strategy, pop = setup("greedy", size=8, scout_fraction=1.0, scout_grace=2)
    rng = np.random.default_rng(0)
    pop, _ = strategy.tell(pop, np.arange(8.0), rng)  # 7 scouts born at generation 1
    scouts = pop.ids[1:]
    pop, _ = strategy.tell(pop, np.zeros(8), rng)
    assert set(scouts) <= set(pop.ids)  # grace covers generations 1 and 2
    pop, _ = strategy.tell(pop, np.zeros(8), rng)
    pop, _ = strategy.tell(pop, np.zeros(8), rng)
    assert not set(scouts) & set(pop.ids[1:])


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_ids_never_repeat_also_across_a_checkpoint(name):
    cfg = dict(mating_rate=0.5, scout_fraction=0.2, low_rank_boost=1.0)
    strategy, pop = setup(name, size=12, **cfg)
    rng = np.random.default_rng(3)
    seen = list(pop.ids)
    for gen in range(30):
        if gen == 15:
            buf = io.BytesIO()
            np.savez(buf, **pop.to_arrays())
            buf.seek(0)
            pop = Population.from_arrays(dict(np.load(buf, allow_pickle=False)))
        pop, report = strategy.tell(pop, -np.abs(pop.params).sum(axis=1), rng)
        seen.extend(report.born)
        assert pop.size == 12 and pop.shares.sum() == pytest.approx(1.0)
    assert len(seen) == len(set(seen)) and pop.next_id == len(seen)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_generator_gives_same_population(name):
    def run():
        strategy, pop = setup(name, size=10, mating_rate=0.3)
        rng = np.random.default_rng(11)
        for _ in range(10):
            pop, _ = strategy.tell(pop, pop.params.sum(axis=1), rng)
        return pop.to_arrays()

    a, b = run(), run()
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)


def test_mating_mixes_lineages_module_wise():
    strategy, pop = setup("truncation", size=40, truncation_k=20, mating_rate=1.0)
    pop.params[:] = (pop.lineage_ids % 2)[:, None]
    pop.gate_logit[:] = -np.inf  # gate 0: no mutation, only the crossover shows
    nxt, _ = strategy.tell(pop, np.arange(40.0), np.random.default_rng(0))
    children = nxt.params[20:]
    assert np.isin(children, [0.0, 1.0]).all()
    assert ((children[:, 0] != children[:, 2]) | (children[:, 0] != children[:, 1])).any()


def test_unknown_strategy_lists_the_known_ones():
    with pytest.raises(ConfigError, match="drift, greedy, pbml, pbml_paper, truncation"):
        make_strategy("nope", SelectionConfig(), LAYOUT)


@pytest.mark.parametrize(
    "kw,field",
    [({"size": 0}, "population.size"), ({"min_share": 0.5}, "population.min_share")],
)
def test_config_errors_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        SelectionConfig(**kw).validate()


def test_wrong_fitness_length_is_an_error():
    strategy, pop = setup("pbml")
    with pytest.raises(ValueError, match="3 values"):
        strategy.tell(pop, np.zeros(3), np.random.default_rng(0))
