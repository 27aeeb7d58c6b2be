"""Taking a trained controller out: best/ files that replay their fitness exactly, and `pbml
export` modules that a fresh interpreter, importing nothing from this project, runs in a plain
Gymnasium loop to the same fitness."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from pbml_policies import RunningStats, load_policy, read_policy

from pbml_control.cli import main
from pbml_control.evolution.genome import Population
from pbml_control.rollout.engine import EnvCache, run_chunk
from pbml_control.rollout.types import EnvSpec, EvalBatch
from pbml_control.running.checkpoint import load_checkpoint, split_arrays
from pbml_control.running.config import load_config
from pbml_control.running.run import resume_run, start_run
from pbml_control.video.genomes import load_run_genomes
from tests.core.test_trainer import tree_digest
from tests.helpers.tiny_run import OVERRIDES, train_tiny_run

ROOT = Path(__file__).resolve().parents[2]
#: 200-step episodes, as in training runs, so the replay covers a whole meta-RL horizon.
RUN_200 = [o for o in OVERRIDES if not o.startswith("task.episode_steps")] + [
    "task.episode_steps=200"
]
#: Survivors keep their fitness (no re-evaluation, one fixed goal): best genomes are often
#: scored generations before the end, with statistics the run has long moved past.
CARRIED = [
    "run.generations=6",
    "run.checkpoint_every=3",
    "run.keep_checkpoints=0",
    "task.episode_steps=20",
    "goals.schedule='fixed'",
    "population.reevaluate='none'",
    "policy.kwargs={hidden=[8]}",
    "population.size=8",
    "pool.backend='serial'",
]

#: Run in a fresh `python -I`: a plain Gymnasium loop with the goal reward of HalfCheetahVel
#: (-|v_x - goal| + reward_ctrl) computed from info, on the run's seed and episode length; and
#: the controller's actions on the observations of the numpy forward's own trajectory.
REPLAY = """
import json, sys
import gymnasium as gym, numpy as np, torch
extra = {"pbml.json": ""}
controller = torch.jit.load(sys.argv[1], _extra_files=extra)
meta = json.loads(extra["pbml.json"])
env = gym.make("HalfCheetah-v5")
returns = []
for seed in meta["episode_seeds"]:
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for _ in range(meta["task"]["episode_steps"]):
        with torch.no_grad():
            action = controller(torch.from_numpy(obs)).numpy()
        obs, _, terminated, truncated, info = env.step(action)
        total += -abs(info["x_velocity"] - meta["goal"]) + info["reward_ctrl"]
    returns.append(total)
reference = np.load(sys.argv[2])
with torch.no_grad():
    actions = controller(torch.from_numpy(reference["obs"])).numpy()
project = ("pbml_control", "pbml_envs", "pbml_policies")
ours = sorted(m for m in sys.modules if m.split(".")[0] in project)
print(json.dumps({
    "fitness": float(np.mean(returns)),
    "expected": meta["fitness"],
    "action_diff": float(np.abs(actions - reference["actions"]).max()),
    "ours": ours,
}))
"""


def numpy_trajectory(path: Path) -> tuple[float, np.ndarray, np.ndarray]:
    """(return, observations, actions) of the file's genome with the numpy forward, stepped in
    plain Gymnasium HalfCheetah-v5 with the goal reward computed from info."""
    import gymnasium as gym

    from pbml_control.rollout.actions import scale_actions

    saved = read_policy(path)
    meta = saved.meta
    act, normalize = saved.policy.batched(saved.flat[None]), saved.obs_stats.normalizer()
    env = gym.make("HalfCheetah-v5")
    low, high = env.action_space.low.astype(np.float64), env.action_space.high.astype(np.float64)
    obs, _ = env.reset(seed=meta["episode_seeds"][0])
    seen, actions, total = [], [], 0.0
    for _ in range(meta["task"]["episode_steps"]):
        action = scale_actions(act(normalize(obs[None])).astype(np.float64), low, high)[0]
        seen.append(obs)
        actions.append(action)
        obs, _, _, _, info = env.step(action)
        total += -abs(info["x_velocity"] - meta["goal"]) + info["reward_ctrl"]
    env.close()
    return total, np.array(seen), np.array(actions)


@pytest.fixture(scope="module")
def run200(tmp_path_factory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("export") / "run", RUN_200)


@pytest.fixture(scope="module")
def carried(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("carried") / "run"
    start_run(load_config(None, CARRIED), run, progress=False)
    return run


def best_files(run: Path) -> list[Path]:
    return sorted((run / "best").glob("lineage_*.npz"))


def best_files_ranked(run: Path) -> list[Path]:
    """best/ files, best lineage first (what `pbml export RUN` takes by default)."""
    index = json.loads((run / "best" / "index.json").read_text())
    return [run / "best" / e["file"] for e in sorted(index["genomes"], key=lambda e: e["rank"])]


def replay_with_engine(path: Path, fast: bool = True) -> float:
    """The fitness the rollout engine gives the file's genome on its recorded goal and seed."""
    saved = read_policy(path)
    meta = saved.meta
    task = meta["task"]
    batch = EvalBatch(
        env=EnvSpec.of(task["id"], **task["kwargs"], max_episode_steps=task["episode_steps"]),
        policy=saved.policy.to_dict(),
        params=saved.flat[None],
        goals=np.array([meta["goal"]], dtype=np.float64),
        seeds=np.array([meta["env_seed"]], dtype=np.int64),
        episodes=task["episodes"],
        obs_stats=saved.obs_stats.to_arrays(),
    )
    cache = EnvCache(fast=fast)
    try:
        return run_chunk(batch.chunk(0, 1), cache)[0].fitness
    finally:
        cache.close()


