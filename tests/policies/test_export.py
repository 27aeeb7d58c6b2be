"""The exported controller module computes what the rollout engine computes: normalisation and
action scaling bit for bit, the policy to float32 rounding, for any batch shape."""

import numpy as np
import pytest
import torch
from pbml_policies import RunningStats, make_policy
from pbml_policies.export import ExportError, controller_module, read_meta, save_torchscript

POLICIES = [
    ("mlp", 27, 8, {"modules": "legs"}),  # Ant-like legs: outputs permuted back into order
    ("mlp", 17, 6, {"hidden": (16,), "activation": "relu"}),
    ("linear", 5, 2, {}),
]


def engine_actions(policy, flat, stats, obs, low, high):
    inputs = obs.astype(np.float32) if stats is None else stats.normalizer()(obs)
    raw = policy.batched(np.tile(flat, (len(obs), 1)))(inputs).astype(np.float64)
    return low + (raw + 1.0) * 0.5 * (high - low)  # pbml_control.rollout.actions.scale_actions


@pytest.mark.parametrize("name, obs_dim, act_dim, kwargs", POLICIES)
@pytest.mark.parametrize("with_stats", [True, False])
def test_torchscript_controller_matches_the_engine(
    tmp_path, name, obs_dim, act_dim, kwargs, with_stats
):
    policy = make_policy(name, obs_dim, act_dim, **kwargs)
    rng = np.random.default_rng(0)
    flat = (rng.standard_normal(policy.num_params) * 0.3).astype(np.float32)
    stats = None
    if with_stats:
        stats = RunningStats.zeros(obs_dim)
        stats.update(rng.standard_normal((40, obs_dim)) * 4 + 2)
    low, high = -np.linspace(0.3, 1, act_dim), np.linspace(0.5, 2, act_dim)
    path = tmp_path / "c.pt"
    save_torchscript(path, controller_module(policy, flat, stats, low, high), obs_dim, {"k": 1})
    module = torch.jit.load(str(path))
    obs = rng.standard_normal((7, obs_dim)) * 30  # far out: the clip at 10 acts
    expected = engine_actions(policy, flat, stats, obs, low, high)
    got = module(torch.from_numpy(obs)).numpy()
    assert got.dtype == np.float64 and got.shape == (7, act_dim)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    single = module(torch.from_numpy(obs[3]).float()).numpy()  # one observation, float32
    assert single.shape == (act_dim,)
    np.testing.assert_allclose(single, expected[3], rtol=0, atol=1e-5)
    assert read_meta(path) == {"k": 1}


def test_a_policy_without_a_torch_module_is_refused():
    class NumpyOnly:
        obs_dim, act_dim = 3, 1

    with pytest.raises(ExportError, match="torch_module"):
        controller_module(NumpyOnly(), np.zeros(4), None, np.zeros(1), np.ones(1))
