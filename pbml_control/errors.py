"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """``text`` with newlines and other control characters shown as escapes (``\\n``): a value
    quoted from bad input cannot break the message over lines or into terminal codes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class UserError(Exception):
    """Bad input from the user: a config key, a path, a task id. The message says what to do."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class ConfigError(UserError):
    """A configuration key or value is wrong; the message names the key."""


class CheckpointError(UserError):
    """A checkpoint is missing, truncated or tampered with; nothing on disk was changed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, docker stop, systemd, Slurm) during a run: handled like Ctrl-C, so the last
    whole generation is checkpointed; the CLI then exits with status 143 (128 + SIGTERM)."""