def test_load_policy_reads_every_best_file(run200):
    final = Population.from_arrays(split_arrays(load_checkpoint(run200)[0], "pop"))
    index = json.loads((run200 / "best" / "index.json").read_text())
    assert [e["file"] for e in index["genomes"]] and not (
        run200 / "best" / "obs_stats.npz"
    ).exists()
    for entry in index["genomes"]:
        policy, flat, stats = load_policy(run200 / "best" / entry["file"])
        meta = read_policy(run200 / "best" / entry["file"]).meta
        assert policy.to_dict() == index["policy"]
        row = int(np.flatnonzero(final.ids == entry["id"])[0])
        assert flat.tobytes() == final.params[row].tobytes()
        assert isinstance(stats, RunningStats) and stats.dim == policy.obs_dim
        assert (meta["genome"], meta["lineage"], meta["fitness"]) == (
            entry["id"],
            entry["lineage"],
            entry["fitness"],
        )
        assert meta["task"]["id"] == "pbml/HalfCheetahVel-v0" and meta["obs_stats"] == "scoring"
        record = load_policy(run200 / "best" / entry["file"])  # the record's named fields
        assert (record.fitness, record.lineage, record.task) == (
            entry["fitness"], entry["lineage"], "pbml/HalfCheetahVel-v0"
        )  # fmt: skip
        assert record.goal == [float(v) for v in np.atleast_1d(meta["goal"])]
        assert record.episode_seeds == meta["episode_seeds"] and record.episode_steps > 0
        assert record.generation == meta["generation"]


def test_best_files_replay_their_fitness_exactly(run200):
    for path in best_files(run200):
        expected = read_policy(path).meta["fitness"]
        assert replay_with_engine(path) == expected
        assert replay_with_engine(path, fast=False) == expected  # plain Gymnasium path too


def test_latest_statistics_would_not_replay(run200):
    """Why best/ keeps the scoring statistics: the run's latest ones give another fitness."""
    path = best_files(run200)[0]
    saved = read_policy(path)
    latest = RunningStats.from_arrays(split_arrays(load_checkpoint(run200)[0], "obs"))
    assert latest != saved.obs_stats


def test_carried_fitness_replays_with_the_statistics_of_its_generation(carried):
    metas = [read_policy(p).meta for p in best_files(carried)]
    assert any(m["generation"] < m["run_generation"] - 1 for m in metas), "nothing was carried"
    for path in best_files(carried):
        assert replay_with_engine(path) == read_policy(path).meta["fitness"]


def test_resume_writes_the_same_best_files(carried, tmp_path):
    resumed = tmp_path / "resumed"
    start_run(load_config(None, CARRIED + ["run.generations=3"]), resumed, progress=False)
    resume_run(resumed, generations=6, progress=False)
    assert tree_digest(resumed / "best") == tree_digest(carried / "best")
    a, b = load_checkpoint(carried)[0], load_checkpoint(resumed)[0]
    score = [k for k in a if k.startswith("score.")]
    assert score and all(np.array_equal(a[k], b[k]) for k in score)


def test_record_uses_the_scoring_statistics(run200):
    genomes = load_run_genomes(run200).genomes
    for genome in genomes:
        saved = read_policy(run200 / "best" / f"lineage_{genome.lineage:06d}.npz")
        assert RunningStats.from_arrays(genome.obs_stats) == saved.obs_stats


