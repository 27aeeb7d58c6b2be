"""The powered study's probe features: f@k, per-seed stratified goals, probes at named rollout
budgets from kept checkpoints, the swap contrast, hypothesis families and growth, per-arm seeds
and stages, `--status` without outcomes, one writer per run, and fingerprints that survive keys
added later."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pbml_envs
import pytest

from pbml_control.cli import main
from pbml_control.errors import ConfigError, UserError
from pbml_control.evolution.founders import with_initial_mutation
from pbml_control.running.config import Config
from pbml_control.running.config_io import flatten as _flatten
from pbml_control.running.lock import job_lock
from pbml_control.running.run_files import read_csv
from pbml_control.study import load_study, runner
from pbml_control.study.design import LATER_KEYS
from pbml_control.study.jobs import RESULT, TrainKind, lock_path, run_dir_of
from pbml_control.study.probe import goal_rng, probe_goal_seeds, scores
from pbml_control.study.probe_spec import FINAL, ProbeSpec, measure_score
from pbml_control.study.report import evaluate_hypotheses, run_measure, write_report
from pbml_control.study.spec import Hypothesis
from pbml_control.study.status import study_status
from tests.core.test_study import run as study_run
from tests.core.test_study import write

ROOT = Path(__file__).parents[2]

MOVING = f"""
[study]
name = "tiny_moving_2"
kind = "moving"
base = "{ROOT / "configs" / "moving_target.toml"}"
seeds = [5, 6, 7]
set = ["run.generations=0", "run.budget_rollouts=640", "population.size=16", "goals.every=5"]

[arms.evolved]
set = []
[arms.frozen]
set = ["population.mutation.frozen=true"]
[arms.truncation]
seeds = 2
stage = 1
set = ["population.strategy='truncation'"]

[probe]
goals = 4
goal_draw = "per_seed"
env_seeds = 1
generations = 3
at = [1, 3]
primary = 3
score = "f"
population = 16
swap = true

[[hypotheses]]
name = "H-swap"
text = "own mutation functions beat the initial one"
treatment = "evolved"
control = "evolved"
control_probe = "swap"
measure = "f@3"

[[hypotheses]]
name = "H1"
text = "evolved beats frozen"
treatment = "evolved"
control = "frozen"

[[hypotheses]]
name = "S-gain"
family = "secondary"
text = "evolved beats frozen on gain"
treatment = "evolved"
control = "frozen"
measure = "gain@3"

[[hypotheses]]
name = "S-truncation"
family = "secondary"
text = "evolved pbml beats truncation"
treatment = "evolved"
control = "truncation"
"""

TRAIN = f"""
[study]
name = "tiny_budgets"
base = "{ROOT / "configs" / "quickstart.toml"}"
seeds = 1
set = ["run.generations=0", "run.budget_rollouts=60", "run.checkpoint_every=2",
       "task.episode_steps=20", "goals.every=2", "population.size=8",
       "policy.kwargs={{hidden=[8]}}", "pool.chunk_size=4"]

[arms.evolved]
set = []
[arms.frozen]
set = ["population.mutation.frozen=true"]

[probe]
goals = 3
goal_draw = "per_seed"
env_seeds = 1
generations = 2
at = [2]
primary = 2
score = "f"
population = 8
budgets = [20, 40]
swap = true

[[hypotheses]]
name = "H1"
text = "evolved beats frozen"
treatment = "evolved"
control = "frozen"

