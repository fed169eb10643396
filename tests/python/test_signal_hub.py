"""SignalHub / SignalReceiver from Python (workflow_signals_audit.md §2.1-2.3): fan-out and FIFO,
lag and recovery, close, receiver lifetime, payloads, blocking recv across threads, recv_async
(same loop, other thread, wait_for, cancellation, concurrent waiters), engine and State hubs.
The basics (publish count, subscription point, TypeError, one recv_async) are in
test_signals_outbox.py. No timing thresholds: timeouts only bound a hang."""
import asyncio
import gc
import subprocess
import sys
import threading

import pytest

from conftest import subprocess_env
from theus import SignalHub, TheusEngine, process
from theus_core import State

SAFETY = 30  # seconds; only reached when the behaviour under test is broken


def msgs(n, prefix="m"):
    return [f"{prefix}{i}" for i in range(n)]


def publish_all(hub, messages):
    for m in messages:
        hub.publish(m)


def drain(rx, n):
    return [rx.recv() for _ in range(n)]


def in_thread(fn):
    """Runs fn in a daemon thread; returns a callable giving its result (or raising its error)."""
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()

    def result():
        t.join(SAFETY)
        assert not t.is_alive(), "thread still blocked"
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def reader_count(loop):
    return len(loop._selector.get_map())  # the default (selector) event loop on Unix


# ---- fan-out, FIFO, lag ---------------------------------------------------------------------------


def test_every_receiver_gets_every_message_in_order():
    hub = SignalHub()
    receivers = [hub.subscribe() for _ in range(3)]
    publish_all(hub, msgs(100))
    for rx in receivers:
        assert drain(rx, 100) == msgs(100)
        assert rx.try_recv() is None


def test_interleaved_publish_and_recv_keep_fifo_per_receiver():
    hub = SignalHub()
    fast, slow = hub.subscribe(), hub.subscribe()
    for i in range(150):  # the slow one ends 100 behind: no lag
        hub.publish(f"m{i}")
        assert fast.recv() == f"m{i}"
        if i % 3 == 2:
            assert slow.recv() == f"m{i // 3}"


def test_one_hundred_unread_never_lag():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(100))
    assert drain(rx, 100) == msgs(100)


def test_exactly_128_unread_do_not_lag():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(128))
    assert drain(rx, 128) == msgs(128)


def test_150_unread_lag_once_then_resume_from_oldest_retained():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(150))
    with pytest.raises(RuntimeError, match=r"^Channel Lagged: missed 22 messages$"):
        rx.recv()
    assert drain(rx, 128) == msgs(150)[22:]
    assert rx.try_recv() is None


def test_receiver_can_lag_again_later():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(129))
    with pytest.raises(RuntimeError, match=r"missed 1 messages$"):
        rx.recv()
    assert rx.recv() == "m1"
    publish_all(hub, msgs(200, "n"))  # 127 + 200 unread: 199 lost
    with pytest.raises(RuntimeError, match=r"^Channel Lagged: missed 199 messages$"):
        rx.recv()
    assert drain(rx, 128) == msgs(200, "n")[72:]


def test_lag_is_per_receiver():
    hub = SignalHub()
    lagging, current = hub.subscribe(), hub.subscribe()
    for m in msgs(150):
        hub.publish(m)
        assert current.recv() == m
    with pytest.raises(RuntimeError, match="missed 22 messages"):
        lagging.recv()
    assert lagging.recv() == "m22"


async def test_recv_async_reports_lag_then_resumes():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(150))
    with pytest.raises(RuntimeError, match=r"^Channel Lagged: missed 22 messages$"):
        await rx.recv_async()
    assert [await rx.recv_async() for _ in range(128)] == msgs(150)[22:]


# ---- close and receiver lifetime ------------------------------------------------------------------


def test_channel_closed_after_last_hub_handle_is_gone():
    hub = SignalHub()
    rx = hub.subscribe()
    hub.publish("last words")
    del hub
    gc.collect()
    assert rx.recv() == "last words"  # drains first
    for _ in range(2):  # then stays closed
        with pytest.raises(StopAsyncIteration, match=r"^Channel Closed$"):
            rx.recv()


