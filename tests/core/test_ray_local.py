"""The Ray backend's own start and shutdown: a private local Ray that leaves nothing behind.

Runs in a subprocess with an empty home directory, so whatever Ray would write there is seen
(test_ray_pool.py covers results and faults on a shared local Ray)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")

SCRIPT = """
import numpy as np, ray, policies
from pbml_control.rollout import EnvSpec, EvalBatch, make_pool
policy = policies.make_policy("linear", 17, 6)
params = np.stack([policy.init_flat(np.random.default_rng(i)) for i in range(2)])
batch = EvalBatch(EnvSpec.of("pbml/HalfCheetahVel-v0", max_episode_steps=10), policy.to_dict(),
                  params, np.array([1.0, 2.0]), np.arange(2))
with make_pool("ray", workers=1, chunk_size=1) as pool:
    assert ray.is_initialized()
    print(len(pool.evaluate(batch)))
assert not ray.is_initialized(), "the pool started Ray, so it must shut it down"
"""


@pytest.mark.ray
def test_a_pool_that_starts_ray_shuts_it_down_and_leaves_home_empty(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "2"
    assert list(home.iterdir()) == []