[[hypotheses]]
name = "S-growth"
family = "secondary"
text = "the difference grows"
treatment = "evolved"
control = "frozen"
growth_from = "budget=20"
"""


def run(path: Path, out: Path, **kw):
    """`tests.core.test_study.run`, also returning the loaded study."""
    study = load_study(path)
    return study, study_run(path, out, **kw)


# --- scores -------------------------------------------------------------------------------


def test_f_at_k_is_the_curve_and_gain_is_normalised():
    curve = np.array([-10.0, -8.0, -9.0, -4.0])
    got = scores(curve, [1, 3], reference=0.0)
    assert got["f@1"] == -8.0 and got["f@3"] == -4.0
    assert got["gain@1"] == pytest.approx(0.2) and got["gain@3"] == pytest.approx(0.6)
    assert np.isnan(scores(curve, [5], 0.0)["f@5"])


def test_measures_name_their_score_and_old_results_without_f_keys_still_score():
    probe = ProbeSpec(generations=3, at=[1, 3], primary=3, score="f")
    study = type("S", (), {"probe": probe})()
    result = {"probes": [{"curve": [-10.0, -8.0, -9.0, -4.0]}, {"curve": [-2.0, -2.0, -1.0, -1.0]}]}
    assert run_measure(result, "probe", study) == pytest.approx((-4.0 - 1.0) / 2)
    assert run_measure(result, "f@1", study) == pytest.approx(-5.0)
    assert run_measure(result, "gain@3", study) == pytest.approx((0.6 + 0.5) / 2)
    probe.score = "gain"
    assert run_measure(result, "probe@1", study) == pytest.approx((0.2 + 0.0) / 2)


# --- goals --------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["pbml/HalfCheetahVel-v0", "pbml/AntDir-v0"])
def test_stratified_goals_cover_every_test_band_evenly(task_id):
    space = pbml_envs.task_spec(task_id).goal_space
    bands = space.bands
    for n in (3, 8, 11):
        goals = pbml_envs.sample_goals(
            task_id, np.random.default_rng(n), n, "test", stratified=True
        )
        assert space.is_test(goals).all()
        coordinate = goals if goals.ndim == 1 else np.arctan2(goals[:, 1], goals[:, 0])
        period = np.floor(np.mod(coordinate - bands.low, bands.high - bands.low) / bands.period)
        counts = np.bincount(period.astype(int), minlength=bands.n_periods)
        assert counts.max() - counts.min() <= 1, counts


def test_unstratified_draws_are_unchanged_by_the_new_option():
    a = pbml_envs.sample_goals("pbml/HalfCheetahVel-v0", np.random.default_rng(3), 5, "test")
    b = pbml_envs.sample_goals(
        "pbml/HalfCheetahVel-v0", np.random.default_rng(3), 5, "test", stratified=False
    )
    assert np.array_equal(a, b)


def test_per_seed_goals_and_env_seeds_are_per_seed_and_common_ones_are_not():
    per = ProbeSpec(goals=8, env_seeds=1, goal_draw="per_seed")
    draw = lambda p, s: pbml_envs.sample_goals(  # noqa: E731
        "pbml/HalfCheetahVel-v0", goal_rng(p, s), 8, "test", stratified=True
    )
    assert np.array_equal(draw(per, 3), draw(per, 3))
    assert not np.array_equal(draw(per, 3), draw(per, 4))
    seeds3, seeds4 = probe_goal_seeds(per, 3), probe_goal_seeds(per, 4)
    assert [k for k, _ in seeds3] == list(range(8))
    assert len({s for _, s in seeds3}) == 8 and seeds3 != seeds4
    assert all(0 <= s < 2**31 for _, s in seeds3)
    common = ProbeSpec(goals=3, env_seeds=2)
    assert probe_goal_seeds(common, 3) == probe_goal_seeds(common, 4) == [
        (0, 12345), (0, 12346), (1, 12345), (1, 12346), (2, 12345), (2, 12346)
    ]  # fmt: skip


def assert_hypotheses_recompute_from_csv(study, results, out: Path) -> None:
    """Every hypothesis measure of every run, in every probe set it is tested on, is the same
    number from results.csv alone as from the runs' results."""
    rows = read_csv(out / "results.csv")
    checked = 0
    for h in study.hypotheses:
        score, generation = measure_score(h.measure, study.probe)
        wanted = {(h.treatment, h.probe), (h.control, h.control_set)}
        if h.growth_from:
            wanted |= {(h.treatment, h.growth_from), (h.control, h.growth_from)}
        for (arm, seed), result in results.items():
            for a, probe_set in wanted:
                if a != arm:
                    continue
                mine = [r for r in rows if r["arm"] == arm and int(r["seed"]) == seed]
                if score.startswith("run:"):
                    from_csv = float(mine[0][score])
                elif generation is None:
                    from_csv = float(mine[0]["in_run_trend"])
                else:
                    values = [float(r[f"{score}@{generation}"]) for r in mine
                              if r["probe_set"] == probe_set]  # fmt: skip
                    assert values, (h.name, arm, seed, probe_set)
                    from_csv = float(np.nanmean(values))
                expected = run_measure(result, h.measure, study, probe_set)
                assert from_csv == pytest.approx(expected, rel=1e-12, nan_ok=True), h.name
                checked += 1
    assert checked and {r["probe_set"] for r in rows} >= {FINAL}


