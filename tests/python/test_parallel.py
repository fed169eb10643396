"""Parallel execution (heavy_parallel_cli.md §4): ParallelContext, ProcessPool / InterpreterPool,
engine.execute_parallel and @process(parallel=True) committing through the normal path, plus the
crash reliability of workers and engines (segments reclaimed by the registry's zombie scan)."""
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import heavy_tasks
import theus_core
from conftest import subprocess_env
from theus import TheusEngine
from theus.context import HeavyZoneAllocator, HeavyZoneWrapper
from theus.parallel import (
    INTERPRETERS_SUPPORTED,
    InterpreterPool,
    ParallelContext,
    ProcessPool,
    parallel_cpu_task,
    pool_from_env,
    shared_test_task,
    slow_cpu_task,
)

WAIT_S = 60  # upper bound for waiting on another process; never a performance threshold


def exists(name):
    return os.path.exists(f"/dev/shm/{name}")


def wait_until(predicate, what):
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def pool():
    p = ProcessPool(2)
    yield p
    p.shutdown()


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setenv("THEUS_USE_PROCESSES", "1")
    monkeypatch.setenv("THEUS_POOL_SIZE", "1")
    eng = TheusEngine({"domain": {"total": 0.0, "worker_pid": 0, "note": ""}})
    for name in dir(heavy_tasks):
        func = getattr(heavy_tasks, name)
        if getattr(func, "_pop_contract", None) is not None:
            eng.register(func)
    frames = eng.heavy.alloc("frames", (1000,), "float64")
    frames[:] = np.arange(1000)
    eng.compare_and_swap(eng.state.version, heavy={"frames": frames})
    yield eng
    eng.shutdown()


# ---- ParallelContext --------------------------------------------------------------------------


def test_parallel_context_exposes_only_input_and_heavy():
    ctx = ParallelContext({"a": 1}, {"h": 2})
    assert ctx.input is ctx.domain and ctx.input == {"a": 1}
    assert isinstance(ctx.heavy, HeavyZoneWrapper) and ctx.heavy["h"] == 2
    for name in ("global_ctx", "log", "outbox", "transaction", "state"):
        with pytest.raises(AttributeError, match="only input"):
            getattr(ctx, name)
    assert ParallelContext({}).heavy == {}
    assert repr(ctx) == "<ParallelContext input=['a'] heavy=['h']>"


def test_parallel_context_pickles_heavy_arrays_as_handles():
    alloc = HeavyZoneAllocator()
    try:
        big = alloc.alloc("big", (2_000_000,), "float64")  # 16 MB
        big[-1] = 9.0
        ctx = ParallelContext({"x": 1}, {"big": big, "small": [1, 2]})
        payload = pickle.dumps(ctx)
        assert len(payload) < 2048
        back = pickle.loads(payload)
        assert back.input == {"x": 1} and back.heavy["small"] == [1, 2]
        assert back.heavy["big"][-1] == 9.0
        assert np.shares_memory(back.heavy["big"], back.heavy["big"])
    finally:
        alloc.cleanup()


def test_from_state_snapshots_the_heavy_zone():
    engine = TheusEngine()
    engine.compare_and_swap(engine.state.version, heavy={"a": 1, "b": "x"})
    ctx = ParallelContext.from_state(engine.state, lo=0)
    assert ctx.input == {"lo": 0} and sorted(ctx.heavy.keys()) == ["a", "b"]
    assert ParallelContext.from_state(object()).heavy.keys() == []


# ---- pools ------------------------------------------------------------------------------------


def test_process_pool_runs_demo_tasks_in_other_processes(pool):
    assert pool.submit(shared_test_task, 2, y=3).result() == {"sum": 5, "context": "sub"}
    out = pool.submit(parallel_cpu_task, 7).result()
    assert out["x_squared"] == 49 and out["pid"] != os.getpid() and out["context"] == "sub"
    assert pool.submit(slow_cpu_task, 0).result() == "done"
    assert pool.size == 2 and repr(pool).startswith("<ProcessPool size=2 running")


def test_process_pool_hands_arrays_over_without_copying(pool):
    alloc = HeavyZoneAllocator()
    try:
        arr = alloc.alloc("handoff", (1000,), "float64")
        arr[:] = 0.5
        total, pid = pool.submit(heavy_tasks.attach_and_sum, arr).result()
        assert total == 500.0 and pid != os.getpid()
    finally:
        alloc.cleanup()


def test_process_pool_refuses_work_after_shutdown():
    p = ProcessPool(1)
    p.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        p.submit(shared_test_task, 1)
    with pytest.raises(ValueError, match=">= 1"):
        ProcessPool(0)


@pytest.mark.skipif(INTERPRETERS_SUPPORTED, reason="this Python has sub-interpreters")
def test_interpreter_pool_falls_back_cleanly_without_subinterpreters():
    assert INTERPRETERS_SUPPORTED is False
    assert InterpreterPool.is_compatible() is False
    with pytest.raises(RuntimeError, match="use ProcessPool"):
        InterpreterPool(2)


def test_pool_from_env_honours_the_environment(monkeypatch):
    monkeypatch.setenv("THEUS_USE_PROCESSES", "1")
    monkeypatch.setenv("THEUS_POOL_SIZE", "3")
    p = pool_from_env()
    try:
        assert isinstance(p, ProcessPool) and p.size == 3
    finally:
        p.shutdown()
    monkeypatch.delenv("THEUS_USE_PROCESSES")
    monkeypatch.setenv("THEUS_FORCE_INTERPRETERS", "1")
    p = pool_from_env()
    try:
        assert isinstance(p, InterpreterPool if INTERPRETERS_SUPPORTED else ProcessPool)
    finally:
        p.shutdown()


