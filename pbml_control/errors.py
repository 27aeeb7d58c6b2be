"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """Bad input from the user: a config key, a path, a task id. The message says what to do."""


class ConfigError(UserError):
    """A configuration key or value is wrong; the message names the key."""


class CheckpointError(UserError):
    """A checkpoint is missing, truncated or tampered with; nothing on disk was changed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, docker stop, systemd, Slurm) during a run: handled like Ctrl-C, so the last
    whole generation is checkpointed; the CLI then exits with status 143 (128 + SIGTERM)."""
