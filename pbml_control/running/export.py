"""`pbml export`: a run's best genome as a self-contained controller (TorchScript, ONNX).

The genome comes from the run's ``best/`` (the fittest genome of a lineage, with the observation
statistics that scored it), from one of its checkpoints (``--checkpoint``: that generation's
population, ranked the same way) or from a policy file given directly. The task's action box
comes from building the task once. The module itself is made by ``pbml_policies.export``; this
file only finds the genome, checks the paths and writes the description that travels with it.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import CheckpointError, UserError
from pbml_control.rollout.types import EnvSpec
from pbml_control.running.run_files import best_is_current, create_parents

#: What the exported module does, for the description inside it.
USAGE = (
    "torch.jit.load(path)(obs) -> action: obs (obs_dim,) or (B, obs_dim), any float dtype; "
    "the action (float64) is ready for env.step"
)


@dataclass(frozen=True)
class ExportResult:
    """What `export_controller` wrote and what it holds."""

    path: Path
    onnx_path: Path | None
    meta: dict[str, Any]
    #: Largest |action| difference between the exported module and the numpy forward on a
    #: probe batch of observations (float32 rounding of the policy's matrix products).
    max_abs_diff: float
    #: The written module's own returns (`export_eval.evaluate_module`), also in ``meta``;
    #: None when ``episodes`` was 0.
    evaluation: dict[str, Any] | None = None


def export_controller(
    source: Path,
    out: Path,
    lineage: int | None = None,
    checkpoint: Path | None = None,
    onnx: bool = False,
    overwrite: bool = False,
    episodes: int = 10,
) -> ExportResult:
    """Export the best genome of ``source`` (a run directory or a policy ``.npz``) to ``out``,
    and measure the written module on the recorded episode seeds and on ``episodes`` fresh ones
    (stored in its ``pbml.json`` as ``evaluation``; ``episodes=0`` skips that)."""
    from pbml_policies.export import ExportError, controller_module, save_onnx, save_torchscript

    from pbml_control.running.export_eval import evaluate_module

    if episodes == 1 or episodes < 0:
        raise UserError(f"--episodes must be 0 (no evaluation) or >= 2, got {episodes}")
    source, out = Path(source), Path(out)
    onnx_path = out.with_suffix(".onnx") if onnx else None
    if onnx:
        check_onnx(out)
    for path in (out, onnx_path):
        if path is not None:
            check_out(path, overwrite)
    saved = find_genome(source, lineage, checkpoint)
    task = saved.meta.get("task") or {}
    if not task.get("id"):
        raise UserError(f"'{source}' does not say which task it acts in (no meta.task.id)")
    low, high = action_box(str(task["id"]), dict(task.get("kwargs") or {}))
    clip = float((saved.meta.get("obs_norm") or {}).get("clip", 10.0))
    stats = saved.obs_stats if saved.meta.get("obs_norm", True) is not None else None
    try:
        controller = controller_module(saved.policy, saved.flat, stats, low, high, clip)
    except ExportError as err:
        raise UserError(str(err)) from err
    meta = description(saved, low, high)
    create_parents(out)
    save_torchscript(out, controller, saved.policy.obs_dim, meta)
    evaluation = evaluate_module(out, meta, episodes) if episodes else None
    if evaluation is not None:  # the same module again, its description now with its returns
        meta["evaluation"] = evaluation
        save_torchscript(out, controller, saved.policy.obs_dim, meta)
    if onnx_path is not None:
        try:
            save_onnx(onnx_path, controller, saved.policy.obs_dim, meta)
        except ExportError as err:
            raise UserError(str(err)) from err
    diff = forward_difference(out, saved, stats, clip, low, high)
    return ExportResult(out, onnx_path, meta, diff, evaluation)


def check_onnx(out: Path) -> None:
    """Before anything is written: ONNX export needs onnx and onnxscript, and a .pt name."""
    import importlib.util

    if out.suffix == ".onnx":
        raise UserError(f"--out '{out}' is the TorchScript file; name it .pt, --onnx adds .onnx")
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"--onnx needs {' and '.join(missing)}: pip install 'pbml-control[export]' "
            '(or -e ".[export]" in a checkout)'
        )


def check_out(path: Path, overwrite: bool) -> None:
    """Refuse an --out that exists (unless ``overwrite``), is a folder, or lies under a file;
    missing parent folders are created later, as every command does (`create_parents`)."""
    if path.is_dir():
        raise UserError(f"--out '{path}' is a folder; give a file name such as controller.pt")
    existing = next(folder for folder in (path.parent.absolute(), *path.parent.absolute().parents)
                    if folder.exists())  # fmt: skip
    if not existing.is_dir():
        raise UserError(f"--out '{path}': '{existing}' is a file, not a folder")
    if path.exists() and not overwrite:
        raise UserError(f"'{path}' already exists; pass --overwrite to replace it")
    if not os.access(existing, os.W_OK):
        raise UserError(f"cannot write into '{existing}' (no permission); choose another --out")


def find_genome(source: Path, lineage: int | None, checkpoint: Path | None):
    """The ``SavedPolicy`` to export (see the module docstring for where it comes from)."""
    from pbml_policies import read_policy

    if not source.exists():
        raise UserError(f"'{source}' does not exist (give a run directory or a best/ .npz file)")
    if source.is_file():
        if lineage is not None or checkpoint is not None:
            raise UserError("--lineage and --checkpoint need a run directory, not a file")
        try:
            return read_policy(source)
        except (OSError, ValueError, KeyError) as err:
            raise UserError(f"'{source}' is not a policy file: {err}") from err
    from pbml_control.running.run import check_run_dir

    check_run_dir(source)
    if checkpoint is None and best_is_current(source):
        return _from_best(source / "best", lineage)
    from pbml_control.running.checkpoint import resolve_checkpoint

    found = resolve_checkpoint(checkpoint or source)
    if found.parent.resolve() != (source / "checkpoints").resolve():
        raise UserError(f"--checkpoint '{checkpoint}' is not in '{source / 'checkpoints'}'")
    return genome_from_checkpoint(found, lineage)


def _from_best(best: Path, lineage: int | None):
    from pbml_policies import read_policy

    try:
        entries = sorted(json.loads((best / "index.json").read_text())["genomes"], key=_rank)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"'{best / 'index.json'}' is unreadable: {err}") from err
    entry = pick(entries, lineage, str(best.parent))
    try:
        saved = read_policy(best / entry["file"])
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"'{best / entry['file']}' cannot be read: {err}") from err
    if saved.meta.get("obs_stats") != "scoring":
        warnings.warn(
            f"'{best / entry['file']}' does not record the statistics that scored it; the "
            "exported controller uses the run's latest ones",
            stacklevel=2,
        )
    return saved


def _rank(entry: dict[str, Any]) -> int:
    return int(entry["rank"])


def pick(entries: list[dict[str, Any]], lineage: int | None, where: str) -> dict[str, Any]:
    """The best entry, or the one of ``lineage``; a UserError lists the lineages there are."""
    if not entries:
        raise UserError(f"'{where}' holds no evaluated genome; train longer or use a later run")
    if lineage is None:
        return entries[0]
    for entry in entries:
        if int(entry["lineage"]) == lineage:
            return entry
    known = ", ".join(str(e["lineage"]) for e in entries[:20])
    more = " ..." if len(entries) > 20 else ""
    raise UserError(
        f"--lineage {lineage}: no surviving lineage {lineage} in '{where}'; its lineages, best "
        f"first: {known}{more}"
    )


def genome_from_checkpoint(json_path: Path, lineage: int | None):
    """The best genome of a lineage in a checkpoint's population, as a ``SavedPolicy``."""
    from pbml_policies import RunningStats, SavedPolicy, policy_from_dict

    from pbml_control.evolution.genome import Population
    from pbml_control.running.best import scoring_meta
    from pbml_control.running.checkpoint import load_checkpoint, split_arrays
    from pbml_control.running.goals import make_schedule
    from pbml_control.running.run import read_checkpoint_config
    from pbml_control.running.run_files import best_per_lineage
    from pbml_control.running.scoring import Scoring

    arrays, meta = load_checkpoint(json_path)
    cfg = read_checkpoint_config(meta)
    try:
        pop = Population.from_arrays(split_arrays(arrays, "pop"))
        policy = policy_from_dict(meta["policy"])
        score = split_arrays(arrays, "score")
        scoring = Scoring.from_arrays(score) if score else Scoring()
        latest = split_arrays(arrays, "obs")
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"checkpoint '{json_path}' is inconsistent: {err}") from err
    order = best_per_lineage(pop)
    entries = [{"rank": r, "lineage": int(pop.lineage_ids[i]), "i": i} for r, i in enumerate(order)]
    i = pick(entries, lineage, str(json_path))["i"]
    scored_at, stats = scoring.of(int(pop.ids[i]))
    info = scoring_meta(cfg, make_schedule(cfg.goals, cfg.task.id, cfg.run.seed), scored_at)
    info.update(genome=int(pop.ids[i]), lineage=int(pop.lineage_ids[i]))
    info.update(fitness=float(pop.fitness[i]), run_generation=pop.generation, obs_stats="scoring")
    if stats is None:
        stats, info["obs_stats"] = (latest or None), "latest"
    obs = RunningStats.from_arrays(stats) if stats and cfg.policy.obs_norm else None
    return SavedPolicy(policy, pop.params[i].astype(np.float32), obs, info)


