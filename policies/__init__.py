"""Modular policy networks: torch definitions, flat-vector mapping, fast batched numpy inference."""