def test_exported_controller_reproduces_the_fitness_in_a_fresh_interpreter(run200, tmp_path):
    out = tmp_path / "controller.pt"
    assert main(["export", str(run200), "--out", str(out)]) == 0
    best = read_policy(best_files_ranked(run200)[0])
    expected, seen, actions = numpy_trajectory(best_files_ranked(run200)[0])
    assert expected == best.meta["fitness"]  # the numpy forward in plain Gymnasium: exact
    np.savez(tmp_path / "reference.npz", obs=seen, actions=actions)
    script = tmp_path / "replay.py"
    script.write_text(REPLAY)
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(out), str(tmp_path / "reference.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ours"] == [] and result["expected"] == expected
    # Open loop, the same 200 observations: torch's float32 matrix products round a few ulps
    # away from numpy's (measured <= 3e-7).
    assert result["action_diff"] < 1e-5
    # Closed loop the rounding is amplified: 200 steps of MuJoCo are chaotic (1e-7 noise on the
    # actions moves a trained genome's return by percents; here, measured 6e-5 of the return).
    assert result["fitness"] == pytest.approx(expected, rel=1e-2)


def test_export_by_lineage_and_from_a_checkpoint(run200, tmp_path):
    last = read_policy(best_files(run200)[-1]).meta
    out = tmp_path / "lineage.pt"
    assert main(["export", str(run200), "--lineage", str(last["lineage"]), "--out", str(out)]) == 0
    from pbml_policies.export import read_meta

    meta = read_meta(out)
    assert (meta["lineage"], meta["genome"], meta["fitness"]) == (
        last["lineage"],
        last["genome"],
        last["fitness"],
    )
    assert meta["policy"]["name"] == "mlp" and meta["goal"] == last["goal"]
    ckpt = run200 / "checkpoints" / "gen_000002.json"
    out = tmp_path / "ckpt.pt"
    assert main(["export", str(run200), "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    meta = read_meta(out)
    assert meta["run_generation"] == 2 and meta["generation"] == 1
    assert meta["obs_stats"] == "scoring"


def test_export_accepts_a_best_file(run200, tmp_path):
    out = tmp_path / "c.pt"
    assert main(["export", str(best_files(run200)[0]), "--out", str(out)]) == 0
    assert out.is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lineage", "999"], "no surviving lineage 999"),
        (["--out-under-file"], "is a file, not a folder"),
        (["--existing"], "already exists; pass --overwrite"),
        (["--missing-run"], "does not exist"),
    ],
)
def test_export_refusals_are_one_line(run200, tmp_path, capsys, args, message):
    source, out = run200, tmp_path / "c.pt"
    if args == ["--out-under-file"]:
        (tmp_path / "file").write_text("x")
        out, args = tmp_path / "file" / "c.pt", []
    elif args == ["--existing"]:
        out.write_text("keep me")
        args = []
    elif args == ["--missing-run"]:
        source, args = tmp_path / "nope", []
    assert main(["export", str(source), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    if out.name == "c.pt" and out.parent == tmp_path and out.exists():
        assert out.read_text() == "keep me"  # never overwritten without --overwrite


def test_overwrite_replaces_an_existing_file(run200, tmp_path):
    out = tmp_path / "c.pt"
    out.write_text("old")
    assert main(["export", str(run200), "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes()[:2] == b"PK"  # a TorchScript zip archive


@pytest.mark.slow
def test_onnx_export_matches_torchscript(run200, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import torch

    out = tmp_path / "c.pt"
    assert main(["export", str(run200), "--out", str(out), "--onnx"]) == 0
    session = ort.InferenceSession(str(out.with_suffix(".onnx")))
    obs = np.random.default_rng(0).standard_normal((5, 17))
    got = session.run(None, {"obs": obs})[0]
    expected = torch.jit.load(str(out))(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["pbml.json"])["task"]["id"] == "pbml/HalfCheetahVel-v0"


def test_an_old_best_folder_still_loads(tmp_path):
    """best/ files from before they carried their policy: rebuilt from index.json and the
    run's statistics, with a warning that those are not the scoring ones."""
    from pbml_policies import make_policy

    policy = make_policy("linear", 4, 2)
    best = tmp_path / "best"
    best.mkdir()
    flat = np.arange(policy.num_params, dtype=np.float32)
    np.savez(best / "lineage_000003.npz", params=flat, id=7, lineage_id=3, fitness=-1.5)
    stats = RunningStats.zeros(4)
    stats.update(np.ones((3, 4)))
    np.savez(best / "obs_stats.npz", **stats.to_arrays())
    index = {"task": "pbml/HalfCheetahVel-v0", "policy": policy.to_dict(), "generation": 4}
    (best / "index.json").write_text(json.dumps(index))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded, loaded_flat, loaded_stats = load_policy(best / "lineage_000003.npz")
    assert loaded == policy and loaded_flat.tobytes() == flat.tobytes()
    assert loaded_stats == stats and "older version" in str(caught[0].message)


def test_readme_export_example_runs_without_the_project(run200, tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Export a controller", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)
    assert code, "the README's Export section has no python example"
    assert main(["export", str(run200), "--out", str(tmp_path / "controller.pt")]) == 0
    script = tmp_path / "example.py"
    script.write_text(
        code[0] + "\nimport sys\nassert not any(m.startswith('pbml') for m in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    # the loop's return is the one pbml export measured on the file and stored (to the digit)
    mine, stored = re.match(r"(-?[\d.]+): pbml export measured (-?[\d.]+)", done.stdout).groups()
    assert mine == stored, done.stdout


def test_export_measures_the_written_module(run200, tmp_path, capsys):
    """pbml.json's evaluation: the file replayed on the recorded seed (what the numpy forward
    scored, up to the float32 rounding of the module) and on fresh seeds, stored and printed."""
    import torch

    out = tmp_path / "c.pt"
    assert main(["export", str(run200), "--out", str(out), "--episodes", "3"]) == 0
    printed = capsys.readouterr().out
    extra = {"pbml.json": ""}
    torch.jit.load(str(out), _extra_files=extra)
    meta = json.loads(extra["pbml.json"])
    ev = meta["evaluation"]
    assert ev["replay_seeds"] == meta["episode_seeds"] and len(ev["seeds"]) == 3
    assert len(set(ev["seeds"])) == 3 and not set(ev["seeds"]) & set(meta["episode_seeds"])
    assert np.mean(ev["returns"]) == pytest.approx(ev["mean"]) and ev["sd"] > 0
    assert ev["ci95"][0] < ev["mean"] < ev["ci95"][1]
    best = best_files_ranked(run200)[0]
    numpy_return, _, _ = numpy_trajectory(best)
    assert ev["replay"] == pytest.approx(numpy_return, rel=0.5)  # chaotic, but the same episode
    assert f"{ev['replay']:.2f}" in printed and f"mean {ev['mean']:.2f}" in printed
    again = tmp_path / "again.pt"
    assert main(["export", str(run200), "--out", str(again), "--episodes", "3"]) == 0
    extra2 = {"pbml.json": ""}
    torch.jit.load(str(again), _extra_files=extra2)
    assert json.loads(extra2["pbml.json"])["evaluation"] == ev  # deterministic


def test_export_episodes_zero_skips_and_one_is_refused(run200, tmp_path, capsys):
    import torch

    out = tmp_path / "c.pt"
    assert main(["export", str(run200), "--out", str(out), "--episodes", "1"]) == 2
    assert "--episodes must be 0" in capsys.readouterr().err and not out.exists()
    assert main(["export", str(run200), "--out", str(out), "--episodes", "0"]) == 0
    extra = {"pbml.json": ""}
    torch.jit.load(str(out), _extra_files=extra)
    assert "evaluation" not in json.loads(extra["pbml.json"])


def test_a_run_without_observation_normalisation_exports(tmp_path):
    run = tmp_path / "run"
    start_run(load_config(None, CARRIED + ["policy.obs_norm=false", "run.generations=2"]), run)
    saved = read_policy(best_files_ranked(run)[0])  # what export takes by default
    assert saved.obs_stats is None and saved.meta["obs_norm"] is None
    out = tmp_path / "c.pt"
    assert main(["export", str(run), "--out", str(out)]) == 0
    import torch

    obs = np.random.default_rng(1).standard_normal((4, 17)) * 20  # no clip without statistics
    raw = saved.policy.batched(np.tile(saved.flat, (4, 1)))(obs.astype(np.float32))
    got = torch.jit.load(str(out))(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(got, raw.astype(np.float64), rtol=0, atol=1e-5)  # box is [-1, 1]


def test_onnx_needs_a_pt_name(run200, tmp_path, capsys):
    out = tmp_path / "c.onnx"
    assert main(["export", str(run200), "--out", str(out), "--onnx"]) == 2
    assert "name it .pt" in capsys.readouterr().err and not out.exists()


def test_best_index_says_which_episode_each_fitness_came_from(run200):
    index = json.loads((run200 / "best" / "index.json").read_text())
    for entry in index["genomes"]:
        meta = read_policy(run200 / "best" / entry["file"]).meta
        assert entry["generation_scored"] == meta["generation"]
        assert entry["goal"] == meta["goal"] and entry["episode_seeds"] == meta["episode_seeds"]
