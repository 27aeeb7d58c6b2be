"""What an exported controller is worth, measured on the exported module itself.

A reported fitness is one episode (or the mean of a few) on one seed, and a 200-step locomotion
return is chaotic: the exported module's actions differ from the numpy forward's by ~1e-7 (float32
products round differently), which alone moves the return by tens of percent. So `pbml export`
loads the file it wrote and rolls it out, in a plain loop over the task's Gymnasium environment:
- on the recorded episode seeds and goal (``replay``): the number the README's replay loop prints;
- on N fresh episode seeds, the same goal (``mean``, ``sd``, a 95% t-interval): what the
  controller is worth on episodes it never saw.
Both are stored in the file's ``pbml.json`` under ``evaluation``, so the number a user replays
is the number they were told.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import UserError

#: Where the fresh episode seeds of an export's evaluation come from (with the scoring env seed).
SEED_PURPOSE = 0xE4B0


def fresh_seeds(env_seed: int, count: int) -> list[int]:
    """``count`` episode seeds for the exported controller, fixed by the scoring env seed."""
    state = np.random.SeedSequence([int(env_seed), SEED_PURPOSE]).generate_state(count, np.uint32)
    return [int(s >> 1) for s in state]


def evaluate_module(path: Path, meta: dict[str, Any], episodes: int) -> dict[str, Any]:
    """``pbml.json``'s ``evaluation``: the module at ``path`` replayed on ``meta``'s recorded
    seeds and on ``episodes`` fresh ones (``episodes`` >= 2), at ``meta``'s goal."""
    import torch

    task = meta.get("task") or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates torch.jit
        module = torch.jit.load(str(path))
    env = _make(task)
    try:
        goal = meta.get("goal")
        recorded = [int(s) for s in meta.get("episode_seeds") or []]
        replay = [_episode(env, module, seed, goal, task) for seed in recorded]
        seeds = fresh_seeds(int(meta.get("env_seed") or 0), episodes)
        returns = np.array([_episode(env, module, seed, goal, task) for seed in seeds])
    finally:
        env.close()
    from scipy import stats

    mean, sd = float(returns.mean()), float(returns.std(ddof=1))
    half = float(stats.t.ppf(0.975, returns.size - 1) * sd / np.sqrt(returns.size))
    return {
        "by": "this file, torch.jit.load(path)(obs) stepped in the task's Gymnasium env",
        "replay": float(np.mean(replay)) if replay else None,
        "replay_seeds": recorded,
        "goal": goal,
        "seeds": seeds,
        "returns": returns.tolist(),
        "mean": mean,
        "sd": sd,
        "ci95": [mean - half, mean + half],
    }


def _make(task: dict[str, Any]):
    from pbml_control.rollout.types import EnvSpec

    kwargs = dict(task.get("kwargs") or {})
    if task.get("episode_steps"):
        kwargs["max_episode_steps"] = int(task["episode_steps"])
    try:
        return EnvSpec.of(str(task["id"]), **kwargs).make()
    except Exception as err:  # gymnasium raises several error types for unknown ids
        raise UserError(
            f"task '{task.get('id')}' cannot be made (is it registered?): {err}"
        ) from err


def _episode(env, module, seed: int, goal, task: dict[str, Any]) -> float:
    """One episode's return: the task's reward summed until it ends or its length is reached."""
    import torch

    options = None if goal is None else {"goal": np.atleast_1d(np.asarray(goal, np.float64))}
    obs, _ = env.reset(seed=seed, options=options)
    total, steps = 0.0, int(task.get("episode_steps") or 0)
    with torch.no_grad():
        for _ in range(steps or 10**9):
            action = module(torch.from_numpy(np.asarray(obs, dtype=np.float64))).numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
    return total