# --- a whole toy study --------------------------------------------------------------------


def test_toy_study_with_swap_families_and_arm_seeds(tmp_path):
    study, results = run(write(tmp_path, MOVING), tmp_path / "out", workers=1)
    assert study.jobs() == [
        ("evolved", 5), ("frozen", 5), ("evolved", 6), ("frozen", 6), ("evolved", 7),
        ("frozen", 7), ("truncation", 5), ("truncation", 6),
    ]  # fmt: skip
    assert set(results["evolved", 5]["probe_sets"]) == {"swap"}
    assert results["frozen", 5]["probe_sets"] == {}  # frozen: the swap would be the same
    goals = lambda arm, seed: [p["goal"] for p in results[arm, seed]["probes"]]  # noqa: E731
    assert goals("evolved", 5) == goals("frozen", 5) == goals("truncation", 5)
    assert goals("evolved", 5) != goals("evolved", 6)
    for p in results["evolved", 6]["probes"]:
        assert p["f@3"] == p["curve"][3]
    tested = {h.name: (r, p) for h, r, p in evaluate_hypotheses(study, results)}
    assert tested["S-truncation"][0].n == 2  # the seeds both arms ran
    for name in ("H-swap", "H1", "S-gain", "S-truncation"):
        assert tested[name][0].n in (2, 3)
    # Holm within each family: a family of two doubles its smaller p at most.
    assert tested["S-gain"][1] <= min(1.0, 2 * tested["S-gain"][0].p_value) + 1e-12
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Primary hypotheses" in report and "## Secondary hypotheses" in report
    assert "H-swap: evolved > evolved [swap]" in report and "power for d_z" in report
    assert "probe f@3" in report
    assert_hypotheses_recompute_from_csv(study, results, tmp_path / "out")


def test_swap_probe_is_the_final_probe_when_mutation_is_the_initial_one(tmp_path):
    from pbml_control.study.jobs import MovingKind

    study = load_study(write(tmp_path, MOVING))
    cfg = study.run_config("frozen", 5)
    pop, _ = MovingKind.train(cfg, tmp_path / "run")
    swapped, _ = MovingKind.probe_source("swap", cfg, tmp_path / "run", pop, None)
    assert np.array_equal(swapped.log_sigma, pop.log_sigma)  # frozen: still the initial one
    once = MovingKind.probe(cfg, study.probe, pop, None, 5)
    twice = MovingKind.probe(cfg, study.probe, swapped, None, 5)
    assert once == twice
    evolved_cfg = study.run_config("evolved", 5)
    evolved, _ = MovingKind.train(evolved_cfg, tmp_path / "run2")
    assert not np.array_equal(
        with_initial_mutation(evolved, evolved_cfg.population).log_sigma, evolved.log_sigma
    )


# --- a MuJoCo study with budget probes ----------------------------------------------------


