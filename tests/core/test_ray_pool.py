"""The Ray backend: same results as the process backend; a lost actor loses nothing.

The `ray`-marked tests run on a local Ray (2 CPUs, no dashboard, temp files under /tmp, listening
on 127.0.0.1 only) started once for the module, and are skipped when Ray is not installed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from pbml_control.errors import UserError
from pbml_control.rollout import PoolError, make_pool
from pbml_control.rollout.ray_pool import init_local_ray
from tests.core.test_rollout_pool import cheetah_batch, same_results

try:
    import ray
except ImportError:  # the backend is optional
    ray = None


def needs_ray(test):
    """Mark a test `ray`, skip it without Ray, and run it on the module's local Ray."""
    marks = (
        pytest.mark.ray,
        pytest.mark.skipif(ray is None, reason="Ray is not installed"),
        pytest.mark.usefixtures("local_ray"),
    )
    for mark in marks:
        test = mark(test)
    return test


def test_without_ray_the_backend_error_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(UserError, match=r"pip install pbml-control\[ray\]"):
        make_pool("ray")


@pytest.fixture(scope="module")
def local_ray():
    temp = tempfile.mkdtemp(prefix="pbml-ray-", dir="/tmp")  # short: Ray's sockets live here
    init_local_ray(ray, num_cpus=2, _temp_dir=temp, log_to_driver=False)
    yield
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def reference():
    with make_pool("process", workers=2, chunk_size=2) as pool:
        return pool.evaluate(cheetah_batch())


@needs_ray
@pytest.mark.slow
def test_ray_pool_matches_the_process_pool_across_generations(reference):
    with make_pool("ray", workers=2, chunk_size=2) as pool:
        same_results(pool.evaluate(cheetah_batch()), reference)
        same_results(pool.evaluate(cheetah_batch()), reference)  # actors kept their envs
    with make_pool("ray", workers=1, chunk_size=3) as pool:
        same_results(pool.evaluate(cheetah_batch()), reference)


@needs_ray
@pytest.mark.slow
def test_a_killed_actor_is_replaced_and_its_chunk_rerun():
    batch = cheetah_batch(n=12, steps=400)
    expected = make_pool("serial", chunk_size=2).evaluate(batch)
    with make_pool("ray", workers=2, chunk_size=2) as pool:
        pool.evaluate(cheetah_batch(n=2, steps=5))  # actors are up and warm
        victim = pool.actors()[0]
        timer = threading.Timer(0.2, ray.kill, (victim,))
        timer.start()
        results = pool.evaluate(batch)
        timer.join()
        assert pool.restarts >= 1 and victim not in pool.actors()
    same_results(results, expected)


@needs_ray
def test_an_exception_in_an_actor_is_raised_with_its_traceback():
    batch = cheetah_batch(n=2)
    batch.policy = {**batch.policy, "hidden": "not a list"}
    with make_pool("ray", workers=1, chunk_size=2) as pool:
        with pytest.raises(PoolError, match="raised in a Ray actor"):
            pool.evaluate(batch)


@needs_ray
def test_ray_leaves_nothing_in_the_home_directory():
    assert not (Path.home() / "ray").exists()
    assert not (Path.home() / ".ray").exists()


@needs_ray
@pytest.mark.slow
def test_a_replacement_waiting_for_a_cpu_gets_no_chunks(reference):
    """As after a node is lost: an actor dies and its CPU is taken before its replacement gets
    it, so the replacement waits; the other actor takes every chunk, and nothing waits for (or
    times out on) the one that waits."""
    blocker = ray.remote(num_cpus=1)(Blocker)
    with make_pool("ray", workers=2, chunk_size=2, job_timeout_s=30) as pool:
        pool.evaluate(cheetah_batch(n=2, steps=5))  # actors are up and warm
        ray.kill(pool.actors()[1])
        held = blocker.remote()
        ray.get(held.ping.remote())  # the dead actor's CPU is taken
        same_results(pool.evaluate(cheetah_batch()), reference)
        assert pool.restarts == 1
        ray.kill(held)


class Blocker:
    def ping(self) -> int:
        return 1


@needs_ray
@pytest.mark.slow
def test_no_free_cpu_for_any_actor_is_one_clear_error():
    with make_pool("ray", workers=2, chunk_size=2) as busy:  # both CPUs of the module's Ray
        ray.get([actor.pid.remote() for actor in busy.actors()])  # placed before the next one
        with make_pool("ray", workers=1, chunk_size=2, job_timeout_s=2) as starved:
            with pytest.raises(PoolError, match="no Ray actor started within pool.job_timeout_s"):
                starved.evaluate(cheetah_batch(n=2, steps=5))
