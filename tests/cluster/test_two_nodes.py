"""A real two-node Ray cluster: the README's recipe ("Running on a Ray cluster"), run on two
network namespaces joined by a veth pair (see netns.py), with token authentication.

`pbml train` over the cluster gives the process backend's run bit for bit, and so does a run whose
worker node dies part way; `pbml study` spreads its runs over both nodes and gives the results of
local scheduling. Needs root (CI runs as root); skipped with the reason elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbml_control.running.run_files import read_csv
from tests.cluster.netns import PBML, RAY, Node, NotPermitted, make_link, remove_link
from tests.core.test_study import TRAIN as TINY_STUDY
from tests.core.test_trainer import assert_same_run

try:
    import ray
except ImportError:  # the backend is optional
    ray = None


def needs_cluster(test):
    """Mark a test `slow` and `ray`, and skip it without Ray."""
    marks = (pytest.mark.slow, pytest.mark.ray, pytest.mark.skipif(ray is None, reason="no Ray"))
    for mark in marks:
        test = mark(test)
    return test


ROOT = Path(__file__).resolve().parents[2]
HOME_HAD_RAY = (Path.home() / ".ray").exists()
README = ROOT / "README.md"
SECTION = "## Running on a Ray cluster"

#: The README's recipe, in its order, as written there (<...> are filled in per node). The test
#: runs these commands and adds only `--temp-dir` per node and its own tiny run settings.
RECIPE = {
    "token": "ray get-auth-token --generate",
    "head": "RAY_AUTH_MODE=token ray start --head --node-ip-address=<head-ip> --port=6379 "
    "--num-cpus=<cores> --include-dashboard=false --disable-usage-stats",
    "worker": "RAY_AUTH_MODE=token ray start --address=<head-ip>:6379 "
    "--node-ip-address=<node-ip> --num-cpus=<cores> --disable-usage-stats",
    "status": "RAY_AUTH_MODE=token ray status --address=<head-ip>:6379",
    "train": "RAY_AUTH_MODE=token pbml train configs/quickstart.toml --set pool.backend=ray "
    "--set pool.address=<head-ip>:6379 --set pool.workers=<total cores> "
    "--set pool.chunk_size=<population / workers>",
    "study": "RAY_AUTH_MODE=token pbml study studies/learning_to_learn.toml --out <shared folder> "
    "--backend ray --address <head-ip>:6379",
}

TINY = ["population.size=8", "policy.kwargs={hidden=[8]}", "task.episode_steps=20"]
TINY += ["run.generations=6", "run.checkpoint_every=3", "goals.every=3"]
#: Long enough to lose a node part way; a small timeout so a hang would show within the test.
LONGER = [*TINY, "run.generations=30", "task.episode_steps=100", "pool.job_timeout_s=20"]

SUMMARY = re.compile(r"Ray: chunks per node: (.*); actors replaced: (\d+)")


def recipe(step: str, fill: dict[str, str]) -> list[str]:
    """A step of the recipe as a command: placeholders filled in, `ray` and `pbml` this
    environment's (the node's environment sets RAY_AUTH_MODE=token)."""
    text = RECIPE[step]
    for key, value in fill.items():
        text = text.replace(f"<{key}>", value)
    assert "<" not in text, text
    words = shlex.split(text.removeprefix("RAY_AUTH_MODE=token "))
    return {"ray": RAY, "pbml": PBML}[words[0]] + words[1:]


def with_sets(command: list[str], sets: list[str]) -> list[str]:
    return command + [word for item in sets for word in ("--set", item)]


def work_by_node(stderr: str) -> tuple[dict[str, int], int]:
    """Chunks per node address and actors replaced, from the line a cluster run ends with."""
    found = SUMMARY.findall(stderr)
    assert len(found) == 1, stderr[-3000:]
    nodes, replaced = found[0]
    chunks = {ip: int(n) for ip, n in (item.split() for item in nodes.split(", "))}
    return chunks, int(replaced)


class Cluster:
    """A head node and one worker node, started by the README's recipe."""

    def __init__(self, head: Node, worker: Node) -> None:
        self.head, self.worker = head, worker
        self.address = f"{head.ip}:6379"

    def start(self) -> None:
        self._must(self.head, recipe("token", {}))
        token = self.head.home / ".ray" / "auth_token"
        token.chmod(0o600)
        (self.worker.home / ".ray").mkdir()
        shutil.copy2(token, self.worker.home / ".ray" / "auth_token")
        head = recipe("head", {"head-ip": self.head.ip, "cores": "1"})
        self._must(self.head, [*head, f"--temp-dir={self.head.temp}"])
        self.start_worker()

    def start_worker(self) -> None:
        fill = {"head-ip": self.head.ip, "node-ip": self.worker.ip, "cores": "1"}
        worker = recipe("worker", fill)
        self._must(self.worker, [*worker, f"--temp-dir={self.worker.temp}"])
        self.wait_for_nodes(2)

    def wait_for_nodes(self, count: int, timeout_s: float = 90) -> None:
        """Until `ray status` (the recipe's check) lists `count` active nodes."""
        deadline = time.monotonic() + timeout_s
        while True:
            proc = self.head.run(recipe("status", {"head-ip": self.head.ip}), timeout=60)
            active = proc.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
            if len(re.findall(r"\bnode_[0-9a-f]+", active)) == count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not {count} nodes after {timeout_s} s:\n{proc.stdout}")
            time.sleep(1)

    def train(self, out: Path, sets: list[str]) -> list[str]:
        """The recipe's `pbml train` (population 8 on 2 workers), tiny and into `out`."""
        fill = {"head-ip": self.head.ip, "total cores": "2", "population / workers": "4"}
        return with_sets([*recipe("train", fill), "--out", str(out), "--quiet"], sets)

    def study(self, path: Path, out: Path) -> list[str]:
        command = recipe("study", {"head-ip": self.head.ip, "shared folder": str(out)})
        return [str(path) if word.startswith("studies/") else word for word in command]

    @staticmethod
    def _must(node: Node, args: list[str]) -> None:
        proc = node.run(args, timeout=180)
        assert proc.returncode == 0, f"{' '.join(args)} on {node.netns}:\n{proc.stdout[-3000:]}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="pbml-cluster-", dir="/tmp"))  # short: Ray's sockets
    nodes = ()
    try:
        try:
            nodes = make_link(str(os.getpid()), root, workdir=ROOT)
        except NotPermitted as why:
            pytest.skip(f"no two-node cluster here: {why}")
        cluster = Cluster(*nodes)
        cluster.start()
        yield cluster
    finally:
        remove_link(nodes)
        shutil.rmtree(root, ignore_errors=True)


