"""pbml_paper (births independent of deaths), re-evaluation policies, clones, the selection
differential and the ancestry record, on hand-computed small populations."""

from __future__ import annotations

import numpy as np
import pytest

from pbml_control.errors import ConfigError
from pbml_control.evolution.ancestry import Ancestry
from pbml_control.evolution.genome import ModuleLayout, Population
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.evolution.selection.base import merge_fitness, selection_differential

LAYOUT = ModuleLayout(names=("a", "b"), sizes=(2, 1))


def setup(size: int = 4, **kw):
    cfg = SelectionConfig(strategy="pbml_paper", size=size, **kw)
    strategy = make_strategy("pbml_paper", cfg, LAYOUT)
    founders = np.arange(size * 3, dtype=np.float32).reshape(size, 3)
    return strategy, strategy.init(founders, np.random.default_rng(0))


def test_linear_rule_hand_computed_shares_cap_and_births():
    strategy, pop = setup(offspring=1, max_genomes=4, decay=0.5, min_share=0.01)
    nxt, report = strategy.tell(pop, np.array([4.0, 3.0, 2.0, 1.0]), np.random.default_rng(1))
    raw = 0.25 * (1 - 0.5 * np.array([0, 1 / 3, 2 / 3, 1]))  # [0.25, 0.2083, 0.1667, 0.125]
    shares = raw / raw.sum()
    # Room for survivors = cap 4 - 1 birth = 3: the least abundant (genome 3) dies.
    assert report.dead["id"].tolist() == [3] and report.born.tolist() == [4]
    parent = int(nxt.parent_ids[3])
    expected = shares[:3] / shares[:3].sum()
    expected[parent] /= 2  # newborn='parent': the parent splits its share with its child
    np.testing.assert_allclose(nxt.shares, [*expected, expected[parent]])


def test_exponential_rule_is_pbml_shrink():
    strategy, pop = setup(offspring=1, max_genomes=8, rank_rule="exponential", rank_pressure=2.0)
    nxt, report = strategy.tell(pop, np.array([1.0, 2.0, 3.0, 4.0]), np.random.default_rng(0))
    assert report.dead["id"].size == 0  # cap 8, nobody under 1/1000
    raw = 0.25 * np.exp(-2.0 * np.array([1, 2 / 3, 1 / 3, 0]))
    shares = raw / raw.sum()
    parent = int(nxt.parent_ids[-1])
    expected = shares.copy()
    expected[parent] /= 2
    np.testing.assert_allclose(nxt.shares, [*expected, expected[parent]])


def test_births_equal_offspring_whatever_died_and_the_cap_holds():
    strategy, pop = setup(size=4, offspring=2, max_genomes=10, min_share=0.01)
    rng = np.random.default_rng(3)
    sizes = []
    for _ in range(40):
        fitness = rng.standard_normal(pop.size)
        pop, report = strategy.tell(pop, fitness, rng)
        assert report.born.size == 2
        assert pop.size <= 10
        np.testing.assert_allclose(pop.shares.sum(), 1.0)
        assert pop.shares.min() > 0
        sizes.append(pop.size)
    assert sizes[:3] == [6, 8, 10]  # nobody died early on: distinct genomes grow by C
    assert len(set(sizes)) > 1 or sizes[-1] == 10


def test_fresh_newborns_get_one_over_cap_before_renormalising():
    strategy, pop = setup(offspring=2, max_genomes=8, newborn="fresh")
    nxt, _ = strategy.tell(pop, np.array([4.0, 3.0, 2.0, 1.0]), np.random.default_rng(0))
    raw = 0.25 * (1 - 0.5 * np.array([0, 1 / 3, 2 / 3, 1]))
    kept = raw / raw.sum()
    expected = np.concatenate([kept, [1 / 8, 1 / 8]])
    np.testing.assert_allclose(nxt.shares, expected / expected.sum())


def test_offspring_must_leave_room_under_the_cap():
    with pytest.raises(ConfigError, match=r"population.offspring \(8\) must be below max_genomes"):
        SelectionConfig(strategy="pbml_paper", size=8, offspring=8).validate()
    with pytest.raises(ConfigError, match="population.reevaluate must be one of all, top, none"):
        SelectionConfig(reevaluate="some").validate()


def test_ask_follows_the_reevaluation_policy():
    always = MutationConfig(init_gate=1.0)  # the newborn is no clone
    strategy, pop = setup(size=4, offspring=1, max_genomes=6, reevaluate="none", mutation=always)
    assert strategy.ask(pop, goal_changed=False).tolist() == [0, 1, 2, 3]  # unscored founders
    pop, _ = strategy.tell(pop, np.array([4.0, 3.0, 2.0, 1.0]), np.random.default_rng(0))
    assert strategy.ask(pop, goal_changed=False).tolist() == [4]  # only the newborn
    assert strategy.ask(pop, goal_changed=True).tolist() == [0, 1, 2, 3, 4]
    top = make_strategy("pbml_paper", SelectionConfig(
        strategy="pbml_paper", size=4, offspring=1, max_genomes=6, reevaluate="top",
        reevaluate_top=2, mutation=always), LAYOUT)  # fmt: skip
    assert top.ask(pop, goal_changed=False).tolist() == [0, 1, 4]  # two most abundant + newborn
    fitness = merge_fitness(pop, np.array([4]), np.array([9.0]))
    np.testing.assert_array_equal(fitness, [*pop.fitness[:4], 9.0])


