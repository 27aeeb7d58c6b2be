"""The Ray backend's own start and shutdown: a private local Ray that leaves nothing behind and
that nothing outside this machine can reach.

Runs in a subprocess with an empty home directory, so whatever Ray would write there is seen
(test_ray_pool.py covers results and faults on a shared local Ray)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("ray")

SCRIPT = """
import numpy as np, ray, pbml_policies
from pbml_control.rollout import EnvSpec, EvalBatch, make_pool
policy = pbml_policies.make_policy("linear", 17, 6)
params = np.stack([policy.init_flat(np.random.default_rng(i)) for i in range(2)])
batch = EvalBatch(EnvSpec.of("pbml/HalfCheetahVel-v0", max_episode_steps=10), policy.to_dict(),
                  params, np.array([1.0, 2.0]), np.arange(2))
with make_pool("ray", workers=1, chunk_size=1) as pool:
    assert ray.is_initialized()
    print(len(pool.evaluate(batch)))
assert not ray.is_initialized(), "the pool started Ray, so it must shut it down"
"""

#: Starts a pool (and so its own Ray) with one actor up, prints the GCS address and the actor's
#: pid, and keeps Ray running until it reads a line.
HOLD_SCRIPT = """
import json, sys, ray
from pbml_control.rollout import make_pool
with make_pool("ray", workers=1, chunk_size=1) as pool:
    actor = ray.get(pool.actors()[0].pid.remote())
    print(json.dumps({"gcs": ray.get_runtime_context().gcs_address, "actor": actor}), flush=True)
    sys.stdin.readline()
"""


def private_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess whose home directory is new and empty."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.mark.ray
@pytest.mark.slow
def test_a_pool_that_starts_ray_shuts_it_down_and_leaves_home_empty(tmp_path):
    env = private_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "2"
    assert list(Path(env["HOME"]).iterdir()) == []


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants (Ray's GCS, raylet and workers descend from the driver)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process just ended
        children[ppid].append(int(stat.parent.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children[pid])
    return tree


def socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def proc_net_address(field: str) -> tuple[str, int]:
    """An address of /proc/net/tcp{,6}: hex, each 32-bit word of the IP in host byte order."""
    host, port = field.split(":")
    words = [int(host[i : i + 8], 16) for i in range(0, len(host), 8)]
    ip = ipaddress.ip_address(b"".join(w.to_bytes(4, sys.byteorder) for w in words))
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def listening_sockets(pids: set[int]) -> list[tuple[str, int]]:
    """The TCP addresses that the processes `pids` listen on."""
    inodes = socket_inodes(pids)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(proc_net_address(fields[1]))
    return found


def own_network_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, from `ip -4 addr` and its hostname."""
    found: set[str] = set()
    try:
        out = subprocess.run(
            ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=10
        ).stdout
        found.update(re.findall(r"inet (\d+\.\d+\.\d+\.\d+)", out))
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)


def connect(host: str, port: int) -> str:
    """'refused', 'accepted', or what else happened when connecting to one of our own ports."""
    try:
        with socket.create_connection((host, port), timeout=5.0):
            return "accepted"
    except ConnectionRefusedError:
        return "refused"
    except OSError as err:
        return f"{type(err).__name__}: {err}"


@pytest.mark.ray
@pytest.mark.slow
def test_the_private_local_ray_listens_on_loopback_only(tmp_path):
    outside = own_network_addresses()
    stderr = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=private_env(tmp_path),
    )
    watchdog = threading.Timer(180.0, proc.kill)  # a Ray that never starts fails the test
    watchdog.start()
    try:
        line = proc.stdout.readline()
        tree = process_tree(proc.pid)
        sockets = listening_sockets(tree)
        probes = {(host, port): connect(host, port) for host in outside for _, port in sockets}
    finally:
        proc.communicate("\n", timeout=120)
        watchdog.cancel()
    stderr.seek(0)
    assert line, stderr.read()[-2000:]
    info = json.loads(line)
    assert [s for s in sockets if not ipaddress.ip_address(s[0]).is_loopback] == []
    gcs_host, gcs_port = info["gcs"].rsplit(":", 1)
    assert gcs_host == "127.0.0.1" and (gcs_host, int(gcs_port)) in sockets
    assert info["actor"] in tree  # the workers' servers were looked at too
    if not outside:
        pytest.skip("no non-loopback address to connect from (the listening sockets passed)")
    assert {k: v for k, v in probes.items() if v != "refused"} == {}


@pytest.mark.ray
@pytest.mark.slow
def test_a_killed_trainer_leaves_no_ray_process_behind(tmp_path):
    """SIGKILL gives the trainer no chance to shut Ray down; the reaper must, within 10 s."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, env=private_env(tmp_path),
    )  # fmt: skip
    try:
        assert proc.stdout.readline(), "the private Ray did not start"
        time.sleep(3.0)  # the node's agents start a little after the raylet
        tree = process_tree(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10.0
    alive = tree
    while time.monotonic() < deadline:
        alive = {pid for pid in tree if Path(f"/proc/{pid}").exists() and not _zombie(pid)}
        if not alive:
            break
        time.sleep(0.5)
    assert not alive, [Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in alive]


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    except OSError:
        return False
