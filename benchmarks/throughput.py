"""Rollout throughput per backend against the physics limit: the script behind `pbml bench`.

    python benchmarks/throughput.py [--quick] [--json FILE] [--backends ...] [--tasks ...]

Same options and output as `pbml bench --help` describes; the measurement itself lives in
`pbml_control.bench.throughput` so that the installed `pbml` command has it too.
"""

from __future__ import annotations

import sys

from pbml_control.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
