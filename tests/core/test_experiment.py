import subprocess
import sys

import pytest

from pbml_control.cli import main

TINY = ["--seeds", "2", "--generations", "12", "--size", "8"]


@pytest.mark.parametrize("world", ["numeric", "square"])
def test_world_help(world, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["experiment", world, "--help"])
    assert exc.value.code == 0 and "--generations" in capsys.readouterr().out


@pytest.mark.parametrize("world", ["numeric", "square"])
def test_same_seed_gives_same_output(world, tmp_path, capsys):
    extra = ["--transfer-generations", "3"] if world == "square" else []
    for name in ("a", "b"):
        assert main(["experiment", world, "--out", str(tmp_path / name), *TINY, *extra]) == 0
    printed = capsys.readouterr().out
    assert "| pbml |" in printed
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert any(f.suffix == ".png" for f in files) and any(f.suffix == ".csv" for f in files)
    for rel in files:
        if rel.suffix != ".png":
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["numeric", "--strategies", "pbml,bogus"], "bogus"),
        (["square", "--generations", "-5"], "--generations"),
        (["numeric", "--seeds", "0"], "--seeds"),
        (["numeric", "--out", "a_file/out"], "part of that path is a file"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(args, needle, tmp_path):
    (tmp_path / "a_file").write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "pbml_control", "experiment", *args, *TINY[:2]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr


def test_missing_parents_of_out_are_created(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "parent" / "out"
    assert main(["experiment", "numeric", "--out", str(out), *TINY]) == 0
    assert (out / "summary.md").is_file()


def test_an_existing_out_is_refused_unless_overwrite_clears_it(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["experiment", "numeric", "--out", str(out), *TINY]) == 0
    assert main(["experiment", "numeric", "--out", str(out), *TINY]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["experiment", "numeric", "--out", str(out), "--seeds", "1", "--generations",
                 "12", "--size", "8", "--overwrite"]) == 0  # fmt: skip
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        f"{s}_seed0.csv" for s in ("drift", "greedy", "pbml", "truncation")
    ]  # the two-seed run's seed-1 files are gone, not mixed in
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["experiment", "numeric", "--out", str(mine), *TINY, "--overwrite"]) == 2
    assert (mine / "notes.txt").read_text() == "keep"
