"""Parameters in shared memory: small chunks, the same results, and nothing left behind."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pbml_policies
import pytest

from pbml_control.rollout import EnvSpec, EvalBatch, make_pool
from pbml_control.rollout.process import ProcessPool
from pbml_control.rollout.shared import ParamReader, ParamSegment, StaleParameters
from tests.core.test_rollout_pool import cheetah_batch, fault_batch, same_results
from tests.core.test_signals import SETTINGS, wait_for_rows
from tests.helpers.signals import default_sigint

pytestmark = pytest.mark.skipif(not ParamSegment.available(), reason="needs Linux memfd + /proc")

MEMFD = "memfd:pbml-params"


def wide_batch(n: int, hidden: int) -> EvalBatch:
    policy = pbml_policies.make_policy("mlp", 17, 6, hidden=[hidden, hidden])
    rng = np.random.default_rng(hidden)
    params = np.stack([policy.init_flat(rng) for _ in range(n)])
    return EvalBatch(
        EnvSpec.of("pbml/HalfCheetahVel-v0", max_episode_steps=20),
        policy.to_dict(),
        params,
        np.linspace(0.5, 2.5, n),
        np.arange(n, dtype=np.int64),
    )


def ours_in_dev_shm() -> set[str]:
    """Names in /dev/shm that this package or multiprocessing's SharedMemory could have made."""
    return {p.name for p in Path("/dev/shm").iterdir() if "pbml" in p.name or "psm_" in p.name}


def memfd_links(pid: int | str = "self") -> list[str]:
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            pass
    return [link for link in links if MEMFD in link]


def start_process_training(out: Path) -> subprocess.Popen:
    """`pbml train` of the signal tests' long tiny run, on the process backend."""
    config = out.parent / "empty.toml"
    config.write_text("")
    args = [sys.executable, "-m", "pbml_control", "train", str(config), "--quiet"]
    args += ["--out", str(out)]
    for option in [*SETTINGS, "pool.backend='process'", "pool.workers=2"]:
        args += ["--set", option]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen(args, preexec_fn=default_sigint, **pipes)


@pytest.mark.slow
def test_a_shared_chunk_pickles_without_its_rows_and_resolves_to_the_same_rows():
    batch = wide_batch(8, 256)
    segment = ParamSegment()
    try:
        segment.publish(batch.params)
        chunk = batch.chunk(2, 6)
        shared = segment.share(chunk)
        assert len(pickle.dumps(shared)) < 4096 < batch.params[2:6].nbytes
        received = pickle.loads(pickle.dumps(shared))
        reader = ParamReader()
        resolved = reader.resolve(received)
        assert resolved.shared is None and resolved.params.flags.writeable
        assert resolved.params.dtype == chunk.params.dtype
        np.testing.assert_array_equal(resolved.params, chunk.params)
        reader.close()  # the rows still use the mapping: it goes with them
        assert memfd_links()
        del resolved
    finally:
        segment.close()
    assert memfd_links() == []


def test_a_chunk_of_an_older_generation_is_refused():
    segment, reader = ParamSegment(), ParamReader()
    try:
        segment.publish(np.ones((4, 10), dtype=np.float32))
        old = segment.rows(0, 2)
        segment.publish(np.zeros((400, 1000), dtype=np.float32))  # grows the file, too
        with pytest.raises(StaleParameters, match="generation 1"):
            reader.rows(old)
        np.testing.assert_array_equal(reader.rows(segment.rows(398, 400)), np.zeros((2, 1000)))
    finally:
        reader.close()
        segment.close()


@pytest.mark.slow
def test_shared_and_pickled_parameters_give_identical_results_across_resizes():
    """Generations whose matrix grows, shrinks and changes width, on both paths and serial."""
    batches = [cheetah_batch(), wide_batch(12, 128), wide_batch(5, 8), cheetah_batch(n=9)]
    with ProcessPool(2, 3) as shared, ProcessPool(2, 3, shared_params=False) as pickled:
        assert shared.shares_params and not pickled.shares_params
        for batch in batches:
            reference = make_pool("serial", chunk_size=3).evaluate(batch)
            same_results(shared.evaluate(batch), reference)
            same_results(pickled.evaluate(batch), reference)
        assert shared.bytes_sent * 5 < pickled.bytes_sent
        pids = shared.worker_pids()
        assert all(MEMFD in Path(f"/proc/{pid}/maps").read_text() for pid in pids)


@pytest.mark.slow
def test_a_replaced_worker_reads_its_retried_chunk_from_the_same_generation():
    """A worker killed mid-chunk: its replacement maps the file anew and reruns the chunk."""
    first = fault_batch([0] * 6, sleep=0.02)
    second = replace(first, params=first.params[::-1].copy())
    with ProcessPool(2, 1, max_retries=2) as pool:
        pool.evaluate(fault_batch([0, 0]))  # workers are up and have mapped the file
        victim = pool.worker_pids()[0]
        timer = threading.Timer(0.1, os.kill, (victim, signal.SIGKILL))
        timer.start()
        results = pool.evaluate(first)
        timer.join()
        assert pool.restarts >= 1 and victim not in pool.worker_pids()
        again = pool.evaluate(second)
    same_results(results, make_pool("serial", chunk_size=1).evaluate(first))
    same_results(again, make_pool("serial", chunk_size=1).evaluate(second))


def test_closing_the_pool_releases_the_memory_file():
    before = ours_in_dev_shm()
    pool = ProcessPool(2, 3)
    pool.evaluate(cheetah_batch())
    os.kill(pool.worker_pids()[0], signal.SIGKILL)  # a crash: its replacement re-attaches
    pool.evaluate(cheetah_batch())
    assert memfd_links()  # the file, and the duplicate that its mapping holds
    pool.close()
    assert memfd_links() == []
    assert ours_in_dev_shm() <= before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_run_stopped_by_a_signal_leaves_nothing_in_dev_shm(tmp_path, sig):
    before = ours_in_dev_shm()
    proc = start_process_training(tmp_path / "run")
    try:
        wait_for_rows(tmp_path / "run", 2, proc)
        assert memfd_links(proc.pid), "the run's pool does not share its parameters"
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert ours_in_dev_shm() <= before


def test_workers_that_cannot_open_the_file_fall_back_to_pickled_parameters(monkeypatch):
    """As on a system whose /proc hides other processes' descriptors: a warning, same results."""
    real_rows = ParamSegment.rows

    def unreachable(self, start, stop):
        return replace(real_rows(self, start, stop), fd=1_000_000)  # no such descriptor

    monkeypatch.setattr(ParamSegment, "rows", unreachable)
    batch = cheetah_batch()
    with ProcessPool(2, 2) as pool:
        with pytest.warns(UserWarning, match="parameters are pickled to workers instead"):
            results = pool.evaluate(batch)
        assert not pool.shares_params and pool.restarts == 0
        again = pool.evaluate(batch)
    reference = make_pool("serial", chunk_size=2).evaluate(batch)
    same_results(results, reference)
    same_results(again, reference)
