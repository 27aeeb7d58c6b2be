"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """Bad input from the user: a config key, a path, a task id. The message says what to do."""


class ConfigError(UserError):
    """A configuration key or value is wrong; the message names the key."""


class CheckpointError(UserError):
    """A checkpoint is missing, truncated or tampered with; nothing on disk was changed."""