# ---- engine.execute_parallel and parallel processes ----------------------------------------------


def test_execute_parallel_returns_the_worker_result_without_committing(engine):
    version = engine.state.version
    assert engine.execute_parallel("partial_sum", lo=0, hi=10) == 45.0
    assert engine.state.version == version
    assert isinstance(engine._parallel_pool, ProcessPool) and engine._parallel_pool.size == 1
    with pytest.raises(ValueError, match="Process 'nope' not found"):
        engine.execute_parallel("nope")


def test_parallel_process_commits_its_result_through_execute(engine, run):
    version = engine.state.version
    assert run(engine.execute("partial_sum", lo=10, hi=20)) == 145.0
    assert engine.state.version == version + 1
    assert engine.state.data["domain"]["total"] == 145.0
    assert engine.execute_sync("worker_pid") != os.getpid()
    assert engine.state.data["domain"]["worker_pid"] not in (0, os.getpid())


def test_worker_writes_land_in_the_shared_array(engine):
    engine.execute_sync("scale_in_place", factor=2.0)
    assert engine.state.heavy["frames"][10] == 20.0


def test_worker_heavy_result_is_committed_by_reference(engine):
    engine.execute_sync("publish_view")
    doubled = engine.state.heavy["doubled"]
    frames = engine.state.heavy["frames"]
    assert doubled.shm.name == frames.shm.name  # a view of the same segment, not a copy
    np.testing.assert_array_equal(doubled, frames[::2])
    frames[4] = -1.0
    assert doubled[2] == -1.0
    assert engine.state.data["domain"]["note"] == "published"


def test_worker_results_obey_the_contract(engine):
    version = engine.state.version
    with pytest.raises(PermissionError, match="domain.secret"):
        engine.execute_sync("writes_undeclared")
    assert engine.state.version == version


def test_worker_exceptions_are_reraised_and_nothing_is_committed(engine):
    version = engine.state.version
    with pytest.raises(ValueError, match="bad input 3"):
        engine.execute_sync("raises_in_worker", x=3)
    assert engine.state.version == version


def test_concurrent_parallel_executions_all_commit(engine):
    results, errors = [], []

    def call(lo):
        try:
            results.append(engine.execute_sync("partial_sum", lo=lo, hi=lo + 1))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    version = engine.state.version
    threads = [threading.Thread(target=call, args=(lo,)) for lo in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert engine.state.version == version + 6


# ---- reliability --------------------------------------------------------------------------------


def _scan():
    return theus_core.shm.MemoryRegistry("pytest-probe", scan=False).scan_zombies()


def test_worker_killed_mid_task_commits_nothing_and_its_segment_is_reclaimed(engine, tmp_path):
    report = tmp_path / "report"
    version = engine.state.version
    with pytest.raises(BrokenProcessPool):
        engine.execute_sync("allocate_then_die", report=str(report))
    name, pid = report.read_text().split()
    assert engine.state.version == version and engine.state.data["domain"]["total"] == 0.0
    assert exists(name)  # the worker died before it could clean up
    wait_until(lambda: not theus_core.shm.process_alive(int(pid)), "the killed worker to exit")
    assert name in _scan()
    assert not exists(name)
    # The engine keeps serving, on fresh workers.
    assert engine.execute_sync("partial_sum", lo=0, hi=3) == 3.0
    assert engine.state.data["domain"]["total"] == 3.0
    assert engine._parallel_pool.restarts == 1


def test_worker_killed_from_outside_mid_task(engine, tmp_path):
    report = tmp_path / "report"
    version = engine.state.version

    def killer():
        wait_until(report.exists, "the worker to report")
        os.kill(int(report.read_text().split()[1]), signal.SIGKILL)

    t = threading.Thread(target=killer)
    t.start()
    with pytest.raises(BrokenProcessPool):
        engine.execute_sync("allocate_then_wait", report=str(report))
    t.join()
    name, pid = report.read_text().split()
    assert engine.state.version == version
    wait_until(lambda: not theus_core.shm.process_alive(int(pid)), "the killed worker to exit")
    TheusEngine()  # an engine's startup scan reclaims the dead worker's segment
    assert not exists(name)
    assert engine.execute_sync("partial_sum", lo=1, hi=2) == 1.0


ENGINE_SCRIPT = """
import os, sys, time
extra = os.environ.get("THEUS_APPEND_PATH")
if extra and extra not in sys.path:
    sys.path.append(extra)
from theus import TheusEngine
from theus.context import HeavyZoneAllocator
engine = TheusEngine()
a = engine.heavy.alloc("engine_owned", (1000,), "float64")
b = HeavyZoneAllocator().alloc("user_owned", (10,), "int32")
print(a.shm.name, b.shm.name, flush=True)
time.sleep(120)
"""


def test_engine_killed_with_sigkill_is_reclaimed_by_the_next_engine():
    env = subprocess_env()
    env.setdefault("THEUS_APPEND_PATH", "/usr/lib/python3/dist-packages")
    proc = subprocess.Popen([sys.executable, "-c", ENGINE_SCRIPT], env=env, stdout=subprocess.PIPE, text=True)
    try:
        names = proc.stdout.readline().split()
        assert len(names) == 2 and all(exists(n) for n in names)
    finally:
        proc.kill()
        proc.wait()
    assert all(exists(n) for n in names)  # SIGKILL: no cleanup ran
    TheusEngine()
    assert not any(exists(n) for n in names)
