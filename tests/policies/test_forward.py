"""The batched numpy forward is what rollouts run: it must equal torch and be batch-invariant."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from pbml_policies import make_policy

from .conftest import OBS_DIM


def _genomes(policy, k, seed=0):
    """K distinct genomes with weights large enough that the hidden units saturate sometimes."""
    rng = np.random.default_rng(seed)
    inits = [policy.init_flat(rng) for _ in range(k)]
    noise = 0.3 * rng.standard_normal((k, policy.num_params))
    return (np.stack(inits) + noise).astype(np.float32)


def _obs(k, seed=1):
    return np.random.default_rng(seed).standard_normal((k, OBS_DIM)).astype(np.float32)


def test_batched_numpy_equals_per_genome_torch(policy):
    params, obs = _genomes(policy, 16), _obs(16)
    actions = policy.batched(params)(obs)
    assert actions.dtype == np.float32 and actions.shape == (16, policy.act_dim)
    for k in range(16):
        with torch.no_grad():
            expected = policy.torch_module(params[k])(torch.from_numpy(obs[k])).numpy()
        np.testing.assert_allclose(actions[k], expected, rtol=1e-5, atol=1e-6)


def test_genome_result_does_not_depend_on_its_batch(policy):
    params, obs = _genomes(policy, 64), _obs(64)
    full = policy.batched(params)(obs)
    for k in (0, 17, 63):
        alone = policy.batched(params[k : k + 1])(obs[k : k + 1])
        assert alone.tobytes() == full[k : k + 1].tobytes()
    middle = policy.batched(params[10:26])(obs[10:26])
    assert middle.tobytes() == full[10:26].tobytes()


def test_actions_are_in_unit_box(policy):
    params = 10 * _genomes(policy, 8)
    actions = policy.batched(params)(100 * _obs(8))
    assert np.all(np.abs(actions) <= 1.0)


def test_forward_does_not_keep_a_reference_to_the_caller_params(policy):
    params, obs = _genomes(policy, 4), _obs(4)
    forward = policy.batched(params)
    before = forward(obs)
    params[:] = 0.0
    assert forward(obs).tobytes() == before.tobytes()


def test_shape_errors_are_clear():
    policy = make_policy("mlp", OBS_DIM, 3, hidden=(8,))
    with pytest.raises(ValueError, match=r"params must have shape \(K, "):
        policy.batched(np.zeros(policy.num_params, np.float32))
    forward = policy.batched(np.zeros((2, policy.num_params), np.float32))
    with pytest.raises(ValueError, match=r"obs must have shape \(2, 11\)"):
        forward(np.zeros((3, OBS_DIM), np.float32))


def test_numpy_inference_does_not_import_torch():
    code = (
        "import sys, numpy as np; from pbml_policies import make_policy; "
        "p = make_policy('mlp', 5, 2); f = p.batched(p.init_flat(np.random.default_rng(0))[None]); "
        "f(np.zeros((1, 5), np.float32)); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