@pytest.mark.slow
def test_budget_probes_start_from_the_state_where_the_budget_was_reached(tmp_path):
    from pbml_control.running.callbacks import kept_checkpoint
    from pbml_control.running.checkpoint import load_checkpoint, split_arrays
    from pbml_control.running.run import start_run

    study, results = run(write(tmp_path, TRAIN), tmp_path / "out", workers=1)
    run_dir = run_dir_of(tmp_path / "out", "evolved", 0)
    assert set(results["evolved", 0]["probe_sets"]) == {"budget=20", "budget=40", "swap"}
    assert set(results["frozen", 0]["probe_sets"]) == {"budget=20", "budget=40"}
    for budget in (20, 40):
        path = kept_checkpoint(run_dir, budget)
        arrays, meta = load_checkpoint(path)
        # A run trained with that budget stops exactly there, with the same population.
        cfg = study.run_config("evolved", 0)
        cfg.run.budget_rollouts, cfg.run.keep_at_rollouts = budget, []
        alone = tmp_path / f"alone_{budget}"
        start_run(cfg, alone, progress=False, summary=False)
        other, other_meta = load_checkpoint(alone)
        assert meta["rollouts"] == other_meta["rollouts"] >= budget
        for key in ("params", "log_sigma", "gate_logit", "ids"):
            assert np.array_equal(
                split_arrays(arrays, "pop")[key], split_arrays(other, "pop")[key]
            ), key
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Growth with training" in report and "| 60 (final) |" in report
    assert_hypotheses_recompute_from_csv(study, results, tmp_path / "out")


def test_a_run_without_its_kept_checkpoint_says_so(tmp_path):
    study = load_study(write(tmp_path, TRAIN))
    cfg = study.run_config("evolved", 0)
    with pytest.raises(ConfigError, match="kept no checkpoint at 20 rollouts"):
        TrainKind.probe_source("budget=20", cfg, tmp_path / "empty", None, None)


# --- design checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('control_probe = "swap"\n', 'control_probe = "swap"\nprobe = "swap"\n',
         "same arm and probe set"),
        ('control = "frozen"\n\n[[hypotheses]]\nname = "S-gain"',
         'control = "frozen"\ncontrol_probe = "swap"\n\n[[hypotheses]]\nname = "S-gain"',
         "'swap' is not a probe set of arm 'frozen'"),
        ('measure = "gain@3"', 'measure = "gain@4"', "measure 'gain@4'"),
        ('score = "f"', 'score = "best"', "probe.score must be one of"),
        ('goal_draw = "per_seed"', 'goal_draw = "each"', "probe.goal_draw must be one of"),
        ("goals = 4", "goals = 1000000000", "probe.goals must be >= 1 and <= 1,000"),
        ("seeds = 2\n", "seeds = 9\n", "arms.truncation.seeds must be 0"),
        ("seeds = 2\n", "seeds = [5, 99]\n", "not in it: \\[99\\]"),
        ('family = "secondary"\ntext = "evolved beats frozen on gain"',
         'family = "a b"\ntext = "evolved beats frozen on gain"', "family must be a plain word"),
    ],
)  # fmt: skip
def test_bad_probe_and_hypothesis_settings_name_the_problem(tmp_path, old, new, message):
    assert old in MOVING
    with pytest.raises(ConfigError, match=message):
        load_study(write(tmp_path, MOVING.replace(old, new, 1)))


def test_budgets_must_lie_inside_the_runs_budget(tmp_path):
    with pytest.raises(ConfigError, match="must lie below the arm's run.budget_rollouts"):
        load_study(write(tmp_path, TRAIN.replace("budgets = [20, 40]", "budgets = [20, 60]")))
    with pytest.raises(ConfigError, match="needs study.kind = 'train'"):
        load_study(write(tmp_path, MOVING.replace("swap = true", "swap = true\nbudgets = [10]")))


