import json
import pickle

import numpy as np
import pytest
from pbml_policies import BODY_LEGS, POLICIES, MLPPolicy, make_policy, policy_from_dict

from .conftest import CASES


def test_cases_cover_every_registered_policy():
    assert {name for name, _ in CASES} == set(POLICIES)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="unknown policy 'mpl'") as exc:
        make_policy("mpl", 3, 2)
    for name in POLICIES:
        assert name in str(exc.value)
    assert "did you mean 'mlp'?" in str(exc.value)


def test_unknown_option_names_it_and_the_valid_ones():
    with pytest.raises(ValueError, match=r"no option\(s\) \['hiden'\].*hidden"):
        make_policy("mlp", 3, 2, hiden=(8,))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden": (0,)}, "hidden sizes must be in 1..65536"),
        ({"hidden": (10**7,)}, "hidden sizes must be in 1..65536"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"modules": "joints"}, "modules must be one of"),
        ({"legs": "ant"}, "legs only applies"),
        ({"modules": "legs", "legs": {"a": [0, 1], "b": [1, 2]}}, "exactly once"),
        ({"modules": "legs", "legs": "spider"}, "unknown body 'spider'"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_policy("mlp", 27, 8, **kwargs)


def test_legs_on_a_body_without_builtin_legs_says_how_to_pass_them():
    with pytest.raises(ValueError, match=r"no built-in leg grouping for act_dim=6.*legs="):
        make_policy("mlp", 17, 6, modules="legs")


def test_ant_legs_group_hip_and_ankle_of_each_leg():
    policy = make_policy("mlp", 105, 8, modules="legs")
    assert policy.module_names == ("shared", *(name for name, _ in BODY_LEGS["ant"]))
    hidden = 64
    assert policy.module_sizes[1:] == (2 * (hidden + 1),) * 4


def test_default_modules_are_one_per_layer():
    policy = make_policy("mlp", 17, 6)
    assert policy.module_names == ("hidden0", "hidden1", "output")
    assert policy.module_sizes == (17 * 64 + 64, 64 * 64 + 64, 64 * 6 + 6)
    assert make_policy("linear", 17, 6).module_names == ("output",)


def test_module_slices_partition_the_genome(policy):
    ends = [s.stop for s in policy.module_slices]
    starts = [s.start for s in policy.module_slices]
    assert starts == [0, *ends[:-1]]
    assert ends[-1] == policy.num_params == sum(policy.module_sizes)
    assert [s.stop - s.start for s in policy.module_slices] == list(policy.module_sizes)


def test_json_description_rebuilds_an_equal_policy(policy):
    description = json.loads(json.dumps(policy.to_dict()))
    rebuilt = policy_from_dict(description)
    assert rebuilt == policy
    assert type(rebuilt).from_dict(description) == policy
    assert rebuilt.module_names == policy.module_names


def test_policy_pickles_small_and_equal(policy):
    blob = pickle.dumps(policy)
    assert pickle.loads(blob) == policy
    assert len(blob) < 2000


def test_from_dict_rejects_another_policys_description():
    with pytest.raises(ValueError, match="not 'mlp'"):
        MLPPolicy.from_dict({"name": "linear", "obs_dim": 3, "act_dim": 2})


def test_numpy_int_dims_become_plain_ints():
    policy = make_policy("linear", np.int64(5), np.int32(2))
    assert type(policy.obs_dim) is int and type(policy.act_dim) is int
    json.dumps(policy.to_dict())
