"""Rollout pool: evaluates genomes in environments, serially, in worker processes or on Ray."""

from pbml_control.rollout.base import Pool, PoolError
from pbml_control.rollout.factory import make_pool, pool_from_config
from pbml_control.rollout.types import EnvSpec, EvalBatch, RolloutResult

__all__ = [
    "EnvSpec",
    "EvalBatch",
    "Pool",
    "PoolError",
    "RolloutResult",
    "make_pool",
    "pool_from_config",
]
