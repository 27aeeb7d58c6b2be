"""CLI edges: a clean `pbml --help` with one line per command, every default in every --help,
goals quoted as plain numbers, and one folder rule (missing parents of --out are created)."""

from __future__ import annotations

import argparse

import pytest

from pbml_control.cli import COMMAND_MODULES, build_parser, main
from tests.core.test_transfer import TINY as TRANSFER_TINY
from tests.core.test_transfer import trained  # noqa: F401 (fixture)


def test_top_level_help_is_one_line_per_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "Each subcommand" not in text and "Population-Based Meta Learning" in text
    lines = text.splitlines()
    for name in COMMAND_MODULES:
        (i,) = [i for i, line in enumerate(lines) if line.startswith(f"    {name} ")]
        assert len(lines[i].split()) > 1, f"{name}: its help is not on its line"
        assert not lines[i + 1].startswith(" " * 8), f"{name}: its help wraps"


def subparsers(parser: argparse.ArgumentParser, prefix: str = ""):
    """Every (command path, parser) below `parser`, nested ones (experiment WORLD) too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from subparsers(sub, f"{prefix}{name} ")


def test_every_option_with_a_value_shows_its_default():
    missing = []
    for command, parser in subparsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            if "default" not in formatter._get_help_string(action).lower():
                missing.append(f"{command} {action.option_strings[0]}")
    assert not missing


def test_defaults_are_rendered_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["transfer", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 10)" in text and "(default: 3)" in text and "(default: test)" in text


def test_goal_errors_quote_plain_numbers(trained, capsys):  # noqa: F811
    assert main(["transfer", str(trained), "--goal", "500"]) == 2  # valid: |v| <= 100 m/s
    err = capsys.readouterr().err
    assert "goal 500.0 is not a valid goal" in err and "array(" not in err
    assert main(["transfer", str(trained), "--goal", "5,3"]) == 2
    err = capsys.readouterr().err
    assert "goal [5.0, 3.0]" in err and "array(" not in err


def test_record_goal_errors_quote_plain_numbers(trained, tmp_path, capsys):  # noqa: F811
    out = str(tmp_path / "v.mp4")
    assert main(["record", str(trained), "--goal", "900", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "goal 900.0 is not a valid goal" in err and "array(" not in err


def test_config_goal_errors_quote_plain_numbers(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[goals]\nschedule = "list"\ngoals = [[700.0], [1.0]]\n')
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "700.0" in err and "array(" not in err


def test_transfer_creates_missing_parents_of_out(trained, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "new" / "folders" / "t"
    args = ["transfer", str(trained), "--out", str(out), "--num-goals", "1", "--seeds", "1"]
    assert main([*args, "--generations", "1"]) == 0
    assert (out / "adaptation.csv").is_file()
    (tmp_path / "file").write_text("")
    args[3] = str(tmp_path / "file" / "t")
    assert main([*args, "--generations", "1"]) == 2
    assert "part of that path is a file" in capsys.readouterr().err


def test_train_creates_missing_parents_of_out(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("")
    overrides = [a for o in TRANSFER_TINY for a in ("--set", o)]
    out = tmp_path / "a" / "b" / "run"
    assert main(["train", str(config), "--out", str(out), "--quiet", *overrides,
                 "--set", "run.plots=false"]) == 0  # fmt: skip
    assert (out / "metrics.csv").is_file()


def test_study_creates_missing_parents_of_out(tmp_path):
    from pbml_control.study.runner import prepare_study_dir
    from pbml_control.study.spec import load_study
    from tests.core.test_study import MOVING, write

    study = load_study(write(tmp_path, MOVING))
    out = tmp_path / "x" / "y" / "study"
    prepare_study_dir(out, study)
    assert out.is_dir()


def test_packaged_configs_resolve_by_name_and_show(tmp_path, capsys, monkeypatch):
    from pbml_control.errors import UserError
    from pbml_control.running.packaged import packaged_configs, resolve_config

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    names = packaged_configs()
    assert {"quickstart", "halfcheetah_vel", "baselines/quickstart_greedy"} <= set(names)
    assert resolve_config("quickstart").read_text() == resolve_config("quickstart.toml").read_text()
    assert main(["config", "show", "quickstart"]) == 0
    assert "[population]" in capsys.readouterr().out
    with pytest.raises(UserError, match="neither a file nor a packaged config.*quickstart"):
        resolve_config("quikstart")
