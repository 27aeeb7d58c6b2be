import numpy as np
import pytest
from pbml_envs.toy.square import HardSquareWorld, SquareWorld, inside_any


def test_fitness_is_one_inside_a_square_and_zero_outside():
    centres = np.array([[2.0, 2.0]])
    pos = np.array([[2.4, 1.6], [2.6, 2.0], [0.0, 0.0]])
    assert inside_any(pos, centres, side=1.0).tolist() == [1.0, 0.0, 0.0]


def test_squares_move_every_period_and_stay_in_the_box():
    world = SquareWorld(period=5, seed=3)
    assert np.array_equal(world.centres(0), world.centres(4))
    assert not np.array_equal(world.centres(4), world.centres(5))
    for gen in range(0, 50, 5):
        c = world.centres(gen)
        assert c.shape == (4, 2) and (c >= 0.5).all() and (c <= 9.5).all()


def test_static_world_never_moves():
    world = SquareWorld(period=0, seed=3)
    assert np.array_equal(world.centres(0), world.centres(1000))


def test_hard_squares_are_small_and_far_from_the_origin():
    hard = HardSquareWorld(seed=1)
    origin = np.array([10.0, -4.0])
    dist = np.linalg.norm(hard.centres(origin) - origin, axis=1)
    assert ((dist >= hard.near) & (dist <= hard.far)).all()
    assert hard.fitness(origin[None, :], origin).tolist() == [0.0]
    assert hard.fitness(hard.centres(origin), origin).tolist() == pytest.approx([1.0, 1.0])


def test_same_seed_same_world():
    assert np.array_equal(SquareWorld(seed=9).centres(40), SquareWorld(seed=9).centres(40))
