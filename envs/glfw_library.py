"""Name GLFW's bundled library up front, so `import glfw` does not probe for one in subprocesses.

Why: Gymnasium's MuJoCo envs import `glfw` when they are imported (for on-screen windows, which
headless rollouts never open). To choose a library, glfw starts a Python subprocess per candidate
and asks it for the library's version: about 0.3 s in every process that builds a task, and,
when that process is killed mid-import (a run stopped by SIGTERM while its workers start), an
orphaned probe that prints a BrokenPipeError traceback after the run has said it stopped. glfw
loads the library named by `PYGLFW_LIBRARY` directly; we name the one its Linux wheel bundles,
unless the user chose one or glfw is already imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def use_bundled_glfw() -> None:
    """Set `PYGLFW_LIBRARY` to glfw's bundled Linux library when nothing else chose one."""
    if not sys.platform.startswith("linux") or os.environ.get("PYGLFW_LIBRARY"):
        return
    if "glfw" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("glfw")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    root = Path(next(iter(spec.submodule_search_locations)))
    wayland = "wayland" in (
        os.environ.get("PYGLFW_LIBRARY_VARIANT", "").lower(),
        os.environ.get("XDG_SESSION_TYPE", ""),
    )
    for candidate in (root / ("wayland" if wayland else "x11") / "libglfw.so", root / "libglfw.so"):
        if candidate.is_file():
            os.environ["PYGLFW_LIBRARY"] = str(candidate)
            return


def default_headless_gl(environ: dict[str, str] | None = None) -> str | None:
    """Before the first off-screen frame: with no display and no `MUJOCO_GL`, choose EGL.

    Why: Gymnasium's off-screen renderer reads `MUJOCO_GL` when it builds its viewer, and
    without it tries GLFW, which fails on a headless machine with "an OpenGL platform library
    has not been loaded" (e.g. under `gymnasium.wrappers.RecordVideo`). EGL renders headless on
    a fresh Linux machine (GPU or Mesa). A backend the user chose, or a display, is left alone.
    Returns the backend set, or None.
    """
    env = os.environ if environ is None else environ
    if env.get("MUJOCO_GL") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    if not sys.platform.startswith("linux"):
        return None
    env["MUJOCO_GL"] = "egl"
    return "egl"