def test_hypothesis_margin_must_be_finite(tmp_path):
    text = MOVING.replace('measure = "gain@3"', 'measure = "gain@3"\nmargin = nan')
    with pytest.raises(ConfigError, match="margin must be a finite number"):
        load_study(write(tmp_path, text))


# --- status -------------------------------------------------------------------------------


def test_status_counts_runs_and_cost_and_shows_no_outcome(tmp_path, capsys):
    path = write(tmp_path, MOVING)
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--status"]) == 0
    text = capsys.readouterr().out
    assert "8 runs: 0 done, 0 running, 0 stopped part way, 8 not started" in text
    assert not out.exists()  # --status writes nothing
    study, results = run(path, out, workers=1)
    (run_dir_of(out, "truncation", 6) / RESULT).unlink()
    with job_lock(lock_path(out, "truncation", 6), "test"):
        text = study_status(study, out)
    assert "7 done, 1 running, 0 stopped part way, 0 not started" in text
    assert "6 (100%)" in text  # the running run's seed and progress
    text = study_status(study, out)
    assert "7 done, 0 running, 1 stopped part way" in text
    # Warnings of too few pairs are design facts (names, pair counts, 2^-n), made before runs.
    assert [w for w in text.splitlines() if w.startswith("warning: ")] == study_status(
        study, tmp_path / "nothing_run"
    ).splitlines()[-5:-1]
    text = "\n".join(w for w in text.splitlines() if not w.startswith("warning: "))
    outcomes = [f"{v:.2f}" for r in results.values() for p in r["probes"] for v in p["curve"]]
    outcomes += [f"{r['final_fitness_max']:.2f}" for r in results.values()]
    assert not [o for o in outcomes if o in text and o not in ("0.00", "-0.00")]
    assert "f@" not in text and "gain" not in text and "fitness" not in text


def test_status_sees_a_run_written_under_the_older_lock_name(tmp_path):
    """Study folders begun before the job lock was renamed (.NAME.job.lock) are written by a
    job that holds only its run directory's lock (.NAME.lock): --status still calls it running."""
    from pbml_control.running.lock import lock_beside

    study = load_study(write(tmp_path, MOVING))
    out = tmp_path / "out"
    with job_lock(lock_beside(run_dir_of(out, "evolved", 5)), "an older pbml study"):
        assert "0 done, 1 running, 0 stopped part way, 7 not started" in study_status(study, out)
    assert "0 done, 0 running, 0 stopped part way, 8 not started" in study_status(study, out)


def test_progress_lines_show_no_outcome(tmp_path):
    lines = []
    study = load_study(write(tmp_path, MOVING))
    runner.run_study(study, tmp_path / "out", workers=1, echo=lines.append)
    assert len(lines) == 9 and all("fitness" not in x and "@" not in x for x in lines[1:])
    assert "core-min" in lines[1]


# --- one writer per run -------------------------------------------------------------------


def test_a_second_writer_of_a_run_is_refused_naming_the_holder(tmp_path):
    import os

    study = load_study(write(tmp_path, MOVING))
    out = tmp_path / "out"
    runner.prepare_study_dir(out, study)
    with job_lock(lock_path(out, "evolved", 5), "evolved seed 5"):
        with pytest.raises(UserError, match=rf"PID {os.getpid()}"):
            runner.run_job(study, "evolved", 5, out)
    runner.run_job(study, "evolved", 5, out)  # free again once the holder let go


# --- fingerprints -------------------------------------------------------------------------


@pytest.mark.slow
def test_published_study_folders_resume_and_re_report_unchanged(tmp_path):
    for name in ("moving_target", "learning_to_learn"):
        folder = tmp_path / name
        shutil.copytree(ROOT / "docs" / "results" / name, folder)
        before = (folder / "report.md").read_text().splitlines()
        study = load_study(ROOT / "studies" / f"{name}.toml")
        assert study.fingerprint() in before[5]
        results = runner.run_study(study, folder, workers=1, echo=lambda line: None)
        write_report(study, folder, results, before[4].split("`")[1], "0 s")
        after = (folder / "report.md").read_text().splitlines()
        assert after[6:] == before[6:]


