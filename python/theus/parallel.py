"""Parallel execution: the context a worker sees and the pools that run processes.

``engine.execute_parallel(name, **kwargs)`` (and ``@process(parallel=True)`` through
``engine.execute``) sends the registered function and a ``ParallelContext`` to a pool. The context
holds the call's keyword arguments and a snapshot of the heavy zone; heavy ``ShmArray`` values
travel as handles and attach to the same shared memory in the worker. The worker's return value
is the only channel back: the calling attempt commits it through the normal commit path.

``ProcessPool`` uses the ``spawn`` start method (functions must be importable at module top
level) and replaces its executor when a worker died, so one crashed task does not take the pool
down. ``InterpreterPool`` needs ``concurrent.interpreters`` (CPython 3.14+); elsewhere it raises
``RuntimeError`` and ``INTERPRETERS_SUPPORTED`` is False.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Dict, Optional

from .heavy import HeavyZoneWrapper

__all__ = [
    "ParallelContext",
    "ProcessPool",
    "InterpreterPool",
    "INTERPRETERS_SUPPORTED",
    "pool_from_env",
    "shared_test_task",
    "parallel_cpu_task",
    "slow_cpu_task",
]


def _interpreters_module() -> Any:
    try:
        if importlib.util.find_spec("concurrent.interpreters") is None:
            return None
        from concurrent import interpreters  # type: ignore[attr-defined]
    except ImportError:
        return None
    return interpreters


INTERPRETERS_SUPPORTED: bool = _interpreters_module() is not None


# ---- the worker's context ---------------------------------------------------------------------


class ParallelContext:
    """What a parallel process receives: ``domain`` / ``input`` (the call's keyword arguments) and
    ``heavy`` (a ``HeavyZoneWrapper`` over the heavy-zone snapshot). Nothing else: no global,
    log, outbox, transaction or state. Changing it in a worker has no effect on the engine."""

    __slots__ = ("domain", "heavy", "_heavy_raw")

    def __init__(self, domain: Optional[Dict[str, Any]] = None, heavy: Optional[Dict[str, Any]] = None) -> None:
        object.__setattr__(self, "domain", dict(domain or {}))
        raw = dict(heavy) if heavy is not None else None
        object.__setattr__(self, "_heavy_raw", raw)
        object.__setattr__(self, "heavy", HeavyZoneWrapper(raw) if raw is not None else {})

    @property
    def input(self) -> Dict[str, Any]:
        return self.domain

    @classmethod
    def from_state(cls, state: Any, **kwargs: Any) -> "ParallelContext":
        """A context over ``state``'s heavy zone (by reference; unreadable heavy maps are
        treated as empty) with ``kwargs`` as input."""
        try:
            source = state.heavy
            heavy = {k: source[k] for k in source.keys()}
        except Exception:  # noqa: BLE001 - a state without a readable heavy zone
            heavy = {}
        return cls(kwargs, heavy)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'ParallelContext' has no attribute '{name}': a parallel worker sees only input (domain) and heavy"
        )

    def __reduce__(self):
        return (ParallelContext, (self.domain, self._heavy_raw))

    def __repr__(self) -> str:
        heavy = list(self._heavy_raw) if self._heavy_raw is not None else []
        return f"<ParallelContext input={sorted(self.domain)} heavy={heavy}>"


# ---- process pool -----------------------------------------------------------------------------


def _worker_ready() -> int:
    return os.getpid()


class ProcessPool:
    """``size`` worker processes started with ``spawn``. ``submit(func, *args, **kwargs)`` returns
    a ``concurrent.futures.Future``; a worker that dies fails its futures with
    ``BrokenProcessPool`` and the next ``submit`` starts fresh workers."""

    def __init__(self, size: int = 2) -> None:
        if int(size) < 1:
            raise ValueError(f"ProcessPool size must be >= 1, got {size}")
        self.size = int(size)
        self._mp = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._executor: Optional[ProcessPoolExecutor] = self._new_executor()
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(max_workers=self.size, mp_context=self._mp)
        # A spawn-based executor starts workers on demand, and after a few sequential tasks it
        # believes idle workers exist and never starts more: start all of them now (in the
        # background; nothing waits for these no-op tasks).
        for _ in range(self.size):
            executor.submit(_worker_ready)
        return executor

    def submit(self, func: Callable, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._executor is None:
                raise RuntimeError("ProcessPool is shut down")
            try:
                return self._executor.submit(func, *args, **kwargs)
            except BrokenProcessPool:
                broken, self._executor = self._executor, self._new_executor()
                self.restarts += 1
            broken.shutdown(wait=False)
            return self._executor.submit(func, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait)

    def __enter__(self) -> "ProcessPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "shut down" if self._executor is None else "running"
        return f"<ProcessPool size={self.size} {state} restarts={self.restarts}>"


# ---- sub-interpreter pool ---------------------------------------------------------------------


def _interpreter_entry(payload: bytes) -> bytes:
    """Runs inside a sub-interpreter: extend ``sys.path`` with the caller's, unpickle the call,
    run it, and return ``("ok", result)`` or ``("err", exception)`` pickled."""
    import pickle as _pickle
    import sys as _sys

    path, call = _pickle.loads(payload)
    for entry in path:
        if entry not in _sys.path:
            _sys.path.append(entry)
    try:
        func, args, kwargs = _pickle.loads(call)
        return _pickle.dumps(("ok", func(*args, **kwargs)))
    except BaseException as exc:  # noqa: BLE001 - carried back to the caller
        return _pickle.dumps(("err", exc))


class InterpreterPool:
    """``size`` sub-interpreters served by a thread pool (threads ``TheusSubInterp*``). Requires
    ``concurrent.interpreters`` (CPython 3.14+): elsewhere the constructor raises RuntimeError.
    Calls are pickled together with ``sys.path``; a pickling error fails the returned future."""

    def __init__(self, size: int = 2) -> None:
        interpreters = _interpreters_module()
        if interpreters is None:
            raise RuntimeError(
                "InterpreterPool requires sub-interpreters (concurrent.interpreters, CPython 3.14+); "
                f"this is Python {sys.version.split()[0]}: use ProcessPool"
            )
        self.size = int(size)
        self._idle: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._all = [interpreters.create() for _ in range(self.size)]
        for interp in self._all:
            self._idle.put(interp)
        self._threads: Optional[ThreadPoolExecutor] = ThreadPoolExecutor(
            max_workers=self.size, thread_name_prefix="TheusSubInterp"
        )

    @staticmethod
    def is_compatible() -> bool:
        """True when a sub-interpreter can be created here."""
        interpreters = _interpreters_module()
        if interpreters is None:
            return False
        try:
            interp = interpreters.create()
            interp.close()
        except Exception:  # noqa: BLE001
            return False
        return True

    def submit(self, func: Callable, *args: Any, **kwargs: Any) -> Future:
        if self._threads is None:
            raise RuntimeError("InterpreterPool is shut down")
        try:
            payload = pickle.dumps((list(sys.path), pickle.dumps((func, args, kwargs))))
        except Exception as exc:  # noqa: BLE001
            failed: Future = Future()
            failed.set_exception(exc)
            return failed
        return self._threads.submit(self._run, payload)

    def _run(self, payload: bytes) -> Any:
        interp = self._idle.get()
        try:
            status, value = pickle.loads(interp.call(_interpreter_entry, payload))
        finally:
            self._idle.put(interp)
        if status == "err":
            raise value
        return value

    def shutdown(self, wait: bool = True) -> None:
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=wait)
        for interp in self._all:
            try:
                interp.close()
            except Exception:  # noqa: BLE001
                pass
        self._all = []

    def __repr__(self) -> str:
        return f"<InterpreterPool size={self.size}>"


def pool_from_env() -> Any:
    """The pool ``execute_parallel`` creates on first use: size ``THEUS_POOL_SIZE`` (4);
    ``THEUS_USE_PROCESSES=1`` -> ProcessPool; ``THEUS_FORCE_INTERPRETERS=1`` (when supported) or
    a working sub-interpreter -> InterpreterPool; else ProcessPool."""
    size = int(os.environ.get("THEUS_POOL_SIZE", "4"))
    if os.environ.get("THEUS_USE_PROCESSES") == "1":
        return ProcessPool(size)
    if os.environ.get("THEUS_FORCE_INTERPRETERS") == "1" and INTERPRETERS_SUPPORTED:
        return InterpreterPool(size)
    if InterpreterPool.is_compatible():
        return InterpreterPool(size)
    return ProcessPool(size)


# ---- demo tasks -------------------------------------------------------------------------------


def shared_test_task(x: Any, y: Any = 0) -> Dict[str, Any]:
    return {"sum": x + y, "context": "sub"}


def parallel_cpu_task(x: int) -> Dict[str, Any]:
    return {"x_squared": x * x, "pid": os.getpid(), "tid": threading.get_ident(), "context": "sub"}


def slow_cpu_task(d: float) -> str:
    time.sleep(d)
    return "done"
