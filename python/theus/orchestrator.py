"""Deprecated signal-driven orchestrator (kept importable for existing code).

``ThreadExecutor`` (a thread pool), ``SignalBus`` (a thread-safe queue of signals),
``StateMachine`` (event-driven states naming the processes to run on entry) and
``WorkflowManager`` (ties them to an engine). Prefer Flux workflows
(``TheusEngine.execute_workflow``) and the engine's ``SignalHub``.
"""
from __future__ import annotations

import queue
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from .interfaces import IEngine, IOrchestrator, IScheduler

__all__ = ["ThreadExecutor", "SignalBus", "StateMachine", "WorkflowManager"]


class ThreadExecutor(IScheduler):
    """A thread pool whose threads are named ``TheusWorker_<n>``."""

    def __init__(self, max_workers: int = 4) -> None:
        self.max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="TheusWorker")

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)

    def __repr__(self) -> str:
        return f"<ThreadExecutor max_workers={self.max_workers}>"


class SignalBus:
    """A thread-safe FIFO of signals (any objects)."""

    def __init__(self) -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue()

    def emit(self, signal: Any) -> None:
        self._queue.put(signal)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """The next signal, or ``None`` when none arrived (non-blocking, or after ``timeout``)."""
        try:
            return self._queue.get(block=block, timeout=timeout)
        except queue.Empty:
            return None

    def empty(self) -> bool:
        return self._queue.empty()

    def qsize(self) -> int:
        return self._queue.qsize()


def _names(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class StateMachine:
    """States from ``definition["states"]``; each state maps events to target states under
    ``events``, ``on`` or ``transitions``, and names the processes to run on entry under
    ``entry`` or ``process`` (a name or a list)."""

    def __init__(self, definition: Dict[str, Any], start_state: str = "IDLE") -> None:
        self.definition = definition or {}
        self.states: Dict[str, Any] = dict(self.definition.get("states") or {})
        self.current_state = start_state
        for name, spec in self.states.items():
            if isinstance(spec, dict) and True in spec:
                warnings.warn(
                    f"State '{name}': the key 'on' was read by YAML as the boolean True and is ignored; "
                    "quote it ('on':) or use 'events:'",
                    UserWarning,
                    stacklevel=2,
                )

    def _transitions(self, state: str) -> Dict[str, Any]:
        spec = self.states.get(state) or {}
        if not isinstance(spec, dict):
            return {}
        for key in ("events", "on", "transitions"):
            table = spec.get(key)
            if isinstance(table, dict):
                return table
        return {}

    def trigger(self, event: str) -> List[str]:
        """Move on ``event`` from the current state; returns the processes of the new state's
        ``entry`` (or ``process``). An event the state does not handle changes nothing: ``[]``."""
        target = self._transitions(self.current_state).get(event)
        if target is None:
            return []
        self.current_state = str(target)
        spec = self.states.get(self.current_state) or {}
        if not isinstance(spec, dict):
            return []
        return _names(spec.get("entry", spec.get("process")))

    def __repr__(self) -> str:
        return f"<StateMachine state={self.current_state!r} states={len(self.states)}>"


class WorkflowManager(IOrchestrator):
    """Feeds signals from a ``SignalBus`` to a ``StateMachine`` and runs the processes it names on
    a scheduler through the engine (``TheusEngine``: ``_run_process_sync``; any ``IEngine``:
    ``execute_process``)."""

    def __init__(self, engine: Any, scheduler: IScheduler, bus: SignalBus) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self.bus = bus
        self.state_machine: Optional[StateMachine] = None
        self._stop = threading.Event()

    def load_workflow(self, definition: Dict[str, Any], start_state: str = "IDLE") -> None:
        self.state_machine = StateMachine(definition, start_state)

    def _run(self, name: str) -> Any:
        if isinstance(self.engine, IEngine) or not hasattr(self.engine, "_run_process_sync"):
            return self.engine.execute_process(name)
        return self.engine._run_process_sync(name)

    def process_signal(self, signal: str) -> List[str]:
        if self.state_machine is None:
            raise RuntimeError("No workflow loaded: call load_workflow() first")
        names = self.state_machine.trigger(signal)
        for name in names:
            self.scheduler.submit(self._run, name)
        return names

    def run_workflow(self, timeout: float = 0.1) -> None:
        """Process signals from the bus until ``stop()`` is called."""
        self._stop.clear()
        while not self._stop.is_set():
            signal = self.bus.get(timeout=timeout)
            if signal is not None:
                self.process_signal(signal)

    def stop(self) -> None:
        self._stop.set()
