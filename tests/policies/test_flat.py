"""The policy owns the flat-vector mapping; the round trip must be exact."""

import numpy as np
import pytest
import torch

from .conftest import OBS_DIM


def test_flat_round_trip_is_exact(policy):
    flat = policy.init_flat(np.random.default_rng(0))
    assert flat.dtype == np.float32 and flat.shape == (policy.num_params,)
    module = policy.torch_module(flat)
    assert policy.get_flat(module).tobytes() == flat.tobytes()

    other = np.random.default_rng(1).standard_normal(policy.num_params).astype(np.float32)
    policy.set_flat(module, other)
    assert policy.get_flat(module).tobytes() == other.tobytes()


def test_torch_children_are_the_genome_modules(policy):
    module = policy.torch_module()
    assert tuple(name for name, _ in module.named_children()) == policy.module_names
    assert sum(p.numel() for p in module.parameters()) == policy.num_params
    for name, size in zip(policy.module_names, policy.module_sizes, strict=True):
        assert sum(p.numel() for p in getattr(module, name).parameters()) == size


def test_a_module_slice_maps_to_its_torch_child_only(policy):
    flat = policy.init_flat(np.random.default_rng(0))
    base = dict(policy.torch_module(flat).named_children())
    for name, sl in zip(policy.module_names, policy.module_slices, strict=True):
        changed = flat.copy()
        changed[sl] += 1.0
        for child_name, child in policy.torch_module(changed).named_children():
            pairs = zip(child.parameters(), base[child_name].parameters(), strict=True)
            moved = any(not torch.equal(p, q) for p, q in pairs)
            assert moved == (child_name == name), (name, child_name)


def test_init_is_seeded_and_small_at_the_output(policy):
    a = policy.init_flat(np.random.default_rng(3))
    b = policy.init_flat(np.random.default_rng(3))
    assert np.array_equal(a, b)
    actions = policy.batched(a[None])(np.ones((1, OBS_DIM), np.float32))
    assert np.all(np.abs(actions) < 0.2)


def test_shape_errors_name_the_expected_shape(policy):
    module = policy.torch_module()
    with pytest.raises(ValueError, match=rf"\({policy.num_params},\)"):
        policy.set_flat(module, np.zeros(policy.num_params + 1, np.float32))
