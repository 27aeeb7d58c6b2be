"""Documentation points only at files that exist in this repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP = (
    "configs",
    "studies",
    "benchmarks",
    "docs",
    "envs",
    "policies",
    "pbml_control",
    "tests",
    "examples",
)


def tracked(*suffixes: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / p for p in out.stdout.splitlines() if p.endswith(suffixes)]


def test_markdown_links_point_at_files_in_the_repository():
    broken = []
    for doc in tracked(".md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            path = (doc.parent / target).resolve()
            if not path.exists() or REPO not in path.parents:
                broken.append(f"{doc.relative_to(REPO)} -> {target}")
    assert not broken


def test_paths_named_in_the_readme_and_docs_exist():
    tops = "|".join(TOP)
    pattern = re.compile(rf"`((?:{tops})/[\w./-]+\.(?:toml|py|md|png))`")
    missing = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for path in pattern.findall(doc.read_text()):
            if "*" not in path and "{" not in path and not (REPO / path).exists():
                missing.append(f"{doc.relative_to(REPO)}: {path}")
    assert not missing


def test_nothing_refers_to_files_outside_the_repository():
    outside = re.compile(r"\.\./shared|\bDESIGN\.md\b|\bSTYLE\.md\b")
    found = [
        str(p.relative_to(REPO))
        for p in tracked(".py", ".md", ".toml", ".txt", ".cfg")
        if p != Path(__file__).resolve() and outside.search(p.read_text(errors="replace"))
    ]
    assert not found
