import subprocess
import sys

import pytest

from pbml_control.cli import COMMAND_MODULES, build_parser, main


def registered_commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


def test_top_level_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("command", registered_commands())
def test_every_command_has_help(command, capsys):
    assert command in COMMAND_MODULES
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_unknown_command_is_one_line_error_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "pbml_control", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no-such-command" in proc.stderr
