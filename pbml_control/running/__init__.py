"""Running: the config, the trainer's generation loop, run directories, checkpoints, callbacks,
goal schedules and transfer of saved genomes to new goals."""
