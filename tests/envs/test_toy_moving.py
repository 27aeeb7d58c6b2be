import numpy as np
import pytest
from pbml_envs.toy.moving import MovingTargetWorld


def test_modules_and_founders():
    world = MovingTargetWorld(dim=3)
    assert world.modules == (("a", 3), ("b", 3)) and world.num_params == 6
    founders = world.founders(5)
    assert founders.shape == (5, 6) and founders.dtype == np.float32 and not founders.any()


def test_same_seed_same_world_and_identical_genomes_score_alike():
    params = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    twins = np.concatenate([params, params])
    a, b = MovingTargetWorld(seed=5), MovingTargetWorld(seed=5)
    for gen in (0, 7, 40):
        fit = a.fitness(twins, gen)
        assert fit.dtype == np.float64 and fit.shape == (6,)
        assert np.array_equal(fit[:3], fit[3:]) and np.array_equal(fit, b.fitness(twins, gen))


def test_noise_changes_with_generation_but_not_the_goal():
    world = MovingTargetWorld(seed=2)
    params = np.random.default_rng(1).normal(size=(4, 8))
    assert np.array_equal(world.goal(world.segment(3)), world.goal(world.segment(4)))
    assert not np.array_equal(world.fitness(params, 3), world.fitness(params, 4))
    quiet = MovingTargetWorld(seed=2, noise=0.0)
    assert np.array_equal(quiet.fitness(params, 3), quiet.fitness(params, 4))


def test_b_is_penalised_and_a_is_best_at_the_goal():
    world = MovingTargetWorld(seed=1, noise=0.0)
    g = world.goal(0)
    at_goal = np.concatenate([g, np.zeros(4)])[None, :]
    b_moved = np.concatenate([g, np.full(4, 0.5)])[None, :]
    assert world.fitness(at_goal, 0).tolist() == pytest.approx([0.0])
    assert world.fitness(b_moved, 0).tolist() == pytest.approx([-1.0])
    assert MovingTargetWorld(seed=1, noise=0.0, penalty=2.0).fitness(b_moved, 0)[0] == -2.0


def test_goal_changes_exactly_at_multiples_of_the_period():
    world = MovingTargetWorld(period=5, seed=3)
    flags = [world.changes(gen) for gen in range(21)]
    assert [gen for gen, flag in enumerate(flags) if flag] == [5, 10, 15, 20]
    for gen in range(1, 21):
        same = np.array_equal(world.goal(world.segment(gen)), world.goal(world.segment(gen - 1)))
        assert same != world.changes(gen)


def test_goals_lie_on_the_sphere():
    world = MovingTargetWorld(radius=2.5, dim=6, seed=4)
    norms = [np.linalg.norm(world.goal(s)) for s in range(50)]
    assert norms == pytest.approx([2.5] * 50)
    assert world.goal(0).shape == (6,)
