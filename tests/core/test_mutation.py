import pkgutil
import subprocess
import sys

import numpy as np

import pbml_control
from pbml_control.evolution.genome import ModuleLayout
from pbml_control.evolution.mutation import crossover, mutate, self_adapt
from pbml_control.evolution.selection.config import MutationConfig

LAYOUT = ModuleLayout(names=("frozen", "free"), sizes=(4, 3))
CFG = MutationConfig()


def parents(k: int = 50):
    rng = np.random.default_rng(1)
    params = rng.standard_normal((k, 7)).astype(np.float32)
    log_sigma = np.full((k, 2), np.log(3.0), dtype=np.float32)
    gate_logit = np.tile(np.array([-np.inf, np.inf], dtype=np.float32), (k, 1))
    return params, log_sigma, gate_logit, *no_directions(k)


def no_directions(k: int):
    return np.zeros((k, 0, 7), np.float32), np.zeros((k, 2, 0), np.float32), np.zeros((k, 0))


def test_gate_zero_leaves_module_bit_for_bit_unchanged():
    genes = parents()
    params = genes[0]
    child, _, child_gates, *_ = mutate(
        genes, LAYOUT, CFG, np.random.default_rng(2), sigma_scale=None
    )
    frozen, free = LAYOUT.slices
    assert child[:, frozen].tobytes() == params[:, frozen].tobytes()
    assert (child[:, free] != params[:, free]).all()
    assert np.isneginf(child_gates[:, 0]).all() and np.isposinf(child_gates[:, 1]).all()


def test_mutation_step_has_the_parent_radius():
    genes = parents(4000)
    params = genes[0]
    child = mutate(genes, LAYOUT, CFG, np.random.default_rng(3))[0]
    step = child[:, 4:] - params[:, 4:]
    assert abs(step.std() - 3.0) < 0.1


def test_sigma_scale_amplifies_only_this_mutation():
    genes = parents(4000)
    params = genes[0]
    rng = np.random.default_rng(3)
    child, new_ls, *_ = mutate(genes, LAYOUT, CFG, rng, np.full(4000, 2.0))
    assert abs((child[:, 4:] - params[:, 4:]).std() - 6.0) < 0.2
    assert abs(np.exp(new_ls).mean() / 3.0 - 1.0) < 0.05


def test_self_adaptation_respects_bounds():
    cfg = MutationConfig(meta_rate=5.0, gate_meta_rate=50.0, sigma_min=0.01, sigma_max=1.0)
    ls = np.zeros((1000, 2), np.float32)
    gl = np.zeros((1000, 2), np.float32)
    new_ls, new_gl = self_adapt(ls, gl, cfg, np.random.default_rng(0))
    assert new_ls.min() >= np.log(0.01) - 1e-6 and new_ls.max() <= 1e-6
    assert np.abs(new_gl).max() <= cfg.gate_logit_bound


def test_same_generator_state_gives_same_children():
    args = (parents(), LAYOUT, CFG)
    a = mutate(*args, np.random.default_rng(7))
    b = mutate(*args, np.random.default_rng(7))
    for x, y in zip(a, b, strict=True):
        assert x.tobytes() == y.tobytes()


def test_crossover_takes_whole_modules():
    a = (np.zeros((200, 7), np.float32), np.zeros((200, 2)), np.zeros((200, 2)),
         np.zeros((200, 1, 7), np.float32), np.zeros((200, 2, 1), np.float32),
         np.zeros((200, 7), np.float32))  # fmt: skip
    b = tuple(np.ones_like(x) for x in a)
    params, ls, _, dirs, scales, path = crossover(a, b, LAYOUT, np.random.default_rng(0))
    for m, sl in enumerate(LAYOUT.slices):
        assert (params[:, sl] == ls[:, m : m + 1]).all()
        assert (dirs[:, 0, sl] == ls[:, m : m + 1]).all()  # directions go with their module
        assert (scales[:, m, 0] == ls[:, m]).all() and (path[:, sl] == ls[:, m : m + 1]).all()
    assert 0 < ls.mean() < 1


#: Every module of the package; `__main__` modules are entry points (importing one runs the CLI).
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(pbml_control.__path__, "pbml_control.")
    if info.name.rpartition(".")[2] != "__main__"
)


def test_module_list_covers_the_cycle_that_once_broke():
    assert {
        "pbml_control.evolution.mutation",
        "pbml_control.evolution.genome",
        "pbml_control.evolution.selection",
    } <= set(MODULES)


#: Imports each module named on its command line first, with every project module forgotten
#: before it (third-party ones stay loaded: they cannot form a cycle with ours), and prints the
#: modules that failed, with their errors.
IMPORT_EACH_FIRST = """
import importlib, sys, traceback
ours = ("pbml_control", "pbml_envs", "pbml_policies")
failed = []
for module in sys.argv[1:]:
    for name in [m for m in sys.modules if m.split(".")[0] in ours]:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    except Exception:
        failed.append(module + ":\\n" + traceback.format_exc())
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_on_its_own():
    """Each module imported first, before any other project module: an import cycle only shows
    when a module is imported first (mutation -> selection -> selection.base -> mutation once
    failed this way). One interpreter for all 107 modules, the project's modules forgotten
    between them, instead of 107 interpreters (2 minutes of the suite)."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH_FIRST, *MODULES],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def test_the_import_check_finds_a_cycle(tmp_path):
    """The check above is not blind: a two-module cycle imported first fails it."""
    package = tmp_path / "pbml_control_cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pbml_control_cycle_probe.b import B\nA = 1\n")
    (package / "b.py").write_text("from pbml_control_cycle_probe.a import A\nB = 2\n")
    probe = IMPORT_EACH_FIRST.replace(
        'ours = ("pbml_control"', 'ours = ("pbml_control_cycle_probe", "pbml_control"'
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "pbml_control_cycle_probe.a"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1 and "pbml_control_cycle_probe.a" in done.stdout
