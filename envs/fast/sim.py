"""K raw `mujoco.MjData` of one model, reset and stepped from Python with as few calls as possible.

Why raw MjData: a Gymnasium MuJoCo step costs 25-30% of its physics in Python (wrappers, dict
building, per-step array allocation). Here a step of one simulation is four C calls (copy the
control, `mj_step` with `nstep=frame_skip` so the frame loop runs in C, optionally
`mj_rnePostConstraint`, `mj_getState` into a row of a preallocated array), and everything else
(observations, rewards, health) is computed once per batch in numpy by the caller.

The reset reproduces `MujocoEnv.reset` + `reset_model` of Gymnasium's v5 bodies draw for draw: the
same seeded generator (`gymnasium.utils.seeding.np_random`), `mj_resetData`, uniform qpos noise,
normal qvel noise, `mj_forward`. The tests check this against `gymnasium.make` bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np
from gymnasium.utils import seeding
from pbml_envs.physics import data_unstable, unstable_reason

_STATE = mujoco.mjtState.mjSTATE_QPOS | mujoco.mjtState.mjSTATE_QVEL


class MjBatch:
    """`capacity` simulations of `model`; the first `k` rows are used by a chunk of k genomes.

    After `reset_rows` or `step_rows`, `state[j]` holds row j's (qpos, qvel); with `track_body`,
    `body_xy[j]` that body's world (x, y) as MuJoCo left it after the step (Ant's velocity reads
    it); with `contact_forces`, `cfrc_ext[j]` the external contact forces (nbody, 6), computed by
    `mj_rnePostConstraint` after each step as Gymnasium does.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        capacity: int,
        frame_skip: int,
        track_body: int | None = None,
        contact_forces: bool = False,
    ) -> None:
        self.model = model
        self.frame_skip = int(frame_skip)
        self.datas = [mujoco.MjData(model) for _ in range(capacity)]
        self.state = np.zeros((capacity, model.nq + model.nv))
        self.ctrl = np.zeros((capacity, model.nu))
        self.body_xy = np.zeros((capacity, 2))
        self.cfrc_ext = np.zeros((capacity, model.nbody, 6))
        self._track = track_body
        self._contact = contact_forces
        # Row views and MjData field views, made once: creating them per step costs more than
        # the copies themselves.
        self._state_rows = list(self.state)
        self._ctrl_rows = list(self.ctrl)
        self._ctrl_views = [d.ctrl for d in self.datas]
        body = track_body or 0
        pairs = list(zip(self.body_xy, self.cfrc_ext, self.datas, strict=True))
        self._xy_pairs = [(xy, d.xpos[body, :2]) for xy, _, d in pairs]
        self._cfrc_pairs = [(cfrc, d.cfrc_ext) for _, cfrc, d in pairs]

    @property
    def capacity(self) -> int:
        return len(self.datas)

    @property
    def qpos(self) -> np.ndarray:
        return self.state[:, : self.model.nq]

    @property
    def qvel(self) -> np.ndarray:
        return self.state[:, self.model.nq :]

    def reset_rows(
        self, seeds: Sequence[int], init_qpos: np.ndarray, init_qvel: np.ndarray, noise: float
    ) -> None:
        """Reset rows 0..len(seeds)-1 exactly as a v5 body's `reset(seed=...)` would."""
        m = self.model
        for j, seed in enumerate(seeds):
            rng, _ = seeding.np_random(int(seed))
            d = self.datas[j]
            mujoco.mj_resetData(m, d)
            qpos = init_qpos + rng.uniform(low=-noise, high=noise, size=m.nq)
            qvel = init_qvel + noise * rng.standard_normal(m.nv)
            d.qpos[:] = qpos
            d.qvel[:] = qvel
            mujoco.mj_forward(m, d)
            self._gather(j, d)

    def step_rows(self, actions: np.ndarray, rows: Sequence[int]) -> None:
        """Apply `actions[j]` (float64) and advance `frame_skip` steps, for each j in `rows`.

        `mj_step` releases the GIL, so callers may run several `MjBatch`es from threads.
        """
        m, skip, state_rows = self.model, self.frame_skip, self._state_rows
        self.ctrl[: len(actions)] = actions
        ctrl_rows, ctrl_views, datas = self._ctrl_rows, self._ctrl_views, self.datas
        if self._track is None and not self._contact:  # the common planar case, inlined
            for j in rows:
                d = datas[j]
                ctrl_views[j][:] = ctrl_rows[j]
                mujoco.mj_step(m, d, skip)
                mujoco.mj_getState(m, d, state_rows[j], _STATE)
            return
        for j in rows:
            d = datas[j]
            ctrl_views[j][:] = ctrl_rows[j]
            mujoco.mj_step(m, d, skip)
            if self._contact:
                mujoco.mj_rnePostConstraint(m, d)
            self._gather(j, d)

    def _gather(self, j: int, d: mujoco.MjData) -> None:
        mujoco.mj_getState(self.model, d, self._state_rows[j], _STATE)
        if self._track is not None:
            row, view = self._xy_pairs[j]
            row[:] = view
        if self._contact:
            row, view = self._cfrc_pairs[j]
            row[:] = view

    def unstable(self, j: int) -> str:
        """Why row j's physics went unstable during this episode, or ''."""
        return data_unstable(self.datas[j])


