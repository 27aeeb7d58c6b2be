"""Comparison rows for `pbml bench`: other libraries' rollouts, measured like our backends.

'envpool' is EnvPool's C++ thread pool in async mode (`num_envs` = population, batches of half
of it, `workers` threads), stepped with our batched numpy forward of the same MLP genomes (from
the policy's initialiser) on each received batch. 'evotorch' is one generation of EvoTorch's
`VecGymNE` (`workers` Ray actors, each a gymnasium vector env of its share of the population),
with the same MLP architecture but EvoTorch's own initial genomes. Neither knows our goal-
conditioned tasks, so both run the plain gymnasium body (HalfCheetah-v5 for HalfCheetah tasks,
Ant-v5 for Ant tasks: same observation and action sizes, no goals); each row says so in its note.
Rows are skipped, with a note, when the package is not importable.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: Comparison rows, and the package each needs.
OTHERS = {"envpool": "envpool", "evotorch": "evotorch"}
BODIES = {"HalfCheetah": "HalfCheetah-v5", "Ant": "Ant-v5"}


def plain_env_id(task_id: str) -> str:
    """The plain gymnasium id of a task's body: 'pbml/AntDir-v0' -> 'Ant-v5'."""
    name = task_id.split("/")[-1]
    for body, env_id in BODIES.items():
        if name.startswith(body):
            return env_id
    raise ValueError(f"no plain gymnasium body for {task_id}; known: {', '.join(BODIES)}")


def skip_reason(backend: str) -> str:
    """'' if the comparison row can run, else a 'skipped: ...' note."""
    try:
        importlib.import_module(OTHERS[backend])
    except ImportError:
        return f"skipped: {backend} is not installed (pip install pbml-control[bench])"
    return ""


def note(task_id: str) -> str:
    """The note of a measured comparison row: what it ran instead of the task."""
    return f"plain {plain_env_id(task_id)} (no goals)"


def make_runner(backend: str, task_id: str, settings: Any, closers: list) -> Callable[[], float]:
    """A timed generation of `backend` on the plain body of `task_id`; startup done here."""
    if backend == "envpool":
        return _envpool_runner(task_id, settings, closers)
    return _evotorch_runner(task_id, settings, closers)


class _GenomeForward:
    """The MLP forward for the genomes of some env ids: weights unpacked once, rows picked per
    batch (EnvPool's async batches hold whichever environments finished first)."""

    def __init__(self, policy: Any, params: np.ndarray) -> None:
        self.layers = policy.layout.unpack(np.asarray(params, dtype=np.float32))
        hidden = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0)}[policy.activation]
        self.activations = [hidden] * (len(self.layers) - 1) + [np.tanh]

    def __call__(self, obs: np.ndarray, env_ids: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32)
        for (weight, bias), act in zip(self.layers, self.activations, strict=True):
            x = act(np.matmul(weight[env_ids], x[:, :, None])[:, :, 0] + bias[env_ids])
        return x


def _policy(env_id: str, settings: Any, obs_dim: int, act_dim: int):
    import pbml_policies

    policy = pbml_policies.make_policy("mlp", obs_dim, act_dim, hidden=list(settings.hidden))
    rng = np.random.default_rng(0)
    params = np.stack([policy.init_flat(rng) for _ in range(settings.population)])
    return policy, params


def _envpool_runner(task_id: str, settings: Any, closers: list) -> Callable[[], float]:
    import envpool

    env_id, n = plain_env_id(task_id), settings.population
    batch = max(1, n // 2)
    pool = envpool.make(
        env_id,
        env_type="gymnasium",
        num_envs=n,
        batch_size=batch,
        num_threads=settings.workers,
        max_episode_steps=settings.steps,
        seed=12345,
    )
    closers.append(pool.close)
    policy, params = _policy(
        env_id, settings, pool.observation_space.shape[0], pool.action_space.shape[0]
    )
    forward = _GenomeForward(policy, params)
    target = n * settings.steps

    def run() -> float:
        start = time.perf_counter()
        pool.async_reset()
        sent = 0
        while sent < target:
            obs, _, _, _, info = pool.recv()
            ids = info["env_id"]
            pool.send(forward(obs, ids), ids)
            sent += len(ids)
        for _ in range(-(-n // batch)):  # collect the steps still in flight
            pool.recv()
        return sent / (time.perf_counter() - start)

    run()  # warm-up: threads started, pages touched
    return run


def _evotorch_runner(task_id: str, settings: Any, closers: list) -> Callable[[], float]:
    import ray
    from evotorch.neuroevolution import VecGymNE

    if not ray.is_initialized():
        ray.init(num_cpus=settings.workers, include_dashboard=False, log_to_driver=False)
        closers.append(ray.shutdown)
    layers = [f"Linear(obs_length, {settings.hidden[0]})", "Tanh()"]
    for a, b in zip(settings.hidden, settings.hidden[1:], strict=False):
        layers += [f"Linear({a}, {b})", "Tanh()"]
    layers += [f"Linear({settings.hidden[-1]}, act_length)", "Tanh()"]
    problem = VecGymNE(
        plain_env_id(task_id),
        " >> ".join(layers),
        env_config={"max_episode_steps": settings.steps},
        num_actors=settings.workers,
        actor_config={"num_cpus": 0},  # shares the CPUs with our Ray pool when both run
    )
    population = problem.generate_batch(settings.population)

    def run() -> float:
        before = problem.interaction_count
        start = time.perf_counter()
        problem.evaluate(population)
        return (problem.interaction_count - before) / (time.perf_counter() - start)

    run()  # warm-up: actors and their vector environments are created on first use
    return run
