"""Policy outputs to actions, shared by the Gymnasium loop, the fast loop and the video renderer."""

from __future__ import annotations

import numpy as np


def scale_actions(raw: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map the policy's [-1, 1] outputs onto the action box."""
    return low + (raw + 1.0) * 0.5 * (high - low)