def process_run(out: Path, sets: list[str]) -> Path:
    """The same run on the local process backend: what the cluster must reproduce."""
    command = [*PBML, "train", "configs/quickstart.toml", "--set", "pool.backend=process"]
    command += ["--set", "pool.workers=2", "--set", "pool.chunk_size=4", "--out", str(out)]
    proc = subprocess.run(
        with_sets([*command, "--quiet"], sets),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_readme_recipe_is_the_one_run_here():
    section = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    text = " ".join(section.replace("\\\n", " ").split())
    missing = [command for command in RECIPE.values() if command not in text]
    assert not missing, f"the README's recipe lacks: {missing}"
    places = [text.find(command) for command in RECIPE.values()]
    assert places == sorted(places), "the README gives the recipe in another order"
    assert "tests/cluster/test_two_nodes.py" in text


@needs_cluster
def test_the_cluster_refuses_a_client_without_its_token(cluster, tmp_path):
    (tmp_path / "home").mkdir()
    stranger = {"HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "disabled"}
    proc = cluster.head.run(recipe("status", {"head-ip": cluster.head.ip}), 120, stranger)
    assert proc.returncode != 0 and "InvalidAuthToken" in proc.stderr, proc.stderr[-3000:]


@needs_cluster
def test_train_over_two_nodes_is_the_process_backends_run(cluster, tmp_path):
    proc = cluster.head.run(cluster.train(tmp_path / "ray", TINY), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(tmp_path / "ray", process_run(tmp_path / "process", TINY))
    chunks, replaced = work_by_node(proc.stderr)
    assert set(chunks) == {cluster.head.ip, cluster.worker.ip} and replaced == 0, proc.stderr
    assert sum(chunks.values()) == chunks_of(tmp_path / "ray")  # each computed once


@needs_cluster
def test_a_study_spreads_over_both_nodes_with_local_results(cluster, tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(TINY_STUDY)
    local = [*PBML, "study", str(study), "--out", str(tmp_path / "local"), "--backend", "serial"]
    proc = subprocess.run(local, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cluster.head.run(cluster.study(study, tmp_path / "ray"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    local_rows = (tmp_path / "local" / "results.csv").read_text()
    assert (tmp_path / "ray" / "results.csv").read_text() == local_rows
    hosts = {
        json.loads(path.read_text())["machine"]["host"]
        for path in (tmp_path / "ray" / "run_results").glob("*/probe.json")
    }
    assert hosts == {cluster.head.hostname, cluster.worker.hostname}  # runs on both nodes


@needs_cluster
def test_a_worker_node_lost_mid_run_loses_nothing(cluster, tmp_path):
    if not cluster.worker.pids():
        cluster.start_worker()
    out = tmp_path / "ray"
    train = cluster.head.popen(cluster.train(out, LONGER), tmp_path / "train.log")
    try:
        rows = wait_for_rows(out / "metrics.csv", 6, train)
        cluster.worker.kill()  # the whole machine goes: raylet, object store, actor, all at once
        assert train.wait(timeout=300) == 0, (tmp_path / "train.log").read_text()[-3000:]
    finally:
        train.kill()
    assert rows < 30, "the run ended before the node was lost"
    chunks, replaced = work_by_node((tmp_path / "train.log").read_text())
    assert set(chunks) == {cluster.head.ip, cluster.worker.ip} and replaced >= 1, chunks
    assert sum(chunks.values()) == chunks_of(out)  # the lost ones were computed again
    cluster.wait_for_nodes(1)  # the worker node is gone, and Ray knows it
    assert_same_run(out, process_run(tmp_path / "process", LONGER))
    assert (Path.home() / ".ray").exists() == HOME_HAD_RAY  # each node has its own HOME


def chunks_of(run: Path) -> int:
    """How many chunks of 4 the run evaluated (generations can have fewer than 8 rollouts)."""
    rows = read_csv(run / "metrics.csv")
    return sum(math.ceil(int(r["budget/rollouts"]) / 4) for r in rows)


def wait_for_rows(path: Path, rows: int, proc: subprocess.Popen, timeout_s: float = 300) -> int:
    """Until `path` (metrics.csv) holds `rows` generations; returns how many it holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        count = len(path.read_text().splitlines()) - 1 if path.is_file() else 0
        if count >= rows:
            return count
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {rows} rows (run exit code {proc.poll()})")
