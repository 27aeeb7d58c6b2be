"""pbml-control: Population-Based Meta Learning (PBML) for adaptable robot controllers.

The core package: genomes with per-module mutation functions, selection strategies, lineage
book-keeping, the rollout pool, the trainer and the command-line interface. It uses the task
package `envs` and the network package `policies`; they never import this package's trainer.
"""

__version__ = "0.1.0"
