"""A study's design as data: what decides its results, and how two designs differ.

`Study.resolved()` is what a study folder's ``study.json`` holds and what its fingerprint hashes.
Keys added to the config, the probe or the hypotheses after studies were published are left out
of it at the value that gives the old behaviour (`LATER_KEYS`), so a folder made before a key
existed keeps its fingerprint and can be resumed and re-reported. A changed design is refused
with its changes named (`describe_changes`).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from pbml_control.running.config import Config
from pbml_control.running.config_io import flatten, plain_dict

#: Keys added to the config, the probe and the hypotheses after studies were first published,
#: with the value that gives the behaviour from before they existed. A study's design leaves
#: them out at that value, so a folder made before a key existed keeps its fingerprint and can
#: be resumed and re-reported. Every new key goes here (tests/core/test_study_probes.py checks).
LATER_KEYS: dict[str, dict[str, Any]] = {
    "config": {
        "run.tensorboard": False,
        "run.keep_at_rollouts": [],
        "population.mutation.directions": 0,
        "population.mutation.direction_modules": [],
        "population.mutation.direction_rule": "cumulative",
        "population.mutation.direction_rate": 0.02,
        "population.mutation.direction_path_rate": 0.2,
        "population.mutation.direction_scale": 1.0,
        "population.mutation.direction_meta_rate": 0.1,
        "population.mutation.directions_frozen": False,
    },
    "probe": {"score": "gain", "goal_draw": "common", "budgets": [], "swap": False},
    "hypothesis": {"family": "primary", "probe": "final", "control_probe": "", "growth_from": ""},
}


def design_toml(cfg: Config) -> str:
    """An arm's config as TOML, without the later keys at their old value (see `LATER_KEYS`)."""
    import tomli_w

    data = plain_dict(cfg)
    for key, old in LATER_KEYS["config"].items():
        *parents, leaf = key.split(".")
        table = data
        for part in parents:
            table = table.get(part, {})
        if leaf in table and table[leaf] == old:
            del table[leaf]
    return tomli_w.dumps(data)


def without_later(record: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not (k in later and v == later[k])}


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two resolved studies, one line per change."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == "arms" and isinstance(a, dict) and isinstance(b, dict):
            for arm in sorted(set(a) | set(b)):
                if arm not in a or arm not in b:
                    changes.append(f"arm '{arm}' {'added' if arm in b else 'removed'}")
                elif a[arm] != b[arm]:
                    changes.append(f"arm '{arm}': {_first_diff(a[arm], b[arm])}")
        elif isinstance(a, dict) and isinstance(b, dict):
            changes += [
                f"{key}.{k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        else:
            changes.append(f"{key}: {json.dumps(a)} -> {json.dumps(b)}")
    return changes


def _first_diff(old_toml: str, new_toml: str) -> str:
    """The config keys whose values differ between two dumped configs."""
    flat_old, flat_new = flatten(tomllib.loads(old_toml)), flatten(tomllib.loads(new_toml))
    keys = [k for k in sorted(set(flat_old) | set(flat_new)) if flat_old.get(k) != flat_new.get(k)]
    return ", ".join(f"{k} {flat_old.get(k)!r} -> {flat_new.get(k)!r}" for k in keys)
