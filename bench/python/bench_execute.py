"""execute() of a trivial process (read 1 path, write 1 path, commit) against a plain Python call
of the same function and a naive transactional wrapper (dict + copy.deepcopy + lock); then the
cost as the state grows from 10^3 to 10^6 keys. Targets: <= 10 us per execute; flat."""
from __future__ import annotations

import asyncio
import copy
import threading

from _bench import Report, per_call

from theus import TheusEngine, process


@process(inputs=["domain.a.b"], outputs=["domain.n"])
def trivial(ctx):
    return ctx.domain.a.b + 1


def plain(state):
    state["domain"]["n"] = state["domain"]["a"]["b"] + 1


class NaiveTransactional:
    """The usual hand-rolled transaction: lock, deep copy, run, swap."""

    def __init__(self, state):
        self.state = state
        self.lock = threading.Lock()

    def execute(self, fn):
        with self.lock:
            work = copy.deepcopy(self.state)
            fn(work)
            self.state = work


def main() -> None:
    report = Report("bench_execute: one process execution (best of 5, per call)")
    state = {"domain": {"a": {"b": 1}, "n": 0}}
    engine = TheusEngine(copy.deepcopy(state))
    t_sync = per_call(lambda: engine.execute_sync(trivial), 20000)
    t_plain = per_call(lambda: plain(state), 200000)
    naive = NaiveTransactional(copy.deepcopy(state))
    t_naive = per_call(lambda: naive.execute(plain), 20000)

    async def loop_execute(n):
        import time

        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                await engine.execute(trivial)
            best = min(best, (time.perf_counter() - t0) / n)
        return best

    t_async = asyncio.run(loop_execute(20000))
    report.add("bench_execute", "execute_sync_trivial", t_sync * 1e6, "us", "plain Python call", t_plain * 1e6,
               target="execute of a trivial process <= 10 us", met=t_sync * 1e6 <= 10)
    report.add("bench_execute", "execute_sync_trivial_vs_naive_tx", t_sync * 1e6, "us",
               "naive transactional wrapper (deepcopy + lock)", t_naive * 1e6)
    report.add("bench_execute", "await_execute_trivial", t_async * 1e6, "us", "plain Python call", t_plain * 1e6,
               target="await execute of a trivial process <= 10 us", met=t_async * 1e6 <= 10)

    # Flatness: the same process with the domain grown to n keys.
    small = small_naive = None
    for n in (1_000, 10_000, 100_000, 1_000_000):
        big = {"a": {"b": 1}, "n": 0}
        big.update({f"k{i}": i for i in range(n)})
        eng = TheusEngine({"domain": big})
        t = per_call(lambda: eng.execute_sync(trivial), 5000)
        naive_big = NaiveTransactional({"domain": dict(big)})
        reps = max(3, 2_000_000 // n // 20)
        t_naive_big = per_call(lambda: naive_big.execute(plain), min(reps, 2000), repeats=3)
        small = small or t
        small_naive = small_naive or t_naive_big
        report.add("bench_execute", f"execute_sync_state_{n}_keys", t * 1e6, "us",
                   "naive transactional wrapper (deepcopy + lock)", t_naive_big * 1e6)
        del eng
    report.add("bench_execute", "execute_flatness_1e6_over_1e3", t / small, "x", "naive wrapper growth 10^6 / 10^3",
               t_naive_big / small_naive,
               target="execute cost flat as the state grows (10^6 / 10^3 <= 3)", met=t / small <= 3)
    report.print_and_save()


if __name__ == "__main__":
    main()
