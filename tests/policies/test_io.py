import numpy as np
from pbml_policies import RunningStats, load_policy, make_policy, save_policy


def test_policy_weights_and_stats_round_trip(tmp_path, policy):
    flat = policy.init_flat(np.random.default_rng(0))
    stats = RunningStats.zeros(policy.obs_dim)
    stats.update(np.random.default_rng(1).standard_normal((10, policy.obs_dim)))
    path = tmp_path / "policy.npz"
    save_policy(path, policy, flat, stats)
    loaded, loaded_flat, loaded_stats = load_policy(path)
    assert loaded == policy
    assert loaded_flat.tobytes() == flat.tobytes()
    assert loaded_stats == stats
    assert [p.name for p in tmp_path.iterdir()] == ["policy.npz"]


def test_saving_without_stats_loads_none(tmp_path):
    policy = make_policy("linear", 4, 2)
    save_policy(tmp_path / "p.npz", policy, np.zeros(policy.num_params, np.float32))
    assert load_policy(tmp_path / "p.npz")[2] is None