async def test_recv_async_raises_channel_closed():
    hub = SignalHub()
    rx = hub.subscribe()
    hub.publish("last words")
    del hub
    gc.collect()
    assert await rx.recv_async() == "last words"
    with pytest.raises(StopAsyncIteration, match=r"^Channel Closed$"):
        await rx.recv_async()


async def test_pending_recv_async_is_woken_by_close():
    hub = SignalHub()
    rx = hub.subscribe()
    waiting = asyncio.ensure_future(rx.recv_async())
    await asyncio.sleep(0)
    assert not waiting.done()
    del hub
    gc.collect()
    with pytest.raises(StopAsyncIteration, match="Channel Closed"):
        await asyncio.wait_for(waiting, SAFETY)


def test_blocked_recv_is_woken_by_close():
    hub = SignalHub()
    rx = hub.subscribe()
    started = threading.Event()

    def wait():
        started.set()
        return rx.recv()

    result = in_thread(wait)
    started.wait(SAFETY)
    del hub
    gc.collect()
    with pytest.raises(StopAsyncIteration, match="Channel Closed"):
        result()


def test_another_handle_keeps_the_channel_open():
    engine = TheusEngine({"domain": {"n": 0}})
    handle = engine.state.signal
    rx = handle.subscribe()
    del handle
    gc.collect()
    engine.state.signal.publish("open")  # the engine still holds the channel
    assert rx.recv() == "open"


def test_garbage_collected_receivers_are_not_counted():
    hub = SignalHub()
    keep = hub.subscribe()
    dropped = [hub.subscribe() for _ in range(3)]
    assert hub.publish("four") == 4
    del dropped
    gc.collect()
    assert hub.publish("one") == 1
    assert hub.receiver_count == 1
    assert drain(keep, 2) == ["four", "one"]


async def test_receiver_with_cancelled_wait_is_collected():
    hub = SignalHub()
    rx = hub.subscribe()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(rx.recv_async(), 0.01)
    del rx
    gc.collect()
    assert hub.publish("nobody") == 0


def test_receiver_abandoned_with_its_loop_is_collected():
    hub = SignalHub()

    def abandon():
        # A task left waiting on a closed loop: receiver -> future -> task -> frame -> receiver.
        loop = asyncio.new_event_loop()
        rx = hub.subscribe()

        async def wait_forever():
            return await rx.recv_async()

        loop.create_task(wait_forever())
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    abandon()
    gc.collect()
    assert hub.publish("nobody") == 0


# ---- payloads -------------------------------------------------------------------------------------

PAYLOADS = ["", "a\0b\0", "x" * (4 << 20), "\U0001F600 \U0001D11E caf\u00e9 \u20ac", "\0"]


def test_payloads_round_trip_through_recv():
    hub = SignalHub()
    a, b = hub.subscribe(), hub.subscribe()
    publish_all(hub, PAYLOADS)
    for rx in (a, b):
        assert drain(rx, len(PAYLOADS)) == PAYLOADS


async def test_payloads_round_trip_through_recv_async():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, PAYLOADS)
    assert [await rx.recv_async() for _ in PAYLOADS] == PAYLOADS


def test_multi_megabyte_unicode_payload_round_trips():
    hub = SignalHub()
    rx = hub.subscribe()
    big = "\U0001F600\u00e9z" * (1 << 20)
    hub.publish(big)
    assert rx.recv() == big


# ---- blocking recv across threads -----------------------------------------------------------------


