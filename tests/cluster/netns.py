"""Two "machines" on a private link, for a real multi-node Ray cluster inside the test suite.

Each node is a Linux network namespace (its own interfaces, addresses and ports; one end of a
veth pair) and, for every command run on it, a UTS namespace with its own hostname, so a run can
tell which node computed it. Each node has its own HOME (Ray writes `~/.ray` there) and Ray temp
dir, so nothing reaches the real home directory. Traffic stays on the pair's own addresses and
each namespace's loopback.

A node is stopped by killing the processes of its namespace (`ip netns pids`), never with
`ray stop`: that command finds Ray processes by name on the whole machine, whatever namespace it
runs in, so it would also stop the other node and any other Ray on the host.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
SUBNET = "10.231.7"
PREFIX = 24


def cli(name: str, module: str) -> list[str]:
    """The console script `name` of this interpreter's environment, else `python -m module`
    (so Ray's workers run this interpreter, which imports the package under test)."""
    script = BIN / name
    return [str(script)] if script.is_file() else [sys.executable, "-m", module]


RAY = cli("ray", "ray.scripts.scripts")
PBML = cli("pbml", "pbml_control")


class NotPermitted(Exception):
    """Namespaces cannot be made here (not root, no `ip`, or a sandbox that forbids them)."""


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise NotPermitted(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")


@dataclass
class Node:
    netns: str
    ip: str
    hostname: str
    root: Path
    #: The folder commands run in.
    workdir: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def temp(self) -> Path:
        return self.root / "ray"

    def env(self) -> dict[str, str]:
        """This node's environment: its own HOME, token authentication, the test's interpreter
        first on PATH, and none of the test process's RAY_* settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(
            HOME=str(self.home),
            RAY_AUTH_MODE="token",
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            MPLCONFIGDIR=str(self.home / ".mpl"),
        )
        return env

    def command(self, args: list[str]) -> list[str]:
        """`args` as a command run on this node (its network and its hostname)."""
        named = ["sh", "-c", 'hostname "$0" && exec "$@"', self.hostname, *args]
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--", *named]

    def run(
        self, args: list[str], timeout: float = 180, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run `args` on this node; `env` replaces variables of the node's environment."""
        return subprocess.run(
            self.command(args),
            env={**self.env(), **(env or {})},
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, args: list[str], log: Path) -> subprocess.Popen:
        with open(log, "w") as out:
            return subprocess.Popen(
                self.command(args),
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def pids(self) -> list[int]:
        proc = subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, timeout=30
        )
        return [int(p) for p in proc.stdout.split()]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, grace_s: float = 5.0) -> None:
        """End every process of this node: SIGTERM, then SIGKILL what is left after `grace_s`."""
        self.kill(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.kill(signal.SIGKILL)
        deadline = time.monotonic() + grace_s
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)


def make_link(tag: str, root: Path, workdir: Path) -> tuple[Node, Node]:
    """Two namespaces joined by a veth pair, addresses SUBNET.1 and SUBNET.2, loopback up in
    each. Raises NotPermitted where that cannot be done; a half-made link is removed."""
    if os.geteuid() != 0:
        raise NotPermitted("network namespaces need root (CI runs the tests as root)")
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        raise NotPermitted("needs `ip` (iproute2) and `unshare` (util-linux)")
    nodes = tuple(
        Node(f"pbml-{tag}-{side}", f"{SUBNET}.{i}", f"pbml-node-{side}", root / side, workdir)
        for i, side in ((1, "a"), (2, "b"))
    )
    try:
        for node in nodes:
            _ip("netns", "add", node.netns)
        veth = [f"pv{tag}{side}"[:15] for side in "ab"]
        _ip("link", "add", veth[0], "type", "veth", "peer", "name", veth[1])
        for node, dev in zip(nodes, veth, strict=True):
            _ip("link", "set", dev, "netns", node.netns)
            _ip("-n", node.netns, "addr", "add", f"{node.ip}/{PREFIX}", "dev", dev)
            _ip("-n", node.netns, "link", "set", "lo", "up")
            _ip("-n", node.netns, "link", "set", dev, "up")
            node.home.mkdir(parents=True)
            node.temp.mkdir()
            check = node.run(["true"], timeout=30)
            if check.returncode != 0:
                raise NotPermitted(f"cannot run in a UTS namespace: {check.stderr.strip()}")
    except BaseException:
        remove_link(nodes)
        raise
    return nodes


def remove_link(nodes: tuple[Node, ...]) -> None:
    """Stop every process of each node and delete the namespaces (which deletes the veth pair)."""
    for node in reversed(nodes):
        if Path("/run/netns", node.netns).exists():
            node.stop()
            subprocess.run(["ip", "netns", "del", node.netns], capture_output=True, timeout=30)
