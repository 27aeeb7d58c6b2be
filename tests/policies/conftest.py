"""Policy cases shared by the tests: every registered name, the dense ones in both module modes,
and a few options (relu, one hidden layer, a custom leg grouping whose rows are out of order)."""

import pytest
from pbml_policies import POLICIES, make_policy, policy_options

OBS_DIM, ACT_DIM = 11, 8
MODULE_MODES = sorted(name for name in POLICIES if "modules" in policy_options(POLICIES[name])[0])
CASES = [
    *[(name, {}) for name in sorted(POLICIES)],
    *[(name, {"modules": "legs"}) for name in MODULE_MODES],
    ("mlp", {"hidden": (16,), "activation": "relu"}),
    ("mlp", {"modules": "legs", "legs": {"odd": [7, 1, 5, 3], "even": [0, 2, 4, 6]}}),
    ("linear", {"modules": "legs", "legs": {"right": [6, 7, 0, 1], "left": [2, 3, 4, 5]}}),
    ("torch_mlp", {"hidden": (16,), "activation": "relu"}),
]


def case_id(case):
    name, kwargs = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items()).replace(" ", "")


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def policy(request):
    name, kwargs = request.param
    return make_policy(name, OBS_DIM, ACT_DIM, **kwargs)
