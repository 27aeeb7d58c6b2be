"""The public registry: user policies by function, decorator or entry point; a torch nn.Module as
the policy (children = genome modules, one call per chunk step); clear errors for the rest."""

from __future__ import annotations

import pickle
import textwrap

import numpy as np
import pytest
import torch
from pbml_policies import (
    ENTRY_POINT_GROUP,
    POLICIES,
    Policy,
    TorchModulePolicy,
    UnknownPolicyError,
    make_policy,
    policy_from_dict,
    register_policy,
    unregister_policy,
)
from torch import nn


class TwoHeads(nn.Module):
    """A non-sequential module: a shared trunk and two heads whose outputs are concatenated."""

    def __init__(self, obs_dim: int, act_dim: int, width: int) -> None:
        super().__init__()
        self.trunk = nn.Linear(obs_dim, width)
        self.squash = nn.Tanh()  # no parameters: not a genome module
        self.left = nn.Linear(width, act_dim // 2)
        self.right = nn.Linear(width, act_dim - act_dim // 2)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.squash(self.trunk(obs))
        return torch.cat([self.left(h), 3.0 * self.right(h)], dim=-1)


def two_heads(obs_dim: int, act_dim: int, width: int = 8) -> nn.Module:
    return TwoHeads(obs_dim, act_dim, width)


@pytest.fixture
def registered():
    """Register `two_heads` for one test, then remove it (the registry is process-wide)."""
    register_policy("two_heads", two_heads)
    yield make_policy("two_heads", 7, 5, width=6)
    unregister_policy("two_heads")


def genomes(policy, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = 0.5 * rng.standard_normal((k, policy.num_params))
    return (np.stack([policy.init_flat(rng) for _ in range(k)]) + noise).astype(np.float32)


def test_a_torch_modules_children_are_the_genome_modules(registered):
    policy = registered
    assert isinstance(policy, TorchModulePolicy)
    assert policy.module_names == ("trunk", "left", "right")
    assert policy.module_sizes == (7 * 6 + 6, 6 * 2 + 2, 6 * 3 + 3)
    flat = policy.init_flat(np.random.default_rng(0))
    module = policy.torch_module(flat)
    expected = nn.utils.parameters_to_vector(module.net.parameters()).detach().numpy()
    assert flat.tobytes() == expected.tobytes() == policy.get_flat(module).tobytes()
    for name, sl in zip(policy.module_names, policy.module_slices, strict=True):
        child = nn.utils.parameters_to_vector(getattr(module, name).parameters()).detach()
        assert child.numpy().tobytes() == flat[sl].tobytes()


def test_one_call_for_k_genomes_equals_each_genome_alone_bit_for_bit(registered):
    policy, k = registered, 12
    params = genomes(policy, k)
    obs = np.random.default_rng(1).standard_normal((k, 7)).astype(np.float32)
    batch = policy.batched(params)(obs)
    assert batch.dtype == np.float32 and batch.shape == (k, 5)
    assert np.all(np.abs(batch) <= 1.0)
    for i in range(k):
        alone = policy.batched(params[i : i + 1])(obs[i : i + 1])
        assert alone.tobytes() == batch[i : i + 1].tobytes()
        with torch.no_grad():
            plain = policy.torch_module(params[i])(torch.from_numpy(obs[i])).numpy()
        np.testing.assert_allclose(batch[i], plain, rtol=1e-5, atol=1e-6)


def test_torch_mlp_runs_an_mlp_genome_like_the_numpy_mlp():
    numpy_mlp, torch_mlp = make_policy("mlp", 17, 6), make_policy("torch_mlp", 17, 6)
    assert torch_mlp.module_sizes == numpy_mlp.module_sizes
    params = genomes(numpy_mlp, 8)
    obs = np.random.default_rng(2).standard_normal((8, 17)).astype(np.float32)
    difference = np.abs(numpy_mlp.batched(params)(obs) - torch_mlp.batched(params)(obs)).max()
    assert difference < 1e-5


def test_the_description_names_the_policy_and_rebuilds_it(registered):
    description = registered.to_dict()
    assert description == {"name": "two_heads", "obs_dim": 7, "act_dim": 5, "width": 6}
    assert policy_from_dict(description) == registered
    blob = pickle.dumps(registered)
    assert len(blob) < 500 and pickle.loads(blob) == registered


def test_a_numpy_policy_subclass_by_decorator():
    @register_policy("tiny_relu")
    class TinyRelu(Policy):
        @property
        def hidden_dims(self):
            return (4,)

        @property
        def activation(self):
            return "relu"

    try:
        policy = make_policy("tiny_relu", 3, 2)
        assert policy.to_dict()["name"] == "tiny_relu" and policy.module_names[0] == "hidden0"
        assert policy_from_dict(policy.to_dict()) == policy
    finally:
        unregister_policy("tiny_relu")


@pytest.mark.parametrize(
    "name, obj, match",
    [
        ("mlp", two_heads, "'mlp' is built in"),
        ("pkg:two_heads", two_heads, "no ':' or '/'"),
        ("nothing", 3, "register a Policy subclass or a function"),
    ],
)
def test_registration_errors(name, obj, match):
    with pytest.raises(ValueError, match=match):
        register_policy(name, obj)
    assert name not in POLICIES or name == "mlp"


def test_a_subclass_of_a_builtin_gets_its_own_name_and_a_clashing_name_is_refused():
    from pbml_policies import MLPPolicy

    class Wide(MLPPolicy):
        pass

    class Named(MLPPolicy):
        name = "named"

    register_policy("wide_mlp", Wide)
    try:
        assert make_policy("wide_mlp", 3, 2).to_dict()["name"] == "wide_mlp"
        assert make_policy("mlp", 3, 2).to_dict()["name"] == "mlp"
        with pytest.raises(ValueError, match="Named.name is 'named'; register it under that"):
            register_policy("other", Named)
    finally:
        unregister_policy("wide_mlp")


def test_an_nn_module_class_is_a_factory_too():
    register_policy("two_heads_class", TwoHeads)
    try:
        policy = make_policy("two_heads_class", 7, 5, width=3)
        assert policy.module_names == ("trunk", "left", "right")
        with pytest.raises(ValueError, match="its options: width"):
            make_policy("two_heads_class", 7, 5, depth=3)
    finally:
        unregister_policy("two_heads_class")


def test_a_taken_name_needs_replace(registered):
    register_policy("two_heads", two_heads)  # the same object again: harmless
    with pytest.raises(ValueError, match="taken"):
        register_policy("two_heads", lambda o, a: nn.Linear(o, a))
    register_policy("two_heads", lambda o, a: nn.Sequential(nn.Linear(o, a)), replace=True)
    assert make_policy("two_heads", 3, 2).module_names == ("0",)


def test_unknown_names_and_options_are_clear(registered):
    with pytest.raises(UnknownPolicyError, match=r"unknown policy 'os:system'.*register_policy"):
        policy_from_dict({"name": "os:system", "obs_dim": 3, "act_dim": 2})
    with pytest.raises(ValueError, match=r"no option\(s\) \['hidden'\]; its options: width"):
        make_policy("two_heads", 7, 5, hidden=[8])


class Loose(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int) -> None:
        super().__init__()
        self.layer = nn.Linear(obs_dim, act_dim)
        self.scale = nn.Parameter(torch.ones(act_dim))

    def forward(self, obs):
        return self.scale * self.layer(obs)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda o, a: Loose(o, a), r"parameters \['scale'\] belong to no child"),
        (lambda o, a: nn.Sequential(nn.Linear(o, a + 1)), r"to \(6,\), expected \(5,\)"),
        (lambda o, a: np.zeros(a), "returned ndarray, not nn.Module"),
        (lambda o, a: nn.Sequential(nn.Tanh()), "own disjoint parameters"),
    ],
)
def test_a_module_that_cannot_be_a_genome_is_refused(factory, match):
    register_policy("bad_module", factory)
    try:
        with pytest.raises(ValueError, match=match):
            _ = make_policy("bad_module", 7, 5).num_params
    finally:
        unregister_policy("bad_module")


def test_an_entry_point_registers_a_policy_when_its_name_is_looked_up(tmp_path, monkeypatch):
    (tmp_path / "eppkg.py").write_text(
        textwrap.dedent(
            """
            from torch import nn
            def net(obs_dim, act_dim):
                return nn.Sequential(nn.Linear(obs_dim, act_dim))
            """
        )
    )
    (tmp_path / "broken.py").write_text("raise RuntimeError('no such layer')\n")
    info = tmp_path / "eppkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: eppkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nep_net = eppkg:net\nbroken_net = broken:net\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert make_policy("ep_net", 4, 2).num_params == 10
        assert POLICIES["ep_net"].__module__ == "eppkg"
        with pytest.raises(UnknownPolicyError, match="entry point 'broken:net'.*no such layer"):
            make_policy("broken_net", 4, 2)
        # An unknown name lists the installed packages' names too, without importing them.
        with pytest.raises(UnknownPolicyError, match=r"did you mean 'ep_net'\?.*broken_net"):
            make_policy("ep_nett", 4, 2)
    finally:
        unregister_policy("ep_net")
