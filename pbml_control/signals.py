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
