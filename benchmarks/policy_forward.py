"""Is the policy forward cheap next to the physics? Batched numpy forward vs MuJoCo step time.

A rollout worker steps K environments in lockstep and calls one batched forward per step, so a
step of the worker costs ``forward(K) + K * env.step``. This prints, per body and K, the forward's
time per call and per genome beside ``env.step`` (Gymnasium, random actions) and the raw physics
of one env step (``mujoco.mj_step`` x frame_skip on ``env.unwrapped.model/data``), all measured in
the same run, as medians over repeats. Policy: MLP 64x64 tanh with the body's obs/action sizes.

    python benchmarks/policy_forward.py [--repeats 7] [--steps 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from pbml_policies import RunningStats, make_policy  # noqa: E402

ENV_IDS = ("HalfCheetah-v5", "Ant-v5")
GENOME_COUNTS = (1, 16, 64)


def median_us(fn: Callable[[], None], calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of ``calls`` calls, in microseconds."""
    fn()  # warm up caches and lazy initialisation outside the timing
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return 1e6 * statistics.median(samples)


def env_step_us(env: gym.Env, steps: int, repeats: int, rng: np.random.Generator) -> float:
    """Median per-step time of ``env.step`` with random actions; resets are not timed."""
    low, high = env.action_space.low, env.action_space.high
    actions = rng.uniform(low, high, size=(steps, *low.shape)).astype(np.float32)
    env.reset(seed=0)
    samples = []
    for _ in range(repeats):
        total = 0.0
        for action in actions:
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            total += time.perf_counter() - start
            if terminated or truncated:
                env.reset()
        samples.append(total / steps)
    return 1e6 * statistics.median(samples)


def physics_us(env: gym.Env, steps: int, repeats: int) -> tuple[float, int]:
    """Median time of the raw physics of one env step: ``mj_step`` x frame_skip."""
    model, data = env.unwrapped.model, env.unwrapped.data
    frame_skip = int(env.unwrapped.frame_skip)
    env.reset(seed=0)
    per_call = median_us(lambda: mujoco.mj_step(model, data), steps, repeats)
    return per_call * frame_skip, frame_skip


HEADER = (
    f"{'env':<15} {'K':>3} {'forward/call':>13} {'forward/genome':>15} {'normalize/call':>15} "
    f"{'env.step':>9} {'mj_step*fs':>11} {'fwd/env.step':>13}"
)


def bench_env(env_id: str, steps: int, repeats: int) -> list[str]:
    """One row per K: forward and normalisation per call, physics per env step, in us."""
    rng = np.random.default_rng(0)
    env = gym.make(env_id)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    step_us = env_step_us(env, steps, repeats, rng)
    phys_us, _ = physics_us(env, steps, repeats)
    env.close()
    policy = make_policy("mlp", obs_dim, act_dim, hidden=(64, 64), activation="tanh")
    stats = RunningStats.zeros(obs_dim)
    stats.update(rng.standard_normal((100, obs_dim)))
    rows = []
    for k in GENOME_COUNTS:
        forward = policy.batched(np.stack([policy.init_flat(rng) for _ in range(k)]))
        normalizer = stats.normalizer()
        obs = rng.standard_normal((k, obs_dim)).astype(np.float32)
        fwd = median_us(lambda f=forward, o=obs: f(o), steps, repeats)
        norm = median_us(lambda n=normalizer, o=obs: n(o), steps, repeats)
        rows.append(
            f"{env_id:<15} {k:>3} {fwd:>10.1f} us {fwd / k:>12.2f} us {norm:>12.1f} us "
            f"{step_us:>6.1f} us {phys_us:>8.1f} us {fwd / k / step_us:>13.1%}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; medians reported")
    parser.add_argument("--steps", type=int, default=300, help="calls or steps per repeat")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, mujoco {mujoco.__version__}, gymnasium {gym.__version__}")
    print(f"medians over {args.repeats} repeats of {args.steps} calls; 1 process, this machine")
    print("policy: mlp 64x64 tanh; env.step and mj_step*frame_skip are per env step (1 genome);")
    print("fwd/env.step = batched forward per genome / env.step")
    print(HEADER)
    for env_id in ENV_IDS:
        for row in bench_env(env_id, args.steps, args.repeats):
            print(row)


if __name__ == "__main__":
    main()
