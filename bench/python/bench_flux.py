"""Flux workflows from Python: process steps per second through TheusEngine.execute_workflow (every
step is a full transactional execute: contract, commit, sync-back) and through a bare
WorkflowEngine.execute, each beside a plain Python loop calling the same functions in the same run.
Target (DESIGN.md section 4): >= 100,000 trivial steps/s through execute_workflow."""
from __future__ import annotations

import asyncio
import time

from _bench import Report

from theus import TheusEngine, process
from theus.workflow import WorkflowEngine

STEPS = 50_000
REPEATS = 5


@process(outputs=[])
def noop(ctx):
    pass


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


@process(outputs=[])
async def anoop(ctx):
    pass


def best_rate(fn, steps: int) -> float:
    """Best steps/s over REPEATS runs of fn() (which performs `steps` steps)."""
    fn()  # warm-up (parsing cache, allocator)
    best = 0.0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        best = max(best, steps / (time.perf_counter() - t0))
    return best


def main() -> None:
    report = Report(f"bench_flux: Flux process steps per second ({STEPS:,} steps per run, best of {REPEATS})")
    engine = TheusEngine({"domain": {"n": 0}})
    for p in (noop, inc, anoop):
        engine.register(p)

    # 1. Trivial steps: a while loop around a process that does nothing (ops = 1 + 2 per step).
    trivial = "steps:\n  - flux: while\n    condition: 'True'\n    do: [noop]\n"

    def run_trivial():
        try:
            asyncio.run(engine.execute_workflow(trivial, max_ops=2 * STEPS + 1))
        except RuntimeError as exc:  # the safety trip ends the loop after exactly STEPS steps
            assert "Safety Trip" in str(exc), exc

    def plain_trivial():
        for _ in range(STEPS):
            noop(None)

    ours = best_rate(run_trivial, STEPS)
    report.add("bench_flux", "execute_workflow_trivial_steps_per_s", ours, "steps/s",
               "plain Python loop calling the same function", best_rate(plain_trivial, STEPS),
               target="Flux trivial steps through execute_workflow >= 100,000/s", met=ours >= 100_000)

    # 2. Counter loop: the condition reads the committed state, the process reads and writes it.
    counter = f"steps:\n  - flux: while\n    condition: 'domain.n < {STEPS}'\n    do: [inc]\n"

    def run_counter():
        engine.compare_and_swap(engine.state.version, data={"domain": {"n": 0}})
        names = asyncio.run(engine.execute_workflow(counter, max_ops=10**9))
        assert len(names) == STEPS

    def plain_counter():
        state = {"domain": {"n": 0}}
        while state["domain"]["n"] < STEPS:
            state["domain"]["n"] = state["domain"]["n"] + 1

    report.add("bench_flux", "execute_workflow_read_write_steps_per_s", best_rate(run_counter, STEPS), "steps/s",
               "plain Python while loop on a dict", best_rate(plain_counter, STEPS))

    # 3. Coroutine processes, awaited on the caller's loop.
    async_flow = "steps:\n  - flux: while\n    condition: 'True'\n    do: [anoop]\n"
    async_steps = STEPS // 5

    def run_async():
        try:
            asyncio.run(engine.execute_workflow(async_flow, max_ops=2 * async_steps + 1))
        except RuntimeError as exc:
            assert "Safety Trip" in str(exc), exc

    inner = anoop.__wrapped__  # the undecorated coroutine function

    async def plain_awaits():
        for _ in range(async_steps):
            await inner(None)

    report.add("bench_flux", "execute_workflow_async_steps_per_s", best_rate(run_async, async_steps), "steps/s",
               "plain loop awaiting the same coroutine function", best_rate(lambda: asyncio.run(plain_awaits()),
                                                                             async_steps))

    # 4. The interpreter alone: WorkflowEngine.execute with a Python executor.
    wf = WorkflowEngine(trivial.replace("noop", "step"), max_ops=2 * STEPS + 1)
    calls = []

    def executor(name):
        calls.append(name)

    def run_interpreter():
        calls.clear()
        try:
            wf.execute({}, executor)
        except RuntimeError as exc:
            assert "Safety Trip" in str(exc), exc
        assert len(calls) == STEPS

    def plain_executor_loop():
        calls.clear()
        for _ in range(STEPS):
            executor("step")

    report.add("bench_flux", "workflow_engine_execute_steps_per_s", best_rate(run_interpreter, STEPS), "steps/s",
               "plain Python loop calling the executor", best_rate(plain_executor_loop, STEPS))
    report.print_and_save()


if __name__ == "__main__":
    main()
