"""Is the policy forward cheap next to the physics? Batched numpy forward vs MuJoCo step time.

A rollout worker steps K environments in lockstep and calls one batched forward per step, so a
step of the worker costs ``forward(K) + K * env.step``. This prints, per body and K, the forward's
time per call and per genome beside ``env.step`` (Gymnasium, random actions) and the raw physics
of one env step (``mujoco.mj_step`` x frame_skip on ``env.unwrapped.model/data``), all measured in
the same run, as medians over repeats. Policy: MLP 64x64 tanh with the body's obs/action sizes.

Then the torch ``nn.Module`` policy (``torch_mlp``: the same 64x64 tanh network, K genomes in one
``vmap(functional_call)`` per step) beside the numpy MLP on HalfCheetah's sizes (17 -> 6), in
genome-steps/s: the forward alone for K = 16 and 64, and end to end, one chunk of 16 genomes
through the rollout engine on pbml/HalfCheetahVel-v0 for 200 steps (the same genomes for both
policies, so the fitness gap is the forward's round-off carried through 200 steps of physics).

    python benchmarks/policy_forward.py [--repeats 7] [--steps 300] [--rollouts 3]
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
TORCH_COUNTS = (16, 64)
ROLLOUT_TASK, ROLLOUT_K, ROLLOUT_STEPS = "pbml/HalfCheetahVel-v0", 16, 200


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


def torch_vs_numpy_forward(steps: int, repeats: int) -> list[str]:
    """Forward genome-steps/s of ``torch_mlp`` and ``mlp`` (64x64 tanh, 17 -> 6), same genomes."""
    rng = np.random.default_rng(0)
    numpy_mlp = make_policy("mlp", 17, 6, hidden=(64, 64), activation="tanh")
    torch_mlp = make_policy("torch_mlp", 17, 6, hidden=(64, 64), activation="tanh")
    rows = []
    for k in TORCH_COUNTS:
        params = np.stack([numpy_mlp.init_flat(rng) for _ in range(k)])
        obs = rng.standard_normal((k, 17)).astype(np.float32)
        rates = []
        for policy in (numpy_mlp, torch_mlp):
            forward = policy.batched(params)
            rates.append(k / median_us(lambda f=forward, o=obs: f(o), steps, repeats) * 1e6)
        rows.append(rate_row(f"forward  K={k}", rates))
    return rows


def rollout_batch(name: str):
    """One chunk of ROLLOUT_K jobs on ROLLOUT_TASK; genomes drawn from the numpy MLP's init."""
    import pbml_envs

    from pbml_control.rollout.types import EnvSpec, EvalBatch

    numpy_mlp = make_policy("mlp", 17, 6, hidden=(64, 64))
    policy = make_policy(name, 17, 6, hidden=(64, 64))
    rng = np.random.default_rng(0)
    params = np.stack([numpy_mlp.init_flat(rng) for _ in range(ROLLOUT_K)])
    params += 0.1 * rng.standard_normal(params.shape).astype(np.float32)
    return EvalBatch(
        env=EnvSpec.of(ROLLOUT_TASK, max_episode_steps=ROLLOUT_STEPS),
        policy=policy.to_dict(),
        params=params,
        goals=pbml_envs.sample_goals(ROLLOUT_TASK, rng, ROLLOUT_K),
        seeds=np.arange(ROLLOUT_K, dtype=np.int64),
        obs_stats=RunningStats.zeros(17).to_arrays(),
    )


def torch_vs_numpy_rollout(repeats: int) -> list[str]:
    """End-to-end genome-steps/s of one engine chunk per policy, and the fitness gap."""
    from pbml_control.rollout.engine import EnvCache, run_chunk

    rates, fitness = [], []
    for name in ("mlp", "torch_mlp"):
        batch, cache = rollout_batch(name), EnvCache()
        chunk = batch.chunk(0, ROLLOUT_K)
        run_chunk(chunk, cache)  # builds the environments and the policy outside the timing
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            results = run_chunk(chunk, cache)
            samples.append(sum(r.steps for r in results) / (time.perf_counter() - start))
        cache.close()
        rates.append(statistics.median(samples))
        fitness.append(np.array([r.fitness for r in results]))
    gap = np.abs(fitness[0] - fitness[1])
    cache = EnvCache()  # control: the numpy MLP against itself with weights x (1 + 1e-6)
    nudged = rollout_batch("mlp")
    nudged.params *= np.float32(1 + 1e-6)
    control = np.abs(fitness[0] - [r.fitness for r in run_chunk(nudged.chunk(0, ROLLOUT_K), cache)])
    cache.close()
    return [
        rate_row(f"rollout  K={ROLLOUT_K}", rates),
        f"same genomes, {ROLLOUT_STEPS} steps: |fitness(torch_mlp) - fitness(mlp)| "
        f"max {gap.max():.3g}, mean {gap.mean():.3g} (fitness about {np.mean(fitness[0]):.1f})",
        f"control, mlp vs mlp with weights x (1 + 1e-6): max {control.max():.3g}, mean "
        f"{control.mean():.3g} (the dynamics amplify any round-off)",
    ]


def rate_row(label: str, rates: list[float]) -> str:
    return f"{label:<13} {rates[0]:>14,.0f} {rates[1]:>14,.0f} {rates[1] / rates[0]:>9.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; medians reported")
    parser.add_argument("--steps", type=int, default=300, help="calls or steps per repeat")
    parser.add_argument("--rollouts", type=int, default=3, help="timed engine chunks per policy")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, mujoco {mujoco.__version__}, gymnasium {gym.__version__}")
    print(f"medians over {args.repeats} repeats of {args.steps} calls; 1 process, this machine")
    print("policy: mlp 64x64 tanh; env.step and mj_step*frame_skip are per env step (1 genome);")
    print("fwd/env.step = batched forward per genome / env.step")
    print(HEADER)
    for env_id in ENV_IDS:
        for row in bench_env(env_id, args.steps, args.repeats):
            print(row)
    import torch

    torch.set_num_threads(1)  # as in a rollout worker
    print(f"\ntorch {torch.__version__} (1 thread): torch_mlp (vmap over functional_call) vs mlp")
    print("(numpy), 64x64 tanh, 17 -> 6; genome-steps/s (higher is better); end to end: one chunk")
    print(f"of {ROLLOUT_K} genomes through the engine on {ROLLOUT_TASK}, {ROLLOUT_STEPS} steps")
    print(f"{'':<13} {'numpy mlp':>14} {'torch_mlp':>14} {'torch/np':>9}")
    for row in torch_vs_numpy_forward(args.steps, args.repeats):
        print(row)
    for row in torch_vs_numpy_rollout(args.rollouts):
        print(row)


if __name__ == "__main__":
    main()
