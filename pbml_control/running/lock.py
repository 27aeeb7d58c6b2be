"""One writer per folder: an OS file lock held while a command writes a run directory, a study
folder or a study's run.

`fcntl.flock` locks die with the process that holds them (a killed command leaves no stale
lock), and a second process that asks gets an answer at once instead of waiting. The lock file
holds the holder's PID, so the refusal can name it; `pbml study --status` reads a study run's
lock to tell runs in progress from runs that were stopped part way. A folder's lock file sits
beside it (``.NAME.lock`` in its parent), so `--overwrite`, which replaces the folder, keeps it.
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


def lock_beside(folder: Path) -> Path:
    """The lock file of ``folder``: ``.NAME.lock`` beside it."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.lock"


def folder_lock(folder: Path, what: str):
    """Hold ``folder``'s lock (its parent is created if missing); UserError naming the holder."""
    from pbml_control.running.run_files import create_parents

    create_parents(Path(folder))
    return job_lock(lock_beside(folder), f"{what} '{folder}'")


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
