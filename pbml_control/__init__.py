"""pbml-control: Population-Based Meta Learning (PBML) for adaptable robot controllers.

The core package, grouped by the stages of the loop: `evolution` (genomes with per-module mutation
functions, selection rules, founders, ancestry), `rollout` (the pool that scores genomes),
`running` (config, trainer, run directories, checkpoints, callbacks, goal schedules, transfer),
`analysis` (metrics, recovery after goal changes, summaries, plots), `video`, `study`,
`experiments`, `bench` and `cli`. It uses the task package `pbml_envs` (the repository's `envs/`
folder) and the network package `pbml_policies` (`policies/`); they never import this package.
"""

__version__ = "0.1.0"

__all__ = ["Run", "resume", "run_study", "train"]


def __getattr__(name: str):
    """`pbml_control.train`, `.resume`, `.run_study`, `.Run` (pbml_control.api), imported on
    first use so that `import pbml_control` stays light (the CLI starts with it)."""
    if name in __all__:
        from pbml_control import api

        return getattr(api, name)
    raise AttributeError(f"module 'pbml_control' has no attribute {name!r}")
