"""Shared helpers for the Python benchmarks: best-of-N timing, a summary table, JSONL results.

Every figure is measured beside its baseline in the same run; results are appended, one JSON
object per figure, to $THEUS_BENCH_RESULTS (default build/bench/results.jsonl).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional


def per_call(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Best time per call in seconds over `repeats` runs of `n` calls (noise only adds time)."""
    for _ in range(min(n, 1000)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


@dataclass
class Figure:
    bench: str
    metric: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    target: Optional[str] = None
    met: Optional[bool] = None


@dataclass
class Report:
    title: str
    figures: List[Figure] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Figure:
        f = Figure(*args, **kwargs)
        self.figures.append(f)
        return f

    def print_and_save(self) -> None:
        print(f"== {self.title}")
        print(f"{'metric':46} {'ours':>18} {'baseline':>18} {'ratio':>8}  baseline is")
        for f in self.figures:
            ratio = f.value / f.baseline_value if f.baseline_value else float("nan")
            print(f"{f.metric:46} {_fmt(f.value, f.unit):>18} {_fmt(f.baseline_value, f.unit):>18} "
                  f"{ratio:8.2f}  {f.baseline}")
        targets = [f for f in self.figures if f.target]
        if targets:
            print("-- targets (DESIGN.md section 4)")
            for f in targets:
                print(f"[{'MET   ' if f.met else 'MISSED'}] {f.target}: {_fmt(f.value, f.unit)}")
        path = os.environ.get("THEUS_BENCH_RESULTS", os.path.join("build", "bench", "results.jsonl"))
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            for f in self.figures:
                out.write(json.dumps({"bench": f.bench, "metric": f.metric, "value": f.value, "unit": f.unit,
                                      "baseline": f.baseline, "baseline_value": f.baseline_value}) + "\n")
        print(f"{len(self.figures)} figure(s) appended to {path}\n")


def _fmt(v: float, unit: str) -> str:
    if unit == "us":
        return f"{v:.2f} us"
    if unit == "ns":
        return f"{v:.0f} ns"
    if unit == "x":
        return f"{v:.2f} x"
    if unit == "msg/s":  # throughput, shown with its cost per message
        return f"{v / 1e3:,.0f}k/s {1e6 / v:.2f} us"
    return f"{v:.3g} {unit}"
