"""The paper's toy worlds, reconstructed in pure numpy and vectorised over a population.

Frans & Witkowski (2021, arXiv 2103.06435) use a Numeric world and a Square world (with a Hard
Square variant for transfer) to show that population-based selection on a changing landscape
selects for good mutation functions. Their exact definitions are not available; the modules
here document ours. The worlds know nothing about selection: a genome is a parameter vector
whose modules are listed in ``MODULES``, and the mutation function (sigma and gate per module)
is the selection library's business. This package imports numpy only.
"""

from pbml_envs.toy.moving import MovingTargetWorld
from pbml_envs.toy.numeric import NumericWorld
from pbml_envs.toy.square import HardSquareWorld, SquareWorld

__all__ = ["HardSquareWorld", "MovingTargetWorld", "NumericWorld", "SquareWorld"]
