"""Processes and tasks the parallel tests send to worker processes. Worker processes are started
with ``spawn`` and import functions by module name, so they live in this importable module (not
in a test file and not in closures)."""
import os
import signal
import time

from theus import process
from theus.context import HeavyZoneAllocator
from theus.structures import StateUpdate


@process(inputs=[], outputs=["domain.total"], parallel=True)
def partial_sum(ctx):
    arr = ctx.heavy["frames"]
    return float(arr[ctx.input["lo"]:ctx.input["hi"]].sum())


@process(inputs=[], outputs=["domain.worker_pid"], parallel=True)
def worker_pid(ctx):
    return os.getpid()


@process(inputs=[], outputs=[], parallel=True)
def scale_in_place(ctx):
    """Writes into the shared array: the parent sees the change without any copy."""
    arr = ctx.heavy["frames"]
    arr *= ctx.input["factor"]
    return None


@process(inputs=[], outputs=["heavy.doubled", "domain.note"], parallel=True)
def publish_view(ctx):
    """Returns a heavy write: a view of the shared input travels back as a handle."""
    arr = ctx.heavy["frames"]
    return StateUpdate(heavy={"doubled": arr[::2]}, data={"domain.note": "published"})


@process(inputs=[], outputs=["domain.total"], parallel=True)
def writes_undeclared(ctx):
    return StateUpdate(key="domain.secret", val=1)


@process(inputs=[], outputs=["domain.total"], parallel=True)
def raises_in_worker(ctx):
    raise ValueError(f"bad input {ctx.input['x']!r}")


@process(inputs=[], outputs=["domain.total"], parallel=True)
def allocate_then_die(ctx):
    """Allocates a registered segment, reports it, then is killed with SIGKILL mid-task."""
    arr = HeavyZoneAllocator().alloc("scratch", (1024,), "float64")
    arr[:] = 1.0
    with open(ctx.input["report"], "w", encoding="utf-8") as fh:
        fh.write(f"{arr.shm.name} {os.getpid()}")
    os.kill(os.getpid(), signal.SIGKILL)
    return 1.0


@process(inputs=[], outputs=["domain.total"], parallel=True)
def allocate_then_wait(ctx):
    """Allocates a registered segment, reports it and its pid, then waits to be killed."""
    arr = HeavyZoneAllocator().alloc("waiting", (256,), "int64")
    report = ctx.input["report"]
    with open(report + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(f"{arr.shm.name} {os.getpid()}")
    os.replace(report + ".tmp", report)
    time.sleep(120)
    return 1.0


def attach_and_sum(arr):
    """A plain task: the array arrives as a handle and is summed in the worker."""
    return float(arr.sum()), os.getpid()


def heavy_context_keys(ctx):
    return sorted(ctx.heavy.keys()), ctx.input
