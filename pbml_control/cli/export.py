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
        "seeds, policy, fitness, lineage, generation) is stored in the archive as pbml.json, with "
        "what the written file itself scored on the episode seeds that scored the genome and on "
        "--episodes fresh ones (its 'evaluation').",
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
    p.add_argument(
        "--episodes", type=int, default=10, metavar="N",
        help="roll the written controller out on the recorded episode seeds and on N fresh ones "
        "and store the returns in its pbml.json (default: 10; 0 skips this)",
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
        episodes=args.episodes,
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
    print(f"max |action - numpy forward| on 64 probe observations: {result.max_abs_diff:.2e}")
    if result.evaluation is not None:
        print(evaluation_lines(result.evaluation, meta.get("fitness")))
    print(f"use: torch.jit.load('{result.path}')(obs) -> action for env.step")
    return 0


def evaluation_lines(ev: dict, fitness: float | None) -> str:
    """What the written controller scored, next to the training fitness, in plain words."""
    lines = []
    if ev.get("replay") is not None:
        told = "" if fitness is None else f" (its training fitness: {fitness:.2f})"
        lines.append(
            f"this controller on the episode seeds that scored it: {ev['replay']:.2f}{told}"
        )
    low, high = ev["ci95"]
    lines.append(
        f"this controller on {len(ev['returns'])} fresh episode seeds: mean {ev['mean']:.2f}, "
        f"sd {ev['sd']:.2f}, 95% CI [{low:.2f}, {high:.2f}] (stored in pbml.json: evaluation)"
    )
    return "\n".join(lines)