def test_a_key_added_later_at_its_old_value_leaves_the_fingerprint(tmp_path):
    study = load_study(write(tmp_path, MOVING.replace('score = "f"', 'score = "gain"')))
    fingerprint = study.fingerprint()
    study.arms["evolved"].run.tensorboard = False
    study.probe.budgets = []
    assert study.fingerprint() == fingerprint
    study.arms["evolved"].run.tensorboard = True
    assert study.fingerprint() != fingerprint


#: Every key a study design held when the first studies were published (commit dc218da). A
#: key added since must be in LATER_KEYS with the value that gives the old behaviour.
FIRST_PROBE = {"goals", "env_seeds", "generations", "at", "primary", "strategy", "population",
               "reference", "seed", "horizon"}  # fmt: skip
FIRST_HYPOTHESIS = {"name", "text", "treatment", "control", "measure", "margin"}


def test_every_key_added_since_the_first_studies_is_a_later_key():
    import tomllib

    first = json.loads((ROOT / "docs" / "results" / "moving_target" / "study.json").read_text())
    first_config = set(_flatten(tomllib.loads(next(iter(first["arms"].values())))))
    config = set(_flatten(tomllib.loads(__import__("tomli_w").dumps(
        __import__("pbml_control.running.config_io", fromlist=["plain_dict"]).plain_dict(Config())
    ))))  # fmt: skip
    assert config - first_config <= set(LATER_KEYS["config"]), config - first_config
    probe = {f.name for f in fields(ProbeSpec)}
    assert probe - FIRST_PROBE == set(LATER_KEYS["probe"])
    hypothesis = {f.name for f in fields(Hypothesis)}
    assert hypothesis - FIRST_HYPOTHESIS == set(LATER_KEYS["hypothesis"])
    for key, old in LATER_KEYS["probe"].items():
        assert getattr(ProbeSpec(), key) == old
    defaults = {f.name: f.default for f in fields(Hypothesis)}
    for key, old in LATER_KEYS["hypothesis"].items():
        assert defaults[key] == old


@pytest.mark.slow
def test_a_train_study_with_directions_measures_velocity_alignment(tmp_path):
    text = (
        TRAIN.replace(
            "[arms.evolved]\nset = []", '[arms.evolved]\nset = ["population.mutation.directions=1"]'
        )
        .replace(
            'set = ["population.mutation.frozen=true"]',
            'set = ["population.mutation.directions=1", '
            '"population.mutation.directions_frozen=true"]',
        )
        .replace("budgets = [20, 40]\n", "")
        .replace('growth_from = "budget=20"', "")
    )
    text = text.replace('measure = "f@2"', "")
    text += ('\n[[hypotheses]]\nname = "P2"\ntext = "aligned"\ntreatment = "evolved"\n'
             'control = "frozen"\nmeasure = "run:velocity_alignment"\n')  # fmt: skip
    study, results = run(write(tmp_path, text), tmp_path / "out", workers=1)
    for arm in ("evolved", "frozen"):
        metrics = results[arm, 0]["run_metrics"]
        assert 0 <= metrics["velocity_alignment"] <= 1 and "tracking" in metrics
        assert set(results[arm, 0]["probe_sets"]) == {"swap"}  # directions arms get the swap
    assert (
        "| P2: evolved > frozen | run:velocity_alignment | 1 |"
        in (tmp_path / "out" / "report.md").read_text()
    )
    assert_hypotheses_recompute_from_csv(study, results, tmp_path / "out")


def test_the_pre_registered_studies_load():
    for name in ("learning_to_learn_2", "subspace", "mutation_directions"):
        study = load_study(ROOT / "studies" / f"{name}.toml")
        assert study.hypotheses and study.jobs()
