"""Parsers for option values that more than one command takes."""

from __future__ import annotations

import re

import numpy as np

from pbml_control.errors import UserError


def parse_goal(text: str) -> np.ndarray:
    """'1.5', '2,0' or '2 0' -> the goal as float64 (a scalar for one number); UserError otherwise.

    Only the syntax is checked here: whether the goal fits a task is
    `pbml_envs.validate_goal`'s call.
    """
    try:
        values = [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]
    except ValueError:
        raise UserError(f"--goal must be numbers separated by commas, got '{text}'") from None
    return np.asarray(values[0] if len(values) == 1 else values, dtype=np.float64)
