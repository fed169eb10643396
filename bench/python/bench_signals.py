"""SignalHub publish -> recv with one subscriber, against queue.Queue (blocking) and asyncio.Queue
(asyncio) driven by the same protocol in the same run:
  * throughput, threads: a publisher thread and a receiver thread; bursts of 100 messages, then
    the publisher waits for an ack sent back on a second channel of the same kind (so a receiver
    never falls behind the hub's 128-message window); plus single-thread publish-then-recv batches;
  * throughput, asyncio: a producer task and a consumer task on one loop, same bursts and acks;
  * round-trip latency: ping-pong between two threads / two tasks over two channels.
Targets (DESIGN.md section 4): >= 500,000 msg/s blocking, >= 100,000 msg/s asyncio.
Usage: bench_signals.py [--build DIR]  (DIR/python holds theus_core; default: PYTHONPATH)."""
from __future__ import annotations

import asyncio
import os
import queue
import sys
import threading
import time

from _bench import Report

if sys.argv[1:2] == ["--build"]:
    _root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path[:0] = [os.path.join(_root, "python"), os.path.join(os.path.abspath(sys.argv[2]), "python")]

from theus import SignalHub  # noqa: E402

BURST = 100  # below the 128-message lag window
MSG = "sig_tick:42"  # a typical latched signal, "<topic>:<payload>"
REPEATS = 3


def best_rate(run, n: int) -> float:
    """Messages per second: best of REPEATS runs of `run(n)` (noise only slows a run down)."""
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run(n)
        best = min(best, time.perf_counter() - t0)
    return n / best


# ---- channels with one interface: send(msg), recv() -> msg, and the asyncio flavour ---------------


def hub_channel():
    hub = SignalHub()
    return hub.publish, hub.subscribe().recv


def queue_channel():
    q = queue.Queue()
    return q.put, q.get


def hub_channel_async():
    hub = SignalHub()
    return hub.publish, hub.subscribe().recv_async


def queue_channel_async():
    q = asyncio.Queue()
    return q.put_nowait, q.get


# ---- blocking ---------------------------------------------------------------------------------------


def threads_throughput(make_channel):
    def run(n):
        send, recv = make_channel()
        ack, wait_ack = make_channel()

        def consume():
            for _ in range(n // BURST):
                for _ in range(BURST):
                    recv()
                ack("ok")

        consumer = threading.Thread(target=consume)
        consumer.start()
        for _ in range(n // BURST):
            for _ in range(BURST):
                send(MSG)
            wait_ack()
        consumer.join()

    return run


def batch_throughput(make_channel):
    def run(n):
        send, recv = make_channel()
        for _ in range(n // BURST):
            for _ in range(BURST):
                send(MSG)
            for _ in range(BURST):
                recv()

    return run


def threads_ping_pong(make_channel):
    def run(n):
        ping, recv_ping = make_channel()
        pong, recv_pong = make_channel()

        def echo():
            for _ in range(n):
                pong(recv_ping())

        echoer = threading.Thread(target=echo)
        echoer.start()
        for _ in range(n):
            ping(MSG)
            recv_pong()
        echoer.join()

    return run


# ---- asyncio ----------------------------------------------------------------------------------------


def tasks_throughput(make_channel):
    async def main(n):
        send, recv = make_channel()
        ack, wait_ack = make_channel()

        async def consume():
            for _ in range(n // BURST):
                for _ in range(BURST):
                    await recv()
                ack("ok")

        consumer = asyncio.ensure_future(consume())
        for _ in range(n // BURST):
            for _ in range(BURST):
                send(MSG)
            await wait_ack()
        await consumer

    return lambda n: asyncio.run(main(n))


def tasks_ping_pong(make_channel):
    async def main(n):
        ping, recv_ping = make_channel()
        pong, recv_pong = make_channel()

        async def echo():
            for _ in range(n):
                pong(await recv_ping())

        echoer = asyncio.ensure_future(echo())
        for _ in range(n):
            ping(MSG)
            await recv_pong()
        await echoer

    return lambda n: asyncio.run(main(n))


def main() -> None:
    report = Report("bench_signals: publish -> recv, one subscriber (best of 3; ratio = ours / baseline)")
    rows = [
        # metric, ours, baseline, baseline name, n, target (min msg/s)
        ("blocking_threads_throughput", threads_throughput(hub_channel), threads_throughput(queue_channel),
         "queue.Queue, same protocol", 200_000, 500_000),
        ("blocking_single_thread_batches", batch_throughput(hub_channel), batch_throughput(queue_channel),
         "queue.Queue, same protocol", 200_000, None),
        ("asyncio_tasks_throughput", tasks_throughput(hub_channel_async), tasks_throughput(queue_channel_async),
         "asyncio.Queue, same protocol", 100_000, 100_000),
    ]
    for metric, ours, base, base_name, n, target in rows:
        rate, base_rate = best_rate(ours, n), best_rate(base, n)
        kind = "asyncio" if metric.startswith("asyncio") else "blocking"
        report.add("bench_signals", metric, rate, "msg/s", base_name, base_rate,
                   target=target and f"publish->recv {kind} >= {target:,} msg/s",
                   met=target and rate >= target)
    for metric, ours, base, base_name, n in [
        ("blocking_ping_pong_round_trip", threads_ping_pong(hub_channel), threads_ping_pong(queue_channel),
         "queue.Queue, two threads", 10_000),
        ("asyncio_ping_pong_round_trip", tasks_ping_pong(hub_channel_async), tasks_ping_pong(queue_channel_async),
         "asyncio.Queue, two tasks", 20_000),
    ]:
        report.add("bench_signals", metric, 1e6 / best_rate(ours, n), "us", base_name, 1e6 / best_rate(base, n))
    report.print_and_save()


if __name__ == "__main__":
    main()
