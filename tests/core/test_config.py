"""Config: typed tree from TOML, --set overrides, errors that name the key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pbml_control.errors import ConfigError
from pbml_control.running.config import Config, dump_config, load_config
from pbml_control.running.config_io import field_docs

CONFIGS = sorted((__import__("pathlib").Path(__file__).parents[2] / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)


def test_overrides_are_typed_and_round_trip():
    cfg = load_config(
        None,
        [
            "population.size=128",
            "pool.workers=2",
            "task.id=pbml/AntDir-v0",
            "policy.kwargs={hidden=[16, 16]}",
            "goals.schedule='list'",
            "goals.goals=[[1.0], [2.0]]",
        ],
    )
    assert cfg.population.size == 128 and cfg.task.id == "pbml/AntDir-v0"
    assert cfg.policy.kwargs == {"hidden": [16, 16]}
    text = dump_config(cfg)
    import tomllib

    from pbml_control.running.config_io import from_dict

    assert from_dict(Config, tomllib.loads(text)) == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("population.sise=3", r"unknown config key 'population.sise' \(did you mean 'size'"),
        ("runn.seed=1", r"unknown config key 'runn' \(did you mean 'run'"),
        ("population.size=abc", r"population.size must be an integer"),
        ("run.generations=0", r"run.generations is 0 and no budget is set"),
        ("run.generations=-1", r"run.generations must be >= 0"),
        ("pool.backend='gpu'", r"pool.backend must be one of serial, process, ray"),
        ("population.size=0", r"population.size must be > 0"),
        ("task.goal_in_obs=3", r"task.goal_in_obs must be true or false"),
        ("population", r"--set expects KEY=VALUE"),
        ("run.keep_checkpoints=-1", r"run.keep_checkpoints must be >= 0"),
        ("pool.workers=100000", r"pool.workers must be at most 1024"),
        ("goals.goal=[1.0]", r"goals.goal is used only with goals.schedule = 'fixed'"),
        ("goals.goals=[[1.0]]", r"goals.goals is used only with goals.schedule = 'list'"),
    ],
)
def test_bad_keys_and_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_unknown_key_in_a_file_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[pool]\nworkerz = 3\n")
    with pytest.raises(ConfigError, match=r"'pool.workerz' \(did you mean 'workers'"):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_every_config_field_is_documented():
    from dataclasses import fields, is_dataclass

    def walk(cls):
        docs = field_docs(cls)
        for f in fields(cls):
            if is_dataclass(f.type if isinstance(f.type, type) else None):
                walk(f.type)
            elif cls is not Config:
                assert docs.get(f.name), f"{cls.__name__}.{f.name} has no doc comment"

    for section in fields(Config):
        walk(getattr(Config(), section.name).__class__)


def test_train_cli_reports_a_bad_key_in_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pbml_control",
            "train",
            "configs/quickstart.toml",
            "--set",
            "populaton.size=4",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        cwd=CONFIGS[0].parents[1],
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "populaton" in proc.stderr and "population" in proc.stderr
    assert not (tmp_path / "r").exists()
