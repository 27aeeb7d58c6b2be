"""Packaging: import names that belong to this project, a complete package list, no import cycles.

The repository keeps the folders `envs/` and `policies/`; they install as `pbml_envs` and
`pbml_policies`, so a user's project with its own `envs/` folder still imports and runs us.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTS = {"pbml_control": REPO / "pbml_control", "pbml_envs": REPO / "envs"}
ROOTS["pbml_policies"] = REPO / "policies"


def module_files() -> dict[str, Path]:
    """Every module of the three packages by its installed dotted name."""
    modules = {}
    for name, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = [name, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `module` imports anywhere in its file (function-level imports too).

    `from pkg import sub` of a submodule depends on `sub`, not on `pkg`'s other contents.
    """
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
            found |= subs
            if base in modules and len(subs) < len(node.names):
                found.add(base)
    found.discard(module)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_project_modules_import_no_cycle():
    modules = module_files()
    graph = {m: imports_of(m, path, modules) for m, path in modules.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_tasks_and_policies_never_import_the_core_package():
    modules = module_files()
    for module, path in modules.items():
        if module.startswith(("pbml_envs", "pbml_policies")):
            core = {m for m in imports_of(module, path, modules) if m.startswith("pbml_control")}
            assert not core, f"{module} imports {core}"


def test_pyproject_lists_every_package_folder():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {m for m, path in module_files().items() if path.name == "__init__.py"}
    configs = {"pbml_control.configs", "pbml_control.configs.baselines"}  # data: configs/
    assert set(setuptools["packages"]) == packages | configs
    assert setuptools["package-dir"] == {
        "pbml_envs": "envs", "pbml_policies": "policies", "pbml_control.configs": "configs"
    }  # fmt: skip


@pytest.mark.slow
def test_the_wheel_installs_no_generic_top_level_name(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        + ["-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pbml_control-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"pbml_control", "pbml_envs", "pbml_policies"}
    assert "pbml_envs/locomotion/ant.py" in names and "pbml_policies/dense.py" in names
    assert "pbml_control/configs/quickstart.toml" in names
    assert "pbml_control/configs/baselines/quickstart_greedy.toml" in names
    # Installed from the wheel alone, in a folder with no checkout: configs by name.
    target, work = tmp_path / "site", tmp_path / "empty"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)  # fmt: skip
    import sysconfig

    # -S: no site, so no editable install of this checkout; the dependencies come from here.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sorted(deps)])}
    cli = [sys.executable, "-S", "-c", "import sys, pbml_control.cli as c; sys.exit(c.main())"]
    shown = subprocess.run([*cli, "config", "show", "quickstart"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 0 and "[population]" in shown.stdout, shown.stderr[-2000:]
    trained = subprocess.run(
        [*cli, "train", "quickstart", "--set", "run.generations=1", "--set",
         "pool.backend='serial'", "--quiet"], cwd=work, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (work / "runs" / "quickstart" / "checkpoints").is_dir()
    found = subprocess.run([*cli, "config", "list"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=120).stdout  # fmt: skip
    assert str(target) in subprocess.run(
        [sys.executable, "-S", "-c", "import pbml_control; print(pbml_control.__file__)"],
        env=env, cwd=work,
        capture_output=True, text=True).stdout  # fmt: skip
    assert "quickstart" in found.split()


USER_PROJECT = """
import gymnasium, numpy as np
import envs, policies          # the user's own folders, not ours
assert envs.MINE and policies.MINE
import pbml_envs
env = gymnasium.make("pbml_envs:pbml/HalfCheetahVel-v0")
env.reset(seed=0)
from pbml_control.running.config import load_config
from pbml_control.running.run import start_run
cfg = load_config(None, ["population.size=4", "run.generations=1", "task.episode_steps=20",
    "pool.backend=process", "pool.workers=2", "pool.chunk_size=2", "run.plots=false"])
pop = start_run(cfg, "run", progress=False)
print("ok", len(pop.population.params))
"""


def test_a_project_with_its_own_envs_and_policies_folders_still_uses_us(tmp_path):
    for folder in ("envs", "policies"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("MINE = True\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", USER_PROJECT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok 4" in proc.stdout
