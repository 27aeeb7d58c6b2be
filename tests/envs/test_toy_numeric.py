import numpy as np
from pbml_envs.toy.numeric import MODULES, NumericWorld


def test_fitness_reads_only_x():
    world = NumericWorld()
    params = np.array([[1.5], [-2.0]], dtype=np.float32)
    assert world.fitness(params).tolist() == [1.5, -2.0]
    assert MODULES == (("x", 1),) and world.founders(3).shape == (3, 1)