def test_a_clone_carries_its_parents_fitness_and_is_not_scored_again():
    cfg = SelectionConfig(
        strategy="pbml_paper", size=4, offspring=3, max_genomes=8, reevaluate="none",
        mutation=MutationConfig(init_gate=0.0),  # gate 0: no module ever mutates
    )  # fmt: skip
    strategy = make_strategy("pbml_paper", cfg, LAYOUT)
    pop = strategy.init(np.arange(12, dtype=np.float32).reshape(4, 3), np.random.default_rng(0))
    pop, _ = strategy.tell(pop, np.array([4.0, 3.0, 2.0, 1.0]), np.random.default_rng(0))
    children = np.flatnonzero(pop.birth_gen == 1)
    parent_row = {int(i): k for k, i in enumerate(pop.ids)}
    for c in children:
        p = parent_row[int(pop.parent_ids[c])]
        np.testing.assert_array_equal(pop.params[c], pop.params[p])
        assert pop.fitness[c] == pop.fitness[p]
    assert strategy.ask(pop, goal_changed=False).size == 0


def test_frozen_mutation_keeps_log_sigma_and_gate_bit_for_bit():
    cfg = SelectionConfig(strategy="pbml", size=8, mutation=MutationConfig(frozen=True))
    strategy = make_strategy("pbml", cfg, LAYOUT)
    rng = np.random.default_rng(0)
    pop = strategy.init(np.zeros(3, np.float32), rng)
    ls0, gl0 = pop.log_sigma[0].copy(), pop.gate_logit[0].copy()
    for _ in range(20):
        pop, _ = strategy.tell(pop, rng.standard_normal(pop.size), rng)
    assert (pop.log_sigma == ls0).all() and (pop.gate_logit == gl0).all()
    assert len({row.tobytes() for row in pop.params}) > 1  # the weights still mutate


def test_selection_differential_hand_computed():
    pop = Population(
        params=np.zeros((2, 3), np.float32),
        log_sigma=np.array([[0.0, 1.0], [2.0, 1.0]], np.float32),
        gate_logit=np.array([[0.0, -np.inf], [1.0, -np.inf]], np.float32),
        ids=np.array([0, 1]), parent_ids=np.array([-1, -1]), lineage_ids=np.array([0, 1]),
        birth_gen=np.zeros(2, np.int64), shares=np.array([0.5, 0.5]), fitness=np.zeros(2),
        scout_until=np.full(2, -1), generation=0, next_id=2,
    )  # fmt: skip
    # Genome 1 survives with share 0.3 and has one child of share 0.3; genome 0 keeps 0.4.
    keep, parents, shares = np.array([0, 1]), np.array([1]), np.array([0.4, 0.3, 0.3])
    sel_ls, sel_gl = selection_differential(pop, keep, parents, shares)
    # mass = [0.4, 0.6]; log sigma a: 0.4*0 + 0.6*2 - (0.5*0 + 0.5*2) = 0.2; module b: 0.
    np.testing.assert_allclose(sel_ls, [0.2, 0.0])
    np.testing.assert_allclose(sel_gl[0], 0.4 * 0 + 0.6 * 1 - 0.5)
    assert np.isnan(sel_gl[1])  # gates fixed at 0: no trait to select


def _pop(ids, parents, births, generation):
    n = len(ids)
    return Population(
        params=np.zeros((n, 1), np.float32), log_sigma=np.zeros((n, 1), np.float32),
        gate_logit=np.zeros((n, 1), np.float32), ids=np.array(ids), parent_ids=np.array(parents),
        lineage_ids=np.zeros(n, np.int64), birth_gen=np.array(births),
        shares=np.full(n, 1 / n), fitness=np.zeros(n), scout_until=np.full(n, -1),
        generation=generation, next_id=max(ids) + 1,
    )  # fmt: skip


def test_tmrca_walks_the_tree_and_prunes_dead_branches():
    founders = _pop([0, 1], [-1, -1], [0, 0], 0)
    anc = Ancestry.of(founders)
    assert anc.tmrca(founders.ids, 0) == 1  # two founders: back to the initial vector
    gen1 = _pop([0, 2, 3], [-1, 0, 0], [0, 1, 1], 1)  # founder 1 died; 0 has children 2, 3
    anc = anc.advanced(gen1)
    assert 1 not in anc.parent
    assert anc.tmrca(gen1.ids, 1) == 1  # MRCA is founder 0, born at 0
    gen3 = _pop([4, 5], [2, 2], [3, 3], 3)  # both descend from 2 (born 1)
    anc = anc.advanced(gen3)
    assert anc.tmrca(gen3.ids, 3) == 2
    assert set(anc.parent) == {0, 2, 4, 5}
    again = Ancestry.from_arrays(anc.to_arrays())
    assert again == anc
    # Genomes whose parents the record never saw (a run started from another run's genomes).
    moved = _pop([40, 41, 41], [7, 9, 9], [0, 0, 0], 0)
    assert Ancestry.of(moved).tmrca(moved.ids, 0) == 1
    assert Ancestry.of(_pop([41], [9], [0], 0)).tmrca(np.array([41]), 5) == 5
