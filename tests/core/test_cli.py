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


def test_os_errors_and_bad_encodings_are_one_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    tiny = ["--set", "run.generations=1", "--set", "population.size=4", "--set",
            "pool.backend='serial'", "--set", "task.episode_steps=5"]  # fmt: skip
    code = main(["train", "configs/quickstart.toml", "--out", str(blocker / "run"), *tiny])
    err = capsys.readouterr().err
    assert code in (1, 2) and len(err.strip().splitlines()) == 1 and "a_file" in err
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# caf\xe9\n[run]\nname = 'x'\n".encode("latin-1"))
    assert main(["train", str(latin), "--out", str(tmp_path / "r"), *tiny]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8 text" in err and len(err.strip().splitlines()) == 1
