"""Baseline configs (`pbml train baselines/NAME`)."""
