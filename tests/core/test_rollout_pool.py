"""The rollout pool: same results on every backend and worker count; faults lose nothing."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pbml_policies
import pytest

from pbml_control.rollout import EnvSpec, EvalBatch, PoolError, make_pool
from pbml_control.rollout.process import ProcessPool
from tests.helpers.fault_env import ENV_ID


def cheetah_batch(n: int = 6, steps: int = 30, obs_norm: bool = True) -> EvalBatch:
    policy = pbml_policies.make_policy("mlp", 17, 6, hidden=[16])
    rng = np.random.default_rng(0)
    params = np.stack([policy.init_flat(rng) for _ in range(n)])
    stats = pbml_policies.RunningStats.zeros(17)
    stats.update(rng.normal(size=(50, 17)))
    return EvalBatch(
        env=EnvSpec.of("pbml/HalfCheetahVel-v0", max_episode_steps=steps),
        policy=policy.to_dict(),
        params=params,
        goals=np.linspace(0.5, 2.5, n),
        seeds=np.arange(n, dtype=np.int64) + 100,
        episodes=2,
        obs_stats=stats.to_arrays() if obs_norm else None,
        collect_obs_stats=obs_norm,
    )


def fault_batch(modes: list[int], sleep: float = 0.0) -> EvalBatch:
    policy = pbml_policies.make_policy("linear", 3, 2)
    n = len(modes)
    params = np.stack([policy.init_flat(np.random.default_rng(i)) for i in range(n)])
    goals = np.array([[m, sleep] for m in modes], dtype=np.float64)
    return EvalBatch(EnvSpec.of(ENV_ID), policy.to_dict(), params, goals, np.arange(n))


def same_results(a, b) -> None:
    assert [r.index for r in a] == list(range(len(a)))
    for x, y in zip(a, b, strict=True):
        assert x.index == y.index
        assert x.fitness == y.fitness or (np.isinf(x.fitness) and np.isinf(y.fitness))
        np.testing.assert_array_equal(x.returns, y.returns)
        assert x.steps == y.steps and x.failed == y.failed
        assert x.reward_parts == y.reward_parts
        assert (x.obs_stats is None) == (y.obs_stats is None)
        if x.obs_stats is not None:
            for key in x.obs_stats:
                np.testing.assert_array_equal(x.obs_stats[key], y.obs_stats[key])


@pytest.fixture(scope="module")
def serial_reference():
    with make_pool("serial", chunk_size=2) as pool:
        return pool.evaluate(cheetah_batch())


@pytest.fixture
def fault_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PBML_FAULT_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_process_pool_matches_serial_for_any_worker_count(serial_reference, workers):
    with make_pool("process", workers=workers, chunk_size=2) as pool:
        same_results(pool.evaluate(cheetah_batch()), serial_reference)
        # Persistent environments: a second generation on the same workers is the same too.
        same_results(pool.evaluate(cheetah_batch()), serial_reference)


def test_results_do_not_depend_on_chunk_size(serial_reference):
    with make_pool("serial", chunk_size=5) as pool:
        same_results(pool.evaluate(cheetah_batch()), serial_reference)


def test_results_carry_reward_parts_and_obs_statistics(serial_reference):
    result = serial_reference[0]
    assert result.steps == 60 and len(result.returns) == 2
    assert set(result.reward_parts) >= {"reward_ctrl"}
    assert np.isclose(sum(result.reward_parts.values()), result.fitness)
    assert float(result.obs_stats["count"]) == 60


def test_nan_rollouts_are_failed_and_never_ranked():
    batch = cheetah_batch(n=3)
    batch.params[1] = np.nan
    with make_pool("serial", chunk_size=3) as pool:
        results = pool.evaluate(batch)
    assert [r.failed for r in results] == [False, True, False]
    assert results[1].fitness == -np.inf and "non-finite" in results[1].failure
    fault = make_pool("serial").evaluate(fault_batch([0, 5]))
    assert [r.failed for r in fault] == [False, True]


def test_killed_worker_is_replaced_and_nothing_is_lost(fault_dir):
    batch = fault_batch([0] * 8, sleep=0.02)
    reference = make_pool("serial", chunk_size=2).evaluate(batch)
    with make_pool("process", workers=2, chunk_size=2) as pool:
        pool.evaluate(fault_batch([0, 0]))  # workers are up and warm
        victim = pool.worker_pids()[0]
        timer = threading.Timer(0.1, os.kill, (victim, signal.SIGKILL))
        timer.start()
        results = pool.evaluate(batch)
        timer.join()
        assert pool.restarts >= 1 and victim not in pool.worker_pids()
    same_results(results, reference)


def test_crash_inside_a_rollout_is_rerun(fault_dir):
    with make_pool("process", workers=2, chunk_size=1) as pool:
        results = pool.evaluate(fault_batch([0, 1, 0]))
        assert pool.restarts == 1
    same_results(results, make_pool("serial", chunk_size=1).evaluate(fault_batch([0, 0, 0])))


def test_hanging_job_is_killed_after_the_timeout_and_rerun(fault_dir):
    with make_pool("process", workers=1, chunk_size=1, job_timeout_s=1.5) as pool:
        results = pool.evaluate(fault_batch([0, 2]))
        assert pool.restarts == 1
    same_results(results, make_pool("serial", chunk_size=1).evaluate(fault_batch([0, 0])))


def test_a_job_that_always_crashes_stops_with_a_clear_error(fault_dir):
    with make_pool("process", workers=2, chunk_size=1, max_retries=2) as pool:
        with pytest.raises(PoolError, match=r"jobs 1\.\.1 failed 3 times.*max_retries"):
            pool.evaluate(fault_batch([0, 3]))


def test_an_exception_in_a_worker_is_raised_with_its_traceback(fault_dir):
    with make_pool("process", workers=1, chunk_size=1) as pool:
        with pytest.raises(PoolError, match="mode 4 raises"):
            pool.evaluate(fault_batch([4]))


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(Exception, match="pool.backend"):
        make_pool("threads")


def test_a_pool_reused_after_an_error_gives_fresh_results(fault_dir):
    with make_pool("process", workers=2, chunk_size=1) as pool:
        with pytest.raises(PoolError):
            pool.evaluate(fault_batch([4, 0], sleep=0.05))  # job 1 still runs when job 0 raises
        batch = fault_batch([0, 0])
        batch.params = batch.params[::-1].copy()  # other genomes at the same job indices
        results = pool.evaluate(batch)
    same_results(results, make_pool("serial", chunk_size=1).evaluate(batch))


def wide_fault_batch(n: int, hidden: int = 50_000) -> EvalBatch:
    """Fault-env jobs of ~1.1 MiB genomes: a chunk is far larger than a pipe's buffer."""
    policy = pbml_policies.make_policy("mlp", 3, 2, hidden=[hidden])
    params = np.stack([policy.init_flat(np.random.default_rng(i)) for i in range(n)])
    return EvalBatch(EnvSpec.of(ENV_ID), policy.to_dict(), params, np.zeros((n, 2)), np.arange(n))


