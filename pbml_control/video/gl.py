"""Pick a headless OpenGL backend for MuJoCo before MuJoCo is imported.

Why a probe in a fresh interpreter: MuJoCo fixes its GL backend (`MUJOCO_GL`) when `mujoco` is
first imported, and a backend whose libraries are missing can fail at that import, leaving the
process unable to try another. So each candidate is tried in a child `python -c` (fork + exec:
the child inherits no GL state), and only a backend that made a context there is set in this
process. When `mujoco` is already imported (tests, notebooks), its backend is fixed: we only
check in-process that a context can be made.

Default order: EGL (GPU or Mesa, headless), then OSMesa (software). A `MUJOCO_GL` the user set is
respected and probed alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping

from pbml_control.errors import UserError

CANDIDATES = ("egl", "osmesa")
INSTALL_HINT = (
    "install a headless OpenGL library -- EGL (`apt-get install libegl1`, or libegl1-mesa on "
    "older systems) or OSMesa (`apt-get install libosmesa6`) -- then set MUJOCO_GL=egl or "
    "MUJOCO_GL=osmesa (with a display, MUJOCO_GL=glfw also works)"
)
_PROBE = "import mujoco; c = mujoco.GLContext(16, 16); c.make_current(); c.free()"

Probe = Callable[[str], str | None]


class RendererUnavailable(UserError):
    """No OpenGL backend can make a MuJoCo rendering context; the message says what to install."""


def probe_backend(backend: str, timeout_s: float = 60.0) -> str | None:
    """Try `backend` in a fresh interpreter; None if it works, else the last line of its error."""
    env = {**os.environ, "MUJOCO_GL": backend}
    if backend in CANDIDATES:
        env["PYOPENGL_PLATFORM"] = backend
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
            timeout=timeout_s,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {proc.returncode}"


def probe_in_process() -> str | None:
    """Check the backend of an already imported `mujoco`; None if a context can be made."""
    try:
        import mujoco

        context = mujoco.GLContext(16, 16)
        context.make_current()
        context.free()
    except Exception as err:  # backends raise ImportError, RuntimeError, AttributeError, ...
        return f"{type(err).__name__}: {err}"
    return None


def ensure_gl(
    environ: Mapping[str, str] | None = None,
    probe: Probe = probe_backend,
    imported: bool | None = None,
) -> str:
    """Make sure MuJoCo can render headless; returns the backend (sets MUJOCO_GL if unset).

    Raises RendererUnavailable with the install hint when no backend works. `environ`, `probe`
    and `imported` exist so tests can simulate a machine without OpenGL.
    """
    env = os.environ if environ is None else environ
    if imported is None:
        imported = "mujoco" in sys.modules
    if imported:
        backend = env.get("MUJOCO_GL", "") or "default"
        error = probe_in_process()
        if error is not None:
            raise _unavailable({backend: error})
        return backend
    wanted = env.get("MUJOCO_GL", "").strip()
    failures: dict[str, str] = {}
    for backend in (wanted,) if wanted else CANDIDATES:
        error = probe(backend)
        if error is None:
            if environ is None:
                os.environ["MUJOCO_GL"] = backend
                if backend in CANDIDATES:
                    os.environ["PYOPENGL_PLATFORM"] = backend
            return backend
        failures[backend] = error
    raise _unavailable(failures)


def _unavailable(failures: dict[str, str]) -> RendererUnavailable:
    tried = "; ".join(f"MUJOCO_GL={name}: {error}" for name, error in failures.items())
    return RendererUnavailable(f"MuJoCo cannot render headless ({tried}); {INSTALL_HINT}")
