"""Video files and progress: imageio (optional `video` extra) writes mp4 with ffmpeg, gif with
Pillow, one frame at a time so long renders do not hold every frame in memory."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from pbml_control.errors import UserError

INSTALL = "pip install 'pbml-control[video]'  (imageio, imageio-ffmpeg)"
FFMPEG_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")
SUFFIXES = (*FFMPEG_SUFFIXES, ".gif")


class MissingVideoDependency(UserError):
    """imageio or imageio-ffmpeg is not installed; the message gives the install command."""


def check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"--out '{path}': use one of {', '.join(SUFFIXES)} (by extension)")


def open_writer(path: Path, fps: int) -> Any:
    """An imageio writer for `path`, chosen by its extension."""
    check_suffix(path)
    try:
        import imageio.v2 as imageio
    except ImportError as err:
        raise MissingVideoDependency(f"recording needs imageio: {INSTALL}") from err
    try:  # fail before rendering, in one line, rather than mid-video with ffmpeg's broken pipe
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as err:
        raise UserError(f"--out '{path}' cannot be written: {err.strerror or err}") from err
    if path.suffix.lower() == ".gif":
        return imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0)
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError as err:
        message = f"{path.suffix} videos need imageio-ffmpeg: {INSTALL}"
        raise MissingVideoDependency(message) from err
    # macro_block_size=1: keep the exact size (the CLI asks for even sizes, which yuv420p needs).
    # ffmpeg's own log is off: its exit status is never checked by imageio, so `check_video`
    # reads the file back and reports a failure in one line instead.
    return imageio.get_writer(
        path,
        fps=fps,
        codec="libx264",
        quality=7,
        pixelformat="yuv420p",
        macro_block_size=1,
        ffmpeg_log_level="quiet",
    )


def check_video(path: Path, frames: int, out: Path) -> None:
    """Raise a UserError unless `path` is a whole video of `frames` frames.

    Why: imageio-ffmpeg ignores ffmpeg's exit status, so a disk that fills up while ffmpeg writes
    the mp4 trailer leaves a truncated file and no error. Reading the file back catches it.
    """
    if path.suffix.lower() not in FFMPEG_SUFFIXES:
        return  # gif: Pillow writes it in this process and raises OSError itself
    import imageio_ffmpeg

    try:
        found, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (RuntimeError, OSError):
        found = -1
    if found != frames:
        full = shutil.disk_usage(path.parent).free < 1 << 20
        cause = "No space left on device" if full else "ffmpeg could not finish the file"
        raise UserError(f"--out '{out}': the video could not be written ({cause}); nothing saved")


class FrameProgress:
    """`frame i/N` with ETA on a terminal; a line every ~10% otherwise; silent when disabled."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.enabled = max(total, 1), enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()
        self._shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / max(done, 1) * max(self.total - done, 0)
        text = f"recording frame {done}/~{self.total}  {elapsed:.0f} s, ETA {eta:.0f} s"
        if self.tty:
            print(f"\r{text}   ", end="", file=self.stream, flush=True)
            return
        decile = 10 * done // self.total
        if decile > self._shown:
            self._shown = decile
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=self.stream)