def test_blocking_recv_releases_the_gil_while_waiting():
    # In a child process: if recv() held the GIL the publishing thread could never run; the child
    # would hang and the timeout below would fail the test instead of hanging the suite.
    code = (
        "import threading\n"
        "from theus_core import SignalHub\n"
        "hub = SignalHub(); rx = hub.subscribe(); progress = []\n"
        "def other():\n"
        "    for i in range(1000): progress.append(i)\n"
        "    hub.publish('after %d' % len(progress))\n"
        "t = threading.Thread(target=other)\n"
        "t.start()\n"
        "print(rx.recv())\n"
        "t.join()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "after 1000"


def test_blocking_recv_is_woken_by_publish_from_another_thread():
    hub = SignalHub()
    rx = hub.subscribe()
    started = threading.Event()

    def wait():
        started.set()
        return rx.recv()

    result = in_thread(wait)
    started.wait(SAFETY)
    hub.publish("wake")
    assert result() == "wake"


def test_publisher_thread_and_receiver_thread_lose_nothing():
    hub, acks = SignalHub(), SignalHub()
    rx, ack_rx = hub.subscribe(), acks.subscribe()
    expected = msgs(5000)

    def consume():
        got = []
        for start in range(0, len(expected), 100):
            got.extend(drain(rx, 100))
            acks.publish(str(start))
        return got

    result = in_thread(consume)
    for start in range(0, len(expected), 100):  # bursts of 100, then wait for the ack
        publish_all(hub, expected[start:start + 100])
        assert ack_rx.recv() == str(start)
    assert result() == expected


def test_concurrent_recv_on_one_receiver_delivers_each_message_once():
    hub = SignalHub()
    rx = hub.subscribe()
    expected = msgs(100)
    results = [in_thread(lambda: [rx.recv() for _ in range(25)]) for _ in range(4)]
    publish_all(hub, expected)
    got = [m for r in results for m in r()]
    assert sorted(got) == sorted(expected)


# ---- recv_async -----------------------------------------------------------------------------------


async def test_recv_async_resolves_on_publish_from_the_same_loop():
    hub = SignalHub()
    rx = hub.subscribe()
    waiting = asyncio.ensure_future(rx.recv_async())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()
    hub.publish("same loop")
    assert await asyncio.wait_for(waiting, SAFETY) == "same loop"


async def test_recv_async_resolves_on_publish_from_another_thread():
    hub = SignalHub()
    rx = hub.subscribe()
    waiting = asyncio.ensure_future(rx.recv_async())
    await asyncio.sleep(0)
    publisher = threading.Thread(target=hub.publish, args=("other thread",))
    publisher.start()
    assert await asyncio.wait_for(waiting, SAFETY) == "other thread"
    publisher.join()


async def test_recv_async_stream_from_another_thread_arrives_in_order():
    hub, acks = SignalHub(), SignalHub()
    rx, ack_rx = hub.subscribe(), acks.subscribe()
    expected = msgs(2000)

    def produce():
        for start in range(0, len(expected), 100):
            publish_all(hub, expected[start:start + 100])
            ack_rx.recv()

    result = in_thread(produce)
    got = []
    for start in range(0, len(expected), 100):
        for _ in range(100):
            got.append(await asyncio.wait_for(rx.recv_async(), SAFETY))
        acks.publish("ack")
    result()
    assert got == expected


async def test_wait_for_timeout_leaves_the_receiver_usable():
    hub = SignalHub()
    rx = hub.subscribe()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(rx.recv_async(), 0.01)
    hub.publish("next")
    hub.publish("after")
    assert await asyncio.wait_for(rx.recv_async(), SAFETY) == "next"
    assert await asyncio.wait_for(rx.recv_async(), SAFETY) == "after"


async def test_message_published_after_timeout_is_not_lost():
    hub = SignalHub()
    rx = hub.subscribe()
    for i in range(5):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(rx.recv_async(), 0.001)
        hub.publish(f"m{i}")  # with no waiter left
        await asyncio.sleep(0)  # let a stale wake-up run, if any
        assert await asyncio.wait_for(rx.recv_async(), SAFETY) == f"m{i}"
    assert rx.try_recv() is None


async def test_many_cancelled_waits_leak_no_reader():
    loop = asyncio.get_running_loop()
    hub = SignalHub()
    rx = hub.subscribe()
    baseline = reader_count(loop)
    for _ in range(200):
        waiting = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert reader_count(loop) <= baseline + 1  # at most one reader per receiver
    hub.publish("finally")
    assert await asyncio.wait_for(rx.recv_async(), SAFETY) == "finally"
    del rx, waiting
    gc.collect()
    assert reader_count(loop) == baseline  # gone with the receiver
    assert hub.publish("nobody") == 0


async def test_dropped_receiver_stops_watching_its_descriptor():
    loop = asyncio.get_running_loop()
    hub = SignalHub()
    baseline = reader_count(loop)
    for i in range(50):  # a fresh receiver per message, each waiting once
        rx = hub.subscribe()
        waiting = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0)
        hub.publish(f"m{i}")
        assert await asyncio.wait_for(waiting, SAFETY) == f"m{i}"
        del rx, waiting
    gc.collect()
    assert reader_count(loop) == baseline
    assert hub.publish("nobody") == 0


