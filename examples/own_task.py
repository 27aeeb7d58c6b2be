"""Your own goal task, declared in the script: HalfCheetah holding a target pace forwards or
backwards, with a goal term of its own, trained for a few generations through the Python API.

    python examples/own_task.py [--generations 20] [--out runs/own_task]
"""

from __future__ import annotations

import argparse

import numpy as np
import pbml_envs
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from pbml_envs.goals import IntervalGoals
from pbml_envs.locomotion import GoalTask

import pbml_control

TASK = "mytasks/HalfCheetahPace-v0"


def pace_term(quantities, goal):
    """The goal's reward part: minus the squared miss of the target velocity (0 on target)."""
    return -np.square(np.asarray(quantities["x_velocity"], dtype=np.float64) - goal)


# At module level, so the rollout workers (which import this script) register the task too.
@pbml_envs.goal_task(
    TASK,
    # Trains on paces in [-2, 2] m/s (negative: backwards), cut into 4 periods whose second
    # quarters are held out for testing; any pace up to 10 m/s either way is valid.
    goal_space=IntervalGoals(-2.0, 2.0, 4, "a target velocity in m/s", limit=10.0),
    default_goal=1.0,
    goal_reward_key="reward_pace",  # the reward part the goal drives, in info
    goal_term=pace_term,  # GoalTask swaps the body's forward reward for this term
)
class HalfCheetahPace(GoalTask, HalfCheetahEnv):
    """Gymnasium's HalfCheetah (physics, control cost, observations), rewarded for its pace."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--out", default="runs/own_task")
    args = parser.parse_args()

    env = pbml_envs.make_env(TASK, goal=-1.5)  # a plain Gymnasium env, as any user would make it
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[-1]
    parts = ", ".join(f"{k} {v:.3f}" for k, v in info.items() if k.startswith("reward_"))
    print(f"{TASK} at goal {float(info['goal'])}: one random step's reward parts: {parts}")
    env.close()

    # The quickstart config on the new task; the goal moves every 5 generations.
    settings = [f"task.id='{TASK}'", "goals.every=5"]
    run = pbml_control.train("quickstart", args.out, set=settings, population=args.population,
                             generations=args.generations, overwrite=True)  # fmt: skip
    best = run.best_policy()
    print(
        f"best fitness {best.fitness:.2f} (lineage {best.lineage}, generation {best.generation}, "
        f"goal {best.goal[0]:+.2f} m/s) in {run.path}"
    )


if __name__ == "__main__":  # rollout workers start with forkserver: guard the entry
    main()
