"""Parsers for option values that more than one command takes."""

from __future__ import annotations

import re

import numpy as np

from pbml_control.errors import UserError


def parse_goal(text: str) -> float | list[float]:
    """'1.5', '2,0' or '2 0' -> the goal as plain floats (a float for one number, else a list);
    UserError otherwise.

    Only the syntax is checked here: whether the goal fits a task is `pbml_envs.validate_goal`'s
    call, and its errors then quote plain numbers, not a numpy repr.
    """
    try:
        values = [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]
    except ValueError:
        raise UserError(f"--goal must be numbers separated by commas, got '{text}'") from None
    return values[0] if len(values) == 1 else values


def goal_text(goal, digits: int = 3) -> str:
    """A goal for people: '1.5', '2, 0' ('none' for a task without goals)."""
    if goal is None:
        return "none"
    return ", ".join(f"{v:.{digits}g}" for v in np.atleast_1d(np.asarray(goal, dtype=float)))