class BatchSim:
    """`capacity` simulations in one `mujoco.batch.Batch` (MuJoCo >= 4): stepped in one C call.

    Why: even a few C calls per simulation and step cost 5-8% of HalfCheetah's physics from
    Python; the Batch steps every simulation of a call in C, and its state rows are numpy views
    (qpos, qvel, ctrl), so nothing is copied per simulation. MuJoCo guarantees results
    bit-identical to one MjData per simulation. The Batch computes no `cfrc_ext` (Gymnasium calls
    `mj_rnePostConstraint` for it), so bodies that observe contact forces use `MjBatch`.
    One thread by default: a rollout worker is one core's worth of work; the pool runs several
    workers (the bare-physics replay of `pbml_envs.fast.limit` uses one per worker). The batch
    keeps one MjData per simulation (persistent), which `unstable` reads warnings from, and which
    measured faster here than sharing one per thread.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        capacity: int,
        frame_skip: int,
        nthread: int = 1,
    ) -> None:
        from mujoco import batch

        self.model = model
        self.frame_skip = int(frame_skip)
        self.batch = batch.Batch(model, capacity, nthread=nthread, persistent=True)
        self.qpos = self.batch.bind("qpos")
        self.qvel = self.batch.bind("qvel")
        self.ctrl = self.batch.bind("ctrl")

    @property
    def capacity(self) -> int:
        return self.batch.nsim

    def ids(self, rows: Sequence[int]) -> np.ndarray | None:
        """`rows` as the Batch's ids argument (None: every simulation)."""
        if len(rows) == self.capacity:
            return None
        return np.asarray(rows, dtype=np.int32)

    def reset_rows(
        self, seeds: Sequence[int], init_qpos: np.ndarray, init_qvel: np.ndarray, noise: float
    ) -> None:
        """As `MjBatch.reset_rows`: mj_resetData, the same noise draws, then mj_forward."""
        m, ids = self.model, self.ids(range(len(seeds)))
        self.batch.reset(ids, stage=mujoco.mjtStage.mjSTAGE_NONE.value)
        for j, seed in enumerate(seeds):
            rng, _ = seeding.np_random(int(seed))
            self.qpos[j] = init_qpos + rng.uniform(low=-noise, high=noise, size=m.nq)
            self.qvel[j] = init_qvel + noise * rng.standard_normal(m.nv)
        self.batch.forward(ids)

    def step_rows(self, actions: np.ndarray, rows: Sequence[int]) -> None:
        """Apply `actions[j]` and advance `frame_skip` steps for each j in `rows`, in one call."""
        self.ctrl[: len(actions)] = actions
        self.batch.step(self.ids(rows), nstep=self.frame_skip)

    def unstable(self, j: int) -> str:
        """Why row j's physics went unstable during this episode, or ''."""
        return unstable_reason(lambda i: self.batch.warning[j, i, 1])
