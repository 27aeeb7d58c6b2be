"""`pbml export RUN --out controller.pt`: a trained controller that runs without this project."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="a run's best genome as a standalone TorchScript controller",
        description="Write the best genome of a run (or of one lineage, or of a checkpoint) as "
        "a TorchScript module with the observation normalisation that scored it and the "
        "scaling onto the task's action box inside: torch.jit.load(OUT)(obs) is the action for "
        "env.step, with nothing from pbml-control imported. A JSON description (task, goal, "
        "seeds, policy, fitness, lineage, generation) is stored in the archive as pbml.json.",
    )
    p.add_argument("source", type=Path, help="run directory, or a best/lineage_*.npz file")
    p.add_argument(
        "--out", type=Path, required=True,
        help="output file, e.g. controller.pt (required, no default; missing folders are created)",
    )  # fmt: skip
    p.add_argument(
        "--lineage", type=int, metavar="K",
        help="export the best genome of lineage K (the id in best/lineage_K.npz and "
        "lineages.csv; default: the best lineage)",
    )  # fmt: skip
    p.add_argument(
        "--checkpoint", type=Path,
        help="take the genome from this checkpoint of the run (RUN/checkpoints/gen_N.json) "
        "instead of best/ (default: best/, the run's end)",
    )  # fmt: skip
    p.add_argument(
        "--onnx", action="store_true",
        help="also write OUT with suffix .onnx (needs pip install 'pbml-control[export]')",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.running.export import export_controller

    result = export_controller(
        args.source,
        args.out,
        lineage=args.lineage,
        checkpoint=args.checkpoint,
        onnx=args.onnx,
        overwrite=args.overwrite,
    )
    meta = result.meta
    task = (meta.get("task") or {}).get("id")
    print(
        f"wrote {result.path}: lineage {meta.get('lineage')}, genome {meta.get('genome')}, "
        f"fitness {meta.get('fitness'):.3f} on task {task}, goal {meta.get('goal')} "
        f"(scored in generation {meta.get('generation')}, statistics: {meta.get('obs_stats')})"
    )
    if result.onnx_path is not None:
        print(f"wrote {result.onnx_path}: input 'obs' (B, {meta['obs_dim']}) float64")
    print(
        f"max |action - numpy forward| on 64 probe observations: {result.max_abs_diff:.2e}; "
        f"use: torch.jit.load('{result.path}')(obs) -> action for env.step"
    )
    return 0
