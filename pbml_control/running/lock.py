"""One writer per study run: an OS file lock held while a job writes its run directory.

`fcntl.flock` locks die with the process that holds them (a killed study leaves no stale
lock), and a second process that asks gets an answer at once instead of waiting. The lock file
holds the holder's PID, so the refusal can name it; `pbml study --status` reads the same lock to
tell runs in progress from runs that were stopped part way.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pbml_control.errors import UserError


@contextmanager
def job_lock(path: Path, what: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the block; UserError naming the holder if it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{what} is being written by another process (PID {holder(path) or 'unknown'}, "
                f"lock '{path}'); stop it, or wait until it is done"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def is_locked(path: Path) -> bool:
    """True while some process holds the lock at ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def holder(path: Path) -> str:
    """The PID written in a lock file ('' if none can be read)."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""
