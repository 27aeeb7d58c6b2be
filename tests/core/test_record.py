"""`pbml record`: real MuJoCo frames, K panels side by side, the GL install hint, bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from pbml_control.cli import main
from pbml_control.video.gl import INSTALL_HINT, RendererUnavailable, ensure_gl
from tests.helpers.disks import tiny_disk  # noqa: F401 (fixture)
from tests.helpers.tiny_run import ROOT, tiny_run  # noqa: F401 (fixture)

imageio = pytest.importorskip("imageio.v2")
TINY = ["--width", "64", "--height", "48", "--quiet"]


def record(args: list[str]) -> int:
    return main(["record", *args])


def test_video_has_expected_frames_and_moves(tiny_run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "best.mp4"
    assert record([str(tiny_run), "--out", str(out), *TINY]) == 0
    frames = np.asarray(imageio.mimread(out))
    # HalfCheetah runs at 20 Hz, so the default is one frame per step: reset + 20 steps.
    assert frames.shape == (21, 48, 64, 3)
    assert frames.std(axis=(1, 2, 3)).min() > 10  # not blank
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 1  # it moves
    assert "wrote" in capsys.readouterr().out


def test_lineages_are_laid_out_side_by_side_with_labels(tiny_run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "top2.mp4"
    assert record([str(tiny_run), "--lineages", "2", "--steps", "4", "--out", str(out), *TINY]) == 0
    frames = np.asarray(imageio.mimread(out))
    assert frames.shape == (5, 48, 128, 3)
    printed = capsys.readouterr().out
    assert "panel 1: #1 lineage" in printed and "panel 2: #2 lineage" in printed
    # one named order, and the two numbers named apart: where the training fitness came from
    assert "by training fitness (best first)" in printed
    fitness = [float(f) for f in re.findall(r"training fitness (-?[\d.]+), scored in", printed)]
    assert len(fitness) == 2 and fitness[0] >= fitness[1]
    assert "this episode's return" in printed
    for panel in (frames[0, :, :64], frames[0, :, 64:]):
        label = panel[:9, :40].astype(int)  # the label's dark box with white text
        assert label.max() > 180 and label.max() - label.min() > 120


def test_gif_from_a_checkpoint_on_another_task(tiny_run, tmp_path):  # noqa: F811
    out = tmp_path / "dir.gif"
    checkpoint = tiny_run / "checkpoints" / "gen_000002.json"
    args = [str(checkpoint), "--task", "pbml/HalfCheetahDir-v0", "--goal", "-1", "--steps", "3"]
    assert record([*args, "--episodes", "2", "--out", str(out), *TINY]) == 0
    frames = imageio.mimread(out)
    assert len(frames) == 2 * (1 + 3) and frames[0].shape[:2] == (48, 64)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "does not exist"),
        (["{run}", "--task", "pbml/NoSuchTask-v0"], "unknown task"),
        (["{run}", "--goal", "1,2"], "--goal"),
        (["{run}", "--goal", "fast"], "--goal"),
        (["{run}", "--lineages", "99"], "--lineages"),
        (["{run}", "--width", "63"], "--width"),
        (["{run}", "--out", "{tmp}/video.txt"], "--out"),
        (["{run}", "--task", "pbml/AntDir-v0"], "observations"),
    ],
)
def test_bad_input_is_a_one_line_error(tiny_run, tmp_path, capsys, args, message):  # noqa: F811
    fill = {"missing": tmp_path / "nope", "run": tiny_run, "tmp": tmp_path}
    assert record(TINY + [a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_no_working_gl_backend_gives_the_install_hint():
    failures = []

    def probe(backend: str) -> str:
        failures.append(backend)
        return "cannot open libEGL.so.1"

    with pytest.raises(RendererUnavailable) as exc:
        ensure_gl(environ={}, probe=probe, imported=False)
    assert failures == ["egl", "osmesa"]
    assert INSTALL_HINT in str(exc.value) and "\n" not in str(exc.value)


def test_gl_falls_back_to_osmesa_and_respects_a_chosen_backend():
    def egl_missing(backend: str) -> str | None:
        return "no EGL" if backend == "egl" else None

    assert ensure_gl(environ={}, probe=egl_missing, imported=False) == "osmesa"
    tried = []
    ensure_gl(environ={"MUJOCO_GL": "glfw"}, probe=lambda b: tried.append(b), imported=False)
    assert tried == ["glfw"]


def test_invalid_renderer_in_a_fresh_process_exits_2_with_hint(tiny_run):  # noqa: F811
    env = {**os.environ, "MUJOCO_GL": "nonsense"}
    proc = subprocess.run(
        [sys.executable, "-m", "pbml_control", "record", str(tiny_run), *TINY],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "MUJOCO_GL=nonsense" in lines[0]
    assert "apt-get install libegl1" in lines[0] and "libosmesa6" in lines[0]


def test_a_best_folder_older_than_the_latest_checkpoint_is_not_used(tiny_run, tmp_path):  # noqa: F811
    import json
    import shutil

    from pbml_control.running.checkpoint import list_checkpoints
    from pbml_control.video.genomes import load_run_genomes

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    latest = int(list_checkpoints(run / "checkpoints")[-1].stem.split("_")[1])
    assert load_run_genomes(run).generation == latest  # best/ is as new as the checkpoint
    index = run / "best" / "index.json"
    meta = json.loads(index.read_text())
    meta["generation"] = latest - 1  # as if a resume was interrupted after a checkpoint
    index.write_text(json.dumps(meta))
    genomes = load_run_genomes(run)
    assert genomes.generation == latest and genomes.genomes


def test_an_unwritable_video_path_fails_before_rendering_in_one_line(tmp_path):
    from pbml_control.errors import UserError
    from pbml_control.video.output import open_writer

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot be written"):
        open_writer(blocker / "sub" / "v.mp4", fps=30)


def test_a_disk_that_fills_up_while_recording_is_one_line_and_keeps_the_old_video(
    tiny_run,  # noqa: F811
    tiny_disk,  # noqa: F811
    capsys,
):
    """ffmpeg fails writing the mp4 trailer and imageio ignores its exit status: read it back."""
    out = tiny_disk / "v.mp4"
    out.write_bytes(b"an older video")
    code = record([str(tiny_run), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "No space left on device" in err, err
    assert out.read_bytes() == b"an older video"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["v.mp4"]  # no partial file left
