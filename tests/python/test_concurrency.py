"""Concurrent executions: no lost updates, disjoint writers never conflict, no starvation
(core.md §1 I5-I8, §6.4, §9.3, §15 B). Counts and states only, never timings."""
import asyncio
import threading

import pytest

from theus import RetryPolicy, TheusEngine, process
from theus.structures import ContextError

THREADS = 8
CALLS = 1000


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


def run_threads(target, count=THREADS):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - surfaced in the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def field_writer(i):
    @process(inputs=[f"domain.f{i}"], outputs=[f"domain.f{i}"])
    def write_field(ctx):
        return ctx.domain[f"f{i}"] + 1

    write_field.__name__ = f"write_f{i}"
    return write_field


def test_eight_threads_thousand_increments_lose_no_update():
    engine = TheusEngine({"domain": {"n": 0}})

    def worker(_):
        for _ in range(CALLS):
            engine.execute_sync(inc)

    run_threads(worker)
    assert engine.state.data["domain"]["n"] == THREADS * CALLS
    assert engine.state.version == 1 + THREADS * CALLS
    stats = engine._core._stats()
    assert stats["commits"] == 1 + THREADS * CALLS
    assert stats["gave_up"] == 0


def test_eight_threads_on_disjoint_fields_never_conflict():
    engine = TheusEngine({"domain": {f"f{i}": 0 for i in range(THREADS)}})

    def worker(i):
        proc = field_writer(i)
        for _ in range(CALLS // 4):
            engine.execute_sync(proc)

    run_threads(worker)
    assert engine.state.data["domain"].to_dict() == {f"f{i}": CALLS // 4 for i in range(THREADS)}
    stats = engine._core._stats()
    assert stats["conflicts"] == 0
    assert stats["retries"] == 0
    assert stats["busy"] == 0
    assert engine.state.version == 1 + THREADS * (CALLS // 4)


def test_forced_contention_on_one_counter_is_resolved_by_retries():
    barrier = threading.Barrier(THREADS)
    first_attempt = threading.local()

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def contended(ctx):
        value = ctx.domain.n
        if not getattr(first_attempt, "done", False):
            first_attempt.done = True
            barrier.wait(timeout=60)  # every thread has read the same base version
        return value + 1

    engine = TheusEngine({"domain": {"n": 0}})
    run_threads(lambda _: engine.execute_sync(contended))
    assert engine.state.data["domain"]["n"] == THREADS
    stats = engine._core._stats()
    assert stats["conflicts"] >= THREADS - 1
    assert stats["retries"] >= THREADS - 1
    assert stats["gave_up"] == 0
    assert engine.state.version == 1 + THREADS


def test_threads_mixing_counter_and_disjoint_writers():
    engine = TheusEngine({"domain": {"n": 0, **{f"f{i}": 0 for i in range(THREADS)}}})

    def worker(i):
        proc = field_writer(i)
        for _ in range(100):
            engine.execute_sync(inc)
            engine.execute_sync(proc)

    run_threads(worker)
    data = engine.state.data["domain"].to_dict()
    assert data["n"] == THREADS * 100
    assert all(data[f"f{i}"] == 100 for i in range(THREADS))


def test_threads_with_manual_transactions_and_retry_lose_no_update():
    engine = TheusEngine({"domain": {"n": 0}})

    def worker(_):
        done = 0
        while done < 200:
            try:
                with engine.transaction() as tx:
                    current = engine._core.state.data["domain"]["n"]
                    tx.update(data={"domain": {"n": current + 1}})
            except ContextError as exc:
                assert "CAS Version Mismatch" in str(exc)
                continue
            done += 1

    run_threads(worker, count=4)
    assert engine.state.data["domain"]["n"] == 800


# ---- starvation (D3) ---------------------------------------------------------------------------


def test_a_writer_that_keeps_losing_gets_the_vip_ticket_and_finishes():
    engine = TheusEngine({"domain": {"n": 0}})
    interference = []

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def loser(ctx):
        seen = ctx.domain.n
        try:  # a competing writer commits the same path after every base version ...
            engine.compare_and_swap(engine.state.version, data={"domain": {"n": seen + 100}})
            interference.append("won")
        except ContextError as exc:  # ... until the loser holds the VIP ticket
            interference.append(str(exc))
        return seen + 1

    result = engine.execute_sync(loser)
    assert interference[-1] == "System Busy (VIP Access Only)"
    assert interference[:-1] == ["won"] * (len(interference) - 1)
    assert result == engine.state.data["domain"]["n"]
    stats = engine._core._stats()
    assert stats["vip_grants"] == 1
    assert stats["gave_up"] == 0
    engine.compare_and_swap(engine.state.version, data={"x": 1})  # the ticket was released


def test_loser_in_threads_finishes_while_others_keep_writing():
    engine = TheusEngine({"domain": {"n": 0, "hits": 0}}, retry_policy=RetryPolicy(max_attempts=10_000, deadline_ms=None))
    stop = threading.Event()
    loser_attempts = []

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def slow_loser(ctx):
        loser_attempts.append(1)
        seen = ctx.domain.n
        # Wait until a competitor has committed the same path on top of our base (first attempts only).
        if len(loser_attempts) <= 3:
            base = engine._core.state.version
            while engine._core.state.version == base and not stop.is_set():
                threading.Event().wait(0.001)
        return seen + 1000

    def competitor(_):
        while not stop.is_set():
            try:
                engine.execute_sync(inc)
            except ContextError:
                pass

    competitors = [threading.Thread(target=competitor, args=(i,)) for i in range(3)]
    for t in competitors:
        t.start()
    try:
        engine.execute_sync(slow_loser)
    finally:
        stop.set()
        for t in competitors:
            t.join()
    assert len(loser_attempts) >= 4
    assert engine._core._stats()["gave_up"] == 0
    assert engine.state.data["domain"]["n"] >= 1000  # the loser's write landed


# ---- asyncio (§15 B) ---------------------------------------------------------------------------


async def test_example_b_disjoint_async_writers_commit_without_retry():
    e = TheusEngine({"domain": {"a": 0, "b": 0}})
    started = []

    @process(outputs=["domain.a"])
    async def set_a(ctx):
        started.append("a")
        await asyncio.sleep(0)
        ctx.domain.a = 1

    @process(outputs=["domain.b"])
    async def set_b(ctx):
        started.append("b")
        await asyncio.sleep(0)
        ctx.domain.b = 2

    await asyncio.gather(e.execute(set_a), e.execute(set_b))
    assert e.state.data["domain"].to_dict() == {"a": 1, "b": 2}
    assert sorted(started) == ["a", "b"]
    assert e._core._stats()["conflicts"] == 0
    assert e.state.version == 3


async def test_overlapping_async_writers_of_one_path_are_serialized_by_retry():
    e = TheusEngine({"domain": {"n": 0}})
    gate = asyncio.Event()
    calls = []

    @process(inputs=["domain.n"], outputs=["domain.n"])
    async def slow_inc(ctx):
        value = ctx.domain.n
        calls.append(value)
        if len(calls) == 1:
            await gate.wait()
        return value + 1

    async def fast():
        await asyncio.sleep(0)
        await e.execute(inc)
        gate.set()

    await asyncio.gather(e.execute(slow_inc), fast())
    assert e.state.data["domain"]["n"] == 2
    assert calls == [0, 1]
    assert e._core._stats()["conflicts"] == 1


async def test_many_async_increments_all_land():
    e = TheusEngine({"domain": {"n": 0}})

    @process(inputs=["domain.n"], outputs=["domain.n"])
    async def ainc(ctx):
        value = ctx.domain.n
        await asyncio.sleep(0)
        return value + 1

    await asyncio.gather(*(e.execute(ainc) for _ in range(50)))
    assert e.state.data["domain"]["n"] == 50
    assert e.state.version == 51


@pytest.mark.parametrize("strict_cas", [False, True])
def test_counter_threads_under_both_cas_modes(strict_cas):
    engine = TheusEngine({"domain": {"n": 0}}, strict_cas=strict_cas)

    def worker(_):
        for _ in range(200):
            engine.execute_sync(inc)

    run_threads(worker, count=4)
    assert engine.state.data["domain"]["n"] == 800
