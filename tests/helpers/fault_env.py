"""A tiny pure-Python task whose goal tells it to misbehave: for the rollout pool's fault tests.

goal[0] (the mode): 0 behave; 1 kill its own process once (a marker file remembers); 2 hang once;
3 kill its own process every time; 4 raise an exception; 5 return NaN observations.
goal[1]: seconds to sleep per step (to keep a worker busy long enough to be killed).
The marker folder comes from the PBML_FAULT_DIR environment variable.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import gymnasium
import numpy as np
from gymnasium import spaces

ENV_ID = "tests.helpers.fault_env:pbml_test/Fault-v0"


class FaultEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.goal = np.zeros(2)
        self.x = np.zeros(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if options and "goal" in options:
            self.goal = np.asarray(options["goal"], dtype=np.float64)
        self.x = self.np_random.normal(size=3)
        self.t = 0
        return self.x.copy(), {}

    def step(self, action):
        mode, sleep = int(self.goal[0]), float(self.goal[1])
        self.t += 1
        if sleep:
            time.sleep(sleep)
        if self.t == 3:
            self._misbehave(mode)
        self.x = 0.9 * self.x + 0.1 * np.concatenate([action, [action.sum()]])
        obs = np.full(3, np.nan) if mode == 5 else self.x.copy()
        reward = -float(np.abs(self.x).sum())
        return obs, reward, False, False, {"reward_dist": reward}

    def _misbehave(self, mode: int) -> None:
        marker = Path(os.environ.get("PBML_FAULT_DIR", "/tmp")) / f"fault-{mode}-{os.getppid()}"
        if mode in (1, 2) and marker.exists():
            return
        if mode in (1, 2):
            marker.touch()
        if mode in (1, 3):
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == 2:
            time.sleep(3600)
        if mode == 4:
            raise RuntimeError("fault env: mode 4 raises")


gymnasium.register("pbml_test/Fault-v0", entry_point=FaultEnv, max_episode_steps=20)
