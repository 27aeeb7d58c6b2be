"""A torch module policy in the rollout engine: results independent of how jobs are chunked, and
workers that run numpy policies never import torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from pbml_control.rollout.serial import SerialPool

BATCH = """
import numpy as np
import pbml_envs, pbml_policies
from pbml_control.rollout.types import EnvSpec, EvalBatch

def batch(name, n=4, steps=20, task="pbml/HalfCheetahVel-v0"):
    policy = pbml_policies.make_policy(name, 17, 6, hidden=[8])
    rng = np.random.default_rng(0)
    params = np.stack([policy.init_flat(rng) for _ in range(n)])
    params += 0.3 * rng.standard_normal(params.shape).astype(np.float32)
    return EvalBatch(
        env=EnvSpec.of(task, max_episode_steps=steps),
        policy=policy.to_dict(),
        params=params,
        goals=pbml_envs.sample_goals(task, rng, n),
        seeds=np.arange(n, dtype=np.int64),
        obs_stats=pbml_policies.RunningStats.zeros(17).to_arrays(),
        collect_obs_stats=True,
    )
"""


def make_batch(name: str):
    scope: dict = {}
    exec(BATCH, scope)
    return scope["batch"](name)


def test_torch_policy_results_do_not_depend_on_the_chunking():
    batch = make_batch("torch_mlp")
    runs = []
    for chunk_size in (4, 3, 1):
        pool = SerialPool(chunk_size)
        try:
            runs.append([(r.fitness, r.steps) for r in pool.evaluate(batch)])
        finally:
            pool.close()
    assert runs[0] == runs[1] == runs[2]
    assert all(np.isfinite(f) and steps == 20 for f, steps in runs[0])


def test_workers_that_run_numpy_policies_never_import_torch():
    code = BATCH + (
        "import sys\n"
        "from pbml_control.rollout.engine import EnvCache, run_chunk\n"
        "b = batch('mlp')\n"
        "results = run_chunk(b.chunk(0, 4), EnvCache())\n"
        "assert len(results) == 4 and 'torch' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
