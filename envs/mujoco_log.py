"""Silence exactly one MuJoCo message: the compiler's `settotalmass` deprecation.

Gymnasium's HalfCheetah and Ant XML files use the `settotalmass` compiler attribute, so MuJoCo 4
prints "WARNING: compiler attribute 'settotalmass' is deprecated ..." (and appends it to
MUJOCO_LOG.TXT in the working directory) every time such a model is compiled: once per
environment per worker. The message is about Gymnasium's files, not about anything a user can
change, so model loads are wrapped in `quiet_settotalmass()`. Every other warning raised while it
is active still reaches the handler that was installed before (MuJoCo's default prints it), and
that handler is back on exit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import mujoco

_SILENCED = "compiler attribute 'settotalmass' is deprecated"


@contextmanager
def quiet_settotalmass() -> Iterator[None]:
    """Drop the `settotalmass` deprecation warning while the block compiles models."""
    previous = mujoco.get_mju_user_warning()

    def forward(message: str) -> None:
        if _SILENCED in message:
            return
        if previous is not None:
            previous(message)
        else:  # MuJoCo's default handler, which cannot be called from Python
            print(f"WARNING: {message}", file=sys.stderr)

    mujoco.set_mju_user_warning(forward)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)
