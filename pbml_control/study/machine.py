"""What a result was computed on: CPU, cores and package versions (runs are bit-identical only
on one machine and software stack, so a report says which)."""

from __future__ import annotations

import os
import platform
from functools import cache
from importlib import metadata

PACKAGES = ("pbml-control", "numpy", "scipy", "mujoco", "gymnasium", "torch")


@cache
def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def describe() -> dict[str, object]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "host": platform.node(), **versions()}
