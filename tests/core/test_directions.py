"""Inherited mutation directions: k = 0 is the old mutation bit for bit, the rules keep
directions orthonormal in their modules, frozen directions never change, runs with directions
checkpoint, resume after SIGKILL and write best/ files, and the subspace control learns."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest
from pbml_envs.toy.subspace import SubspaceWorld

from pbml_control.errors import ConfigError
from pbml_control.evolution import directions as dirs_mod
from pbml_control.evolution.founders import with_initial_mutation
from pbml_control.evolution.genome import ModuleLayout, Population, sigmoid
from pbml_control.evolution.mutation import expand_modules, mutate, self_adapt
from pbml_control.evolution.selection import MutationConfig, SelectionConfig, make_strategy
from pbml_control.running.config import load_config
from pbml_control.running.run import resume_run, start_run
from tests.core.test_trainer import TINY, assert_same_run
from tests.helpers.signals import default_sigint

LAYOUT = ModuleLayout(("a", "b"), (6, 5))


def genes(n: int, k: int, rng: np.random.Generator, cfg: MutationConfig):
    params = rng.standard_normal((n, 11)).astype(np.float32)
    log_sigma = np.full((n, 2), np.log(0.1), np.float32)
    gate_logit = np.zeros((n, 2), np.float32)
    if not k:
        return (
            params,
            log_sigma,
            gate_logit,
            np.zeros((n, 0, 11), np.float32),
            np.zeros((n, 2, 0), np.float32),
            np.zeros((n, 0), np.float32),
        )
    d, s = dirs_mod.initial_directions(n, LAYOUT, cfg, rng)
    return params, log_sigma, gate_logit, d, s, np.zeros((n, 11), np.float32)


def test_without_directions_mutation_draws_and_returns_what_it_always_did():
    cfg = MutationConfig()
    g = genes(20, 0, np.random.default_rng(0), cfg)
    rng_new, rng_old = np.random.default_rng(5), np.random.default_rng(5)
    child, ls, gl, d, s, p = mutate(g, LAYOUT, cfg, rng_new)
    # The version before directions, written out.
    fires = rng_old.random((20, 2)) < sigmoid(g[2])
    noise = rng_old.standard_normal(g[0].shape)
    step = expand_modules(np.exp(g[1].astype(np.float64)), LAYOUT) * noise
    old = np.where(expand_modules(fires, LAYOUT), g[0] + step, g[0]).astype(np.float32)
    old_ls, old_gl = self_adapt(g[1], g[2], cfg, rng_old)
    assert child.tobytes() == old.tobytes() and ls.tobytes() == old_ls.tobytes()
    assert gl.tobytes() == old_gl.tobytes()
    assert rng_new.bit_generator.state == rng_old.bit_generator.state
    assert d.shape == (20, 0, 11) and s.shape == (20, 2, 0) and p.shape == (20, 0)


def test_populations_without_directions_save_the_arrays_they_always_saved():
    cfg = SelectionConfig(size=4)
    pop = make_strategy("pbml", cfg, LAYOUT).init(
        np.zeros(11, np.float32), np.random.default_rng(0)
    )
    arrays = pop.to_arrays()
    assert not {"dirs", "dir_log_scale", "dir_path"} & set(arrays)
    again = Population.from_arrays(arrays)
    assert again.num_directions == 0 and again.dirs.shape == (4, 0, 11)


@pytest.mark.parametrize("rule", ["cumulative", "path", "mutate"])
def test_rules_keep_directions_orthonormal_inside_their_modules(rule):
    cfg = MutationConfig(directions=2, direction_rule=rule, direction_rate=0.3,
                         direction_modules=["a"])  # fmt: skip
    rng = np.random.default_rng(1)
    g = genes(50, 2, rng, cfg)
    for _ in range(20):
        g = mutate(g, LAYOUT, cfg, rng)
    d = g[3]
    a, b = LAYOUT.slices
    gram = np.einsum("nid,njd->nij", d[:, :, a].astype(np.float64), d[:, :, a])
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(2), gram.shape), atol=1e-5)
    assert not d[:, :, b].any()  # module b carries no directions
    if rule != "mutate":  # learned rules moved the directions of modules that mutated
        assert not np.array_equal(d, genes(50, 2, np.random.default_rng(1), cfg)[3])


def test_a_clone_keeps_its_directions_and_path_bit_for_bit():
    cfg = MutationConfig(directions=2, init_gate=0.0)
    g = genes(10, 2, np.random.default_rng(2), cfg)
    g = (*g[:2], np.full((10, 2), -np.inf, np.float32), *g[3:])  # gates closed: no module fires
    child = mutate(g, LAYOUT, cfg, np.random.default_rng(3))
    for before, after in zip(g[:1] + g[3:4] + g[5:], child[:1] + child[3:4] + child[5:],
                             strict=True):  # fmt: skip
        assert before.tobytes() == after.tobytes()


def test_the_direction_step_has_the_direction_scale():
    cfg = MutationConfig(directions=1, init_gate=1.0, sigma_min=1e-8)
    rng = np.random.default_rng(4)
    g = genes(20_000, 1, rng, cfg)
    g = (g[0], np.full((20_000, 2), np.log(1e-7), np.float32), np.full((20_000, 2), 30.0,
         np.float32), g[3], np.full((20_000, 2, 1), np.log(0.5), np.float32), g[5])  # fmt: skip
    child = mutate(g, LAYOUT, cfg, rng)[0]
    a = LAYOUT.slices[0]
    along = np.sum((child[:, a] - g[0][:, a]) * g[3][:, 0, a], axis=1)
    assert abs(along.std() - 0.5) < 0.02


@pytest.mark.parametrize("frozen", ["directions_frozen", "frozen"])
def test_frozen_directions_never_change(frozen):
    cfg = SelectionConfig(
        strategy="pbml_paper", size=16, mating_rate=0.3,
        mutation=MutationConfig(directions=2, **{frozen: True}),
    )  # fmt: skip
    strategy = make_strategy(cfg.strategy, cfg, LAYOUT)
    rng = np.random.default_rng(6)
    pop = strategy.init(np.zeros(11, np.float32), rng)
    founders = {int(i): pop.dirs[j].tobytes() for j, i in enumerate(pop.ids)}
    scales = pop.dir_log_scale.copy()
    for _ in range(30):
        pop, _ = strategy.tell(pop, rng.standard_normal(pop.size), rng)
    # Every living genome's directions are a founder's, byte for byte (mating mixes whole
    # modules, so check module by module against the founders').
    for row in pop.dirs:
        for part in LAYOUT.slices:
            assert any(row[:, part].tobytes() == np.frombuffer(f, np.float32).reshape(2, 11)[
                :, part].tobytes() for f in founders.values())  # fmt: skip
    moved = not np.allclose(pop.dir_log_scale.mean(), scales.mean())
    assert moved == (frozen == "directions_frozen")  # scales adapt unless everything is frozen


def test_direction_settings_that_do_not_fit_the_policy_name_the_key():
    with pytest.raises(ConfigError, match="exceeds the 5 weights of module 'b'"):
        make_strategy("pbml", SelectionConfig(mutation=MutationConfig(directions=6)), LAYOUT)
    with pytest.raises(ConfigError, match=r"direction_modules names no module.*\['c'\]"):
        cfg = SelectionConfig(mutation=MutationConfig(directions=1, direction_modules=["c"]))
        make_strategy("pbml", cfg, LAYOUT)
    with pytest.raises(ConfigError, match="direction_rule must be one of"):
        MutationConfig(directions=1, direction_rule="spin").validate()


def test_the_swap_resets_directions_to_the_initial_function():
    cfg = SelectionConfig(size=8, mutation=MutationConfig(directions=2))
    strategy = make_strategy("pbml", cfg, LAYOUT)
    rng = np.random.default_rng(7)
    pop = strategy.init(np.zeros(11, np.float32), rng)
    for _ in range(5):
        pop, _ = strategy.tell(pop, rng.standard_normal(pop.size), rng)
    swapped = with_initial_mutation(pop, cfg, LAYOUT)
    assert np.array_equal(swapped.params, pop.params)
    assert not np.array_equal(swapped.dirs, pop.dirs) and not swapped.dir_path.any()
    np.testing.assert_array_equal(
        swapped.dir_log_scale, dirs_mod.initial_scales(8, LAYOUT, cfg.mutation)
    )
    again = with_initial_mutation(pop, cfg, LAYOUT)
    assert again.dirs.tobytes() == swapped.dirs.tobytes()  # repeatable


# --- whole runs -----------------------------------------------------------------------------

DIRECTED = [*TINY, "population.mutation.directions=2", "population.strategy='pbml_paper'",
            "population.mating_rate=0.2"]  # fmt: skip


def test_a_directions_run_checkpoints_logs_and_writes_best_files(tmp_path):
    import csv

    out = tmp_path / "run"
    start_run(load_config(None, DIRECTED), out, progress=False)
    header = next(csv.reader((out / "metrics.csv").open()))
    assert "mut/dir_scale/hidden0" in header and "pop/dir_alignment/output" in header
    assert "dir_scale/hidden0" in next(csv.reader((out / "lineages.csv").open()))
    with np.load(next((out / "best").glob("lineage_*.npz"))) as saved:
        assert saved["dirs"].shape[0] == 2 and saved["dir_log_scale"].shape == (2, 2)


SLOW = [o for o in DIRECTED if not o.startswith(("run.generations", "run.checkpoint_every"))]
SETTINGS = [*SLOW, "run.generations=200", "run.checkpoint_every=3", "run.plots=false"]


@pytest.mark.slow
def test_a_directions_run_resumes_bit_identically_after_sigkill(tmp_path):
    from tests.core.test_signals import wait_for_rows

    straight = tmp_path / "straight"
    start_run(load_config(None, [*SETTINGS[:-2], "run.generations=30", "run.plots=false"]),
              straight, progress=False)  # fmt: skip
    out = tmp_path / "killed"
    (tmp_path / "empty.toml").write_text("")
    args = [sys.executable, "-m", "pbml_control", "train", str(tmp_path / "empty.toml"),
            "--quiet", "--out", str(out)] + [a for o in SETTINGS for a in ("--set", o)]  # fmt: skip
    proc = subprocess.Popen(args, preexec_fn=default_sigint, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for_rows(out, 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    resume_run(out, generations=30, progress=False)
    assert_same_run(straight, out)


# --- the subspace control -------------------------------------------------------------------


def test_subspace_world_goals_lie_in_its_subspace():
    world = SubspaceWorld(seed=3)
    basis = world.basis()
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-12)
    for segment in range(5):
        g = world.goal(segment)
        assert np.linalg.norm(g) == pytest.approx(1.0)
        np.testing.assert_allclose(basis @ (basis.T @ g), g, atol=1e-12)
    assert world.in_subspace(basis.T).tolist() == pytest.approx([1.0, 1.0])
    random = np.random.default_rng(0).standard_normal((2000, 32))
    assert abs(np.sqrt((world.in_subspace(random) ** 2).mean()) - 0.25) < 0.01  # sqrt(2/32)
    assert world.fitness(world.goal(0)[None], 0)[0] == pytest.approx(
        0.1 * world.goal(0) @ world.tilt(0) / np.sqrt(32)
    )


@pytest.mark.slow
def test_learned_directions_align_with_the_subspace_and_random_ones_do_not(tmp_path):
    from pbml_control.experiments.subspace import SubspaceSettings, run_one, tracking

    settings = SubspaceSettings(out=tmp_path, seeds=1, generations=1500)
    runs = {arm: run_one(arm, 0, settings) for arm in ("cumulative", "frozen", "oracle")}
    assert runs["cumulative"][-1]["alignment"] > 0.8
    assert runs["frozen"][-1]["alignment"] < 0.5
    assert runs["oracle"][-1]["alignment"] == pytest.approx(1.0)
    track = {arm: tracking([rows])[0] for arm, rows in runs.items()}
    assert track["oracle"] > track["cumulative"] > track["frozen"]


def test_subspace_experiment_cli_writes_its_summary(tmp_path, capsys):
    from pbml_control.cli import main

    out = tmp_path / "sub"
    assert main(["experiment", "subspace", "--seeds", "2", "--generations", "60", "--out",
                 str(out)]) == 0  # fmt: skip
    summary = (out / "summary.md").read_text()
    assert "| oracle |" in summary and "cumulative - frozen" in summary
    assert (out / "subspace.png").is_file() and len(list((out / "runs").glob("*.csv"))) == 12


# --- the alignment diagnostic ---------------------------------------------------------------


def test_alignment_reads_a_known_gradient():
    from pbml_control.analysis.directions import _alignment, _random_units

    rng = np.random.default_rng(0)
    g = rng.standard_normal(50)
    own = np.stack([g / np.linalg.norm(g), _random_units(rng, 1, 50)[0]])
    probes = np.concatenate([own, _random_units(rng, 2000, 50)])
    row = _alignment("m", 50, probes @ g, 2)
    assert row.cosines[0] == pytest.approx(1.0, abs=0.05)
    assert row.cosines[1] < 0.5
    assert row.gradient_norm == pytest.approx(np.linalg.norm(g), rel=0.1)
    assert row.random_cosine == pytest.approx(np.sqrt(2 / (np.pi * 50)), rel=0.15)


def test_analyse_directions_cli_on_a_directions_run(tmp_path, capsys):
    from pbml_control.cli import main

    out = tmp_path / "run"
    start_run(load_config(None, DIRECTED), out, progress=False, summary=False)
    assert main(["analyse", "directions", str(out), "--episodes", "1", "--random", "4"]) == 0
    text = capsys.readouterr().out
    assert "gradient of: mean forward velocity (m/s)" in text and "| hidden0 |" in text
    plain = tmp_path / "plain"
    start_run(load_config(None, TINY), plain, progress=False, summary=False)
    assert main(["analyse", "directions", str(plain)]) == 2
    assert "carry no mutation directions" in capsys.readouterr().err
