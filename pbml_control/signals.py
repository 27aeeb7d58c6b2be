"""Signals, in one place: SIGTERM takes Ctrl-C's path, and a worker's start is not interrupted.

Why SIGTERM as an interrupt: `kill`, `docker stop`, systemd and Slurm send SIGTERM; raised as
:class:`~pbml_control.errors.Terminated` (a KeyboardInterrupt) it checkpoints the last whole
generation like Ctrl-C does. The CLI holds it from its first line, the Python API while a run
trains. This module imports nothing heavy, so the CLI can use it before loading its commands.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pbml_control.errors import Terminated


def _terminate(signum, frame) -> None:
    raise Terminated(f"signal {signum}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated`; the previous handler is put back
    afterwards. Only the main thread can install signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then handle them as usual.

    Why: a start that is interrupted between asking the forkserver for a worker and reading the
    worker's pid leaves the forkserver writing to a closed socket, and it prints a traceback
    after the run has already said it stopped. Starting a worker takes milliseconds.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda sig, _frame: caught.append(sig)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while the block runs (a run stopping: saving its checkpoint,
    closing its workers), so a second Ctrl-C cannot cut the save short or escape as a
    traceback; the run is already stopping, which is what the second one asks for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """From now on ignore Ctrl-C and SIGTERM (a command that is already ending)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def die_with(pid: int, interval: float = 0.5) -> None:
    """End this process soon after process ``pid`` (the command that started it) is gone.

    A killed `pbml study` must leave nothing that keeps writing into its folder. Its workers are
    children of the forkserver, not of the study, so ``PR_SET_PDEATHSIG`` (which follows the
    direct parent) is not enough: a daemon thread polls the study's PID and, once it is gone (or
    this process was handed to init), kills this process with SIGKILL, as a kill of the study
    would have. The direct parent's death is also covered by ``PR_SET_PDEATHSIG`` on Linux."""
    import os
    import time

    _parent_death_signal(signal.SIGKILL)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if process_gone(pid):
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended: it no longer exists, or it is a zombie (dead, waiting
    for its parent to collect its status, which may never come soon)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def _parent_death_signal(sig: int) -> None:
    """``prctl(PR_SET_PDEATHSIG, sig)`` where the C library has it (Linux); else nothing."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
