"""Child processes that tests stop with Ctrl-C's signal."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for a child that a test sends SIGINT: a shell starts background jobs with
    SIGINT ignored, and Python keeps an inherited ignore (it then never raises
    KeyboardInterrupt), so a test runner started with `&` would see the child ignore the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
