"""Proxy read `ctx.domain.a.b` inside a process against the same read on a plain dict.
Target: <= 5x the dict read."""
from __future__ import annotations

import time

from _bench import Report

from theus import TheusEngine, process

N = 200_000


def best_loop(body, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        body()
        best = min(best, (time.perf_counter() - t0) / N)
    return best


def main() -> None:
    report = Report("bench_proxy_read: nested read inside a process (best of 5, per read)")
    timings = {}

    @process(inputs=["domain.a.b"], outputs=[])
    def strict_reader(ctx):
        def body():
            for _ in range(N):
                ctx.domain.a.b
        timings["strict"] = best_loop(body)

    @process(inputs=["domain"], outputs=[])
    def root_reader(ctx):
        def body():
            for _ in range(N):
                ctx.domain.a.b
        timings["root"] = best_loop(body)

    engine = TheusEngine({"domain": {"a": {"b": 1}, "other": 2}})
    engine.execute_sync(strict_reader)
    engine.execute_sync(root_reader)

    plain = {"domain": {"a": {"b": 1}, "other": 2}}

    def dict_body():
        for _ in range(N):
            plain["domain"]["a"]["b"]

    t_dict = best_loop(dict_body)

    class Obj:
        pass

    o = Obj()
    o.domain = Obj()
    o.domain.a = Obj()
    o.domain.a.b = 1

    def attr_body():
        for _ in range(N):
            o.domain.a.b

    t_attr = best_loop(attr_body)
    for key, label in (("strict", "declared leaf domain.a.b (key-level checks)"), ("root", "declared root domain")):
        ratio = timings[key] / t_dict
        report.add("bench_proxy_read", f"proxy_read_{key}", timings[key] * 1e9, "ns", "plain dict read", t_dict * 1e9,
                   target=f"proxy read <= 5x dict ({label}): {ratio:.2f}x", met=ratio <= 5)
    report.add("bench_proxy_read", "proxy_read_strict_vs_attributes", timings["strict"] * 1e9, "ns",
               "plain attribute read", t_attr * 1e9)
    report.print_and_save()


if __name__ == "__main__":
    main()
