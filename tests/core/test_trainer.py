"""The training loop end to end on a real MuJoCo task, kept tiny: determinism across backends and
worker counts, bit-identical resume, Ctrl-C, corrupt checkpoints, run directory rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pbml_control.errors import CheckpointError, ConfigError, UserError
from pbml_control.running.checkpoint import list_checkpoints, load_checkpoint
from pbml_control.running.config import load_config
from pbml_control.running.run import resume_run, start_run
from pbml_control.running.run_files import read_csv

CONFIGS = Path(__file__).parents[2] / "configs"

TINY = [
    "run.generations=4",
    "run.checkpoint_every=2",
    "run.keep_checkpoints=0",
    "task.episode_steps=20",
    "goals.every=2",
    "policy.kwargs={hidden=[8]}",
    "population.size=8",
    "pool.chunk_size=2",
    "pool.backend='serial'",
]


def tiny(*extra: str):
    return load_config(None, TINY + list(extra))


def deterministic(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]


def final_arrays(run: Path) -> dict[str, np.ndarray]:
    return load_checkpoint(run)[0]


def assert_same_run(a: Path, b: Path) -> None:
    assert deterministic(read_csv(a / "metrics.csv")) == deterministic(read_csv(b / "metrics.csv"))
    assert read_csv(a / "lineages.csv") == read_csv(b / "lineages.csv")
    assert read_csv(a / "lineage_shares.csv") == read_csv(b / "lineage_shares.csv")
    assert tree_digest(a / "best") == tree_digest(b / "best")
    arrays_a, arrays_b = final_arrays(a), final_arrays(b)
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    start_run(tiny(), out, progress=False)
    return out


def test_run_directory_holds_everything(reference):
    assert {p.name for p in reference.iterdir()} >= {
        "config.toml",
        "metrics.csv",
        "lineages.csv",
        "checkpoints",
        "best",
    }
    rows = read_csv(reference / "metrics.csv")
    assert [int(r["generation"]) for r in rows] == [0, 1, 2, 3]
    assert [int(r["goal/segment"]) for r in rows] == [0, 0, 1, 1]
    assert rows[0]["goal/value"] != rows[2]["goal/value"]  # the goal changed
    for key in (
        "pop/fitness_max",
        "lineage/alive",
        "mut/sigma/hidden0",
        "mut/gate/output",
        "env/steps",
        "time/overhead_s",
        "time/steps_per_s",
        "reward/reward_ctrl",
    ):
        assert key in rows[0], key
    assert int(rows[0]["env/steps"]) == 8 * 20
    lineages = read_csv(reference / "lineages.csv")
    ids = [int(r["id"]) for r in lineages]
    assert len(ids) == len(set(ids))
    assert sum(r["death"] == "" for r in lineages) == 8  # the survivors
    assert (reference / "best" / "index.json").is_file()


@pytest.mark.parametrize("workers", [1, 2])
def test_process_backend_matches_serial_for_any_worker_count(reference, tmp_path, workers):
    out = tmp_path / "run"
    start_run(tiny("pool.backend='process'", f"pool.workers={workers}"), out, progress=False)
    assert_same_run(reference, out)


def test_ten_generations_equal_five_plus_resumed_five(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    start_run(tiny("run.generations=10", "run.checkpoint_every=5"), straight, progress=False)
    start_run(tiny("run.generations=5", "run.checkpoint_every=5"), resumed, progress=False)
    resume_run(resumed, generations=10, progress=False)
    assert_same_run(straight, resumed)


def test_resume_from_an_older_checkpoint_after_a_torn_csv_line(reference, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    with (out / "metrics.csv").open("a") as handle:
        handle.write("4,2,0.5,-1")  # a row cut short by a crash mid-write
    resume_run(out, progress=False, checkpoint=out / "checkpoints" / "gen_000002.json")
    assert_same_run(reference, out)


def test_resume_refuses_what_is_not_a_run_directory(reference, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    before = tree_digest(out)
    with pytest.raises(UserError, match="not a run directory"):
        resume_run(out / "checkpoints", generations=6, progress=False)
    with pytest.raises(UserError, match="is not in"):
        resume_run(out, checkpoint=reference / "checkpoints" / "gen_000002.json")
    with pytest.raises(ConfigError, match="below the 4 generations"):
        resume_run(out, generations=2, progress=False)
    assert tree_digest(out) == before


def test_resume_after_ctrl_c_is_bit_identical(reference, tmp_path, monkeypatch):
    from pbml_control.running import callbacks

    calls = {"n": 0}
    original = callbacks.MetricsLog.on_generation

    def interrupt_in_generation_three(self, exp, event):
        original(self, exp, event)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.MetricsLog, "on_generation", interrupt_in_generation_three)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        start_run(tiny("run.checkpoint_every=0"), out, progress=False)
    monkeypatch.undo()
    names = [p.name for p in list_checkpoints(out / "checkpoints")]
    assert names == ["gen_000000.json", "gen_000002.json"]  # start, and the Ctrl-C save
    resume_run(out, progress=False)
    assert_same_run(reference, out)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("damage", ["truncate", "flip", "json", "rng"])
def test_corrupt_checkpoint_is_refused_and_nothing_changes(reference, tmp_path, damage):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    latest = list_checkpoints(out / "checkpoints")[-1]
    npz = latest.with_suffix(".npz")
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "flip":
        blob = bytearray(npz.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        npz.write_bytes(bytes(blob))
    elif damage == "json":
        latest.write_text(latest.read_text()[:40])
    else:
        meta = json.loads(latest.read_text())
        meta["rng"]["bit_generator"] = "random"
        latest.write_text(json.dumps(meta))
    before = tree_digest(out)
    with pytest.raises(CheckpointError, match=latest.stem):
        resume_run(out, generations=6, progress=False)
    assert tree_digest(out) == before


def _edit_json(path: Path, key: str, value, redigest: bool) -> None:
    from pbml_control.running.checkpoint import json_digest

    meta = json.loads(path.read_text())
    if value is _DROP:
        del meta[key]
    else:
        meta[key] = value
    if redigest:  # a consistent but malformed checkpoint: only the field checks can catch it
        meta["json_sha256"] = json_digest(meta)
    path.write_text(json.dumps(meta, indent=1))


_DROP = object()


def test_a_one_digit_change_anywhere_in_the_checkpoint_json_is_refused(reference, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    latest = list_checkpoints(out / "checkpoints")[-1]
    original = latest.read_text()
    meta = json.loads(original)
    state = meta["rng"]["state"]["state"]
    edits = {"rng": {**meta["rng"], "state": {**meta["rng"]["state"], "state": state + 1}},
             "env_steps": meta["env_steps"] + 1, "generation": meta["generation"] - 1,
             "config": meta["config"].replace("size = 8", "size = 9")}  # fmt: skip
    before = tree_digest(out)
    for key, value in edits.items():
        _edit_json(latest, key, value, redigest=False)
        with pytest.raises(CheckpointError, match="does not match its recorded SHA-256"):
            resume_run(out, generations=6, progress=False)
        latest.write_text(original)
    assert tree_digest(out) == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("generation", "abc", "field 'generation' should be an integer"),
        ("generation", _DROP, "lacks the field 'generation'"),
        ("config", 123, "field 'config' should be a string"),
        ("config", "not = [toml", "holds no valid config"),
        ("rng", [], "field 'rng' should be a table"),
        ("env_steps", -5, "field 'env_steps' is negative"),
    ],
)
def test_malformed_checkpoint_fields_are_refused_in_one_line(reference, tmp_path, key, value,
                                                             message):  # fmt: skip
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    latest = list_checkpoints(out / "checkpoints")[-1]
    _edit_json(latest, key, value, redigest=True)
    before = tree_digest(out)
    with pytest.raises(CheckpointError, match=message):
        resume_run(out, generations=6, progress=False)
    assert tree_digest(out) == before


def test_existing_run_is_not_overwritten_unless_asked(reference, tmp_path):
    with pytest.raises(UserError, match="--overwrite"):
        start_run(tiny(), reference, progress=False)
    start_run(tiny("run.generations=1"), tmp_path / "missing" / "run", progress=False)
    assert (tmp_path / "missing" / "run" / "metrics.csv").is_file()  # missing parents: created
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="part of that path is a file"):
        start_run(tiny(), tmp_path / "file" / "run", progress=False)


def test_overwrite_removes_only_run_directories_this_tool_created(tmp_path):
    mine = tmp_path / "mine"
    start_run(tiny("run.generations=1"), mine, progress=False)
    start_run(tiny("run.generations=2"), mine, overwrite=True, progress=False)
    assert len(read_csv(mine / "metrics.csv")) == 2
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "config.toml").write_text("precious = true\n")
    with pytest.raises(UserError, match="not created by `pbml train`"):
        start_run(tiny(), theirs, overwrite=True, progress=False)
    assert (theirs / "config.toml").read_text() == "precious = true\n"


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "..", ""])
def test_run_name_must_be_a_plain_name(name):
    with pytest.raises(ConfigError, match="run.name must be a plain name"):
        tiny(f"run.name='{name}'")


def test_train_cli_creates_the_default_runs_folder(tmp_path, monkeypatch, capsys):
    from pbml_control.cli import main

    monkeypatch.chdir(tmp_path)
    sets = [a for t in TINY + ["run.generations=1", "run.name='tiny'"] for a in ("--set", t)]
    assert main(["train", str(CONFIGS / "quickstart.toml"), *sets, "--quiet"]) == 0
    assert (tmp_path / "runs" / "tiny" / "metrics.csv").is_file()
    assert "plots:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("goals.schedule='list'", "goals.goals must list"),
        ("goals.goals=[[1.0], [999.0]]", r"goals.goals\[1\].*not a valid goal"),
        ("task.id='CartPole-v1'", "Box actions"),
        ("task.id='pbml/NoSuchTask-v0'", "task.id"),
        ("task.id='HalfCheetah-v5'", "takes no goal"),
    ],
)
def test_bad_task_or_goals_are_refused_before_the_run_directory_exists(tmp_path, override, message):
    listed = "goals.goals=" in override or "HalfCheetah-v5" in override
    extra = [override, "goals.schedule='list'", "goals.goals=[[1.0]]"] if listed else [override]
    extra = extra[:2] if "goals.goals=" in override else extra
    with pytest.raises(ConfigError, match=message):
        start_run(tiny(*extra), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_naming_a_module_task_imports_nothing(reference, tmp_path, monkeypatch):
    import shutil
    import sys

    (tmp_path / "pbml_trap_module.py").write_text(
        "from pathlib import Path\nPath(__file__).with_suffix('.imported').write_text('x')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    latest = list_checkpoints(out / "checkpoints")[-1]
    config = json.loads(latest.read_text())["config"]
    trap = config.replace('id = "pbml/HalfCheetahVel-v0"', 'id = "pbml_trap_module:Trap-v0"')
    assert trap != config
    _edit_json(latest, "config", trap, redigest=True)
    with pytest.raises(CheckpointError, match="would import the module 'pbml_trap_module'"):
        resume_run(out, generations=6, progress=False)
    assert "pbml_trap_module" not in sys.modules
    assert not (tmp_path / "pbml_trap_module.imported").exists()