def action_box(task_id: str, kwargs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The task's action bounds (the env is built once and closed)."""
    if ":" in task_id and task_id.split(":", 1)[0] not in sys.modules:
        raise UserError(
            f"task id '{task_id}' would import the module '{task_id.split(':', 1)[0]}'; "
            "exporting never imports modules a file names: import it and call "
            "pbml_control.running.export.export_controller from Python"
        )
    try:
        env = EnvSpec.of(task_id, **kwargs).make()
    except Exception as err:  # gymnasium raises several error types for unknown ids
        raise UserError(f"task '{task_id}' cannot be made (is it registered?): {err}") from err
    try:
        space = env.action_space
        return np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    finally:
        env.close()


def description(saved, low: np.ndarray, high: np.ndarray) -> dict[str, Any]:
    """The JSON stored inside the exported file: where the controller came from, how to use it."""
    meta = dict(saved.meta)
    return {
        "format": "pbml-controller/1",
        "usage": USAGE,
        "task": meta.pop("task", None),
        "goal": meta.pop("goal", None),
        "policy": saved.policy.to_dict(),
        "obs_dim": saved.policy.obs_dim,
        "act_dim": saved.policy.act_dim,
        "action_low": low.tolist(),
        "action_high": high.tolist(),
        **meta,
    }


def forward_difference(path: Path, saved, stats, clip: float, low, high) -> float:
    """Max |exported - numpy| action over 64 probe observations (N(0, 3^2) around the mean)."""
    import torch

    from pbml_control.rollout.actions import scale_actions

    if not hasattr(saved.policy, "batched"):  # a policy without a numpy forward: nothing to compare
        return float("nan")
    dim = saved.policy.obs_dim
    rng = np.random.default_rng(0)
    center = np.zeros(dim) if stats is None else stats.mean
    obs = center + 3.0 * rng.standard_normal((64, dim))
    inputs = obs.astype(np.float32) if stats is None else stats.normalizer(clip)(obs)
    raw = saved.policy.batched(np.tile(saved.flat, (64, 1)))(inputs).astype(np.float64)
    expected = scale_actions(raw, low, high)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates torch.jit
        got = torch.jit.load(str(path))(torch.from_numpy(obs)).numpy()
    return float(np.max(np.abs(got - expected)))