async def test_cancelled_future_from_recv_async_leaves_the_message_queued():
    hub = SignalHub()
    rx = hub.subscribe()
    fut = rx.recv_async()
    fut.cancel()
    hub.publish("kept")
    await asyncio.sleep(0)
    assert await asyncio.wait_for(rx.recv_async(), SAFETY) == "kept"


async def test_two_concurrent_recv_async_get_different_messages():
    hub = SignalHub()
    rx = hub.subscribe()
    first = asyncio.ensure_future(rx.recv_async())
    second = asyncio.ensure_future(rx.recv_async())
    await asyncio.sleep(0)
    hub.publish("a")
    hub.publish("b")
    got = await asyncio.wait_for(asyncio.gather(first, second), SAFETY)
    assert sorted(got) == ["a", "b"]


async def test_cancelling_one_of_two_waiters_hands_the_message_to_the_other():
    hub = SignalHub()
    rx = hub.subscribe()
    first = asyncio.ensure_future(rx.recv_async())
    second = asyncio.ensure_future(rx.recv_async())
    await asyncio.sleep(0)
    first.cancel()
    hub.publish("only")
    assert await asyncio.wait_for(second, SAFETY) == "only"
    assert first.cancelled()


async def test_many_concurrent_waiters_each_get_one_message():
    hub = SignalHub()
    rx = hub.subscribe()
    waiters = [asyncio.ensure_future(rx.recv_async()) for _ in range(20)]
    await asyncio.sleep(0)
    publish_all(hub, msgs(20))
    got = await asyncio.wait_for(asyncio.gather(*waiters), SAFETY)
    assert sorted(got) == sorted(msgs(20))


async def test_recv_async_and_blocking_recv_share_one_stream():
    hub = SignalHub()
    rx = hub.subscribe()
    publish_all(hub, msgs(4))
    assert [await rx.recv_async(), rx.recv(), await rx.recv_async(), rx.try_recv()] == msgs(4)


def test_recv_async_needs_a_running_loop():
    rx = SignalHub().subscribe()
    with pytest.raises(RuntimeError):
        rx.recv_async()


def test_receiver_works_across_successive_event_loops():
    hub = SignalHub()
    rx = hub.subscribe()

    async def one(expected):
        waiting = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0)
        hub.publish(expected)
        return await asyncio.wait_for(waiting, SAFETY)

    assert asyncio.run(one("first loop")) == "first loop"
    assert asyncio.run(one("second loop")) == "second loop"


# ---- engine and State hubs ------------------------------------------------------------------------


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


def test_engine_state_signal_handles_share_one_channel_across_versions():
    engine = TheusEngine({"domain": {"n": 0}})
    handles = [engine.state.signal]
    receivers = [handles[0].subscribe()]
    for _ in range(2):
        engine.execute_sync(inc)
        handles.append(engine.state.signal)
        receivers.append(handles[-1].subscribe())
    assert handles[0] is not handles[1]  # a new handle each time...
    assert handles[0].publish("from v1") == 3  # ...on the same channel
    with engine.transaction() as tx:
        tx.update(signal={"cmd": "go"})
    for rx in receivers:
        assert drain(rx, 2) == ["from v1", "cmd:go"]


def test_direct_state_gets_a_disconnected_hub():
    engine = TheusEngine({"domain": {"n": 0}})
    engine_rx = engine.state.signal.subscribe()
    state = State({"domain": {"n": 0}})
    own_rx = state.signal.subscribe()
    assert state.signal.publish("private") == 1  # only its own receiver
    assert own_rx.recv() == "private"
    assert engine_rx.try_recv() is None
    assert State().signal.publish("alone") == 0  # every State() is a new channel