class BackgroundEvaluation:
    """`pool.evaluate(batch)` in a thread, so that a hang fails the test instead of freezing it."""

    def __init__(self, pool, batch: EvalBatch) -> None:
        self.results, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(pool, batch), daemon=True)
        self.thread.start()

    def _run(self, pool, batch: EvalBatch) -> None:
        try:
            self.results = pool.evaluate(batch)
        except BaseException as err:
            self.error = err

    def join(self, timeout_s: float) -> bool:
        """Whether the evaluation ended within `timeout_s`."""
        self.thread.join(timeout_s)
        return not self.thread.is_alive()


def evaluate_with_a_stopped_worker(pool, batch: EvalBatch) -> tuple[BackgroundEvaluation, bool]:
    """SIGSTOP idle worker 0 (it stops reading its pipe, like a worker stuck before its next
    job), evaluate `batch`, and kill that worker at the end if the pool still holds it."""
    victim = pool.worker_pids()[0]
    os.kill(victim, signal.SIGSTOP)
    run = BackgroundEvaluation(pool, batch)
    try:
        finished = run.join(60.0)
    finally:
        if victim in pool.worker_pids():  # never replaced: kill it so the evaluation can end
            os.kill(victim, signal.SIGKILL)
        run.join(30.0)
    assert victim not in pool.worker_pids()
    return run, finished


@pytest.mark.parametrize("shared", [True, False], ids=["shared-params", "pickled-params"])
def test_a_worker_that_stops_reading_is_replaced_after_the_timeout(fault_dir, shared):
    """Pickled, a chunk fills the pipe and blocks its sender; shared, it is small but unread."""
    batch = wide_fault_batch(6)
    assert batch.params[:2].nbytes >= 2 << 20  # one pickled chunk: about ten pipe buffers
    reference = make_pool("serial", chunk_size=2).evaluate(batch)
    with ProcessPool(2, 2, job_timeout_s=2.0, max_retries=5, shared_params=shared) as pool:
        pool.evaluate(fault_batch([0, 0]))  # workers are up, idle, waiting for jobs
        run, finished = evaluate_with_a_stopped_worker(pool, batch)
        assert finished, "sending a chunk to a worker that stopped reading froze the evaluation"
        assert run.error is None, run.error
        assert pool.restarts >= 1
    same_results(run.results, reference)


def test_a_worker_that_stops_reading_counts_against_max_retries(fault_dir):
    batch = wide_fault_batch(2)
    with make_pool("process", workers=1, chunk_size=2, job_timeout_s=2.0, max_retries=0) as pool:
        pool.evaluate(fault_batch([0]))
        run, finished = evaluate_with_a_stopped_worker(pool, batch)
        assert finished, "sending a chunk to a worker that stopped reading froze the evaluation"
        assert isinstance(run.error, PoolError)
        assert "failed 1 times (last: worker ran past the timeout of 2 s)" in str(run.error)
        results = pool.evaluate(batch)  # the replacement worker serves the next evaluation
    same_results(results, make_pool("serial", chunk_size=2).evaluate(batch))
