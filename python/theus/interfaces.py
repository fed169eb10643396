"""Abstract interfaces of the deprecated orchestrator (``theus.orchestrator``).

Kept importable for existing code; new code drives processes with ``TheusEngine.execute`` and
workflows with ``TheusEngine.execute_workflow``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, List

__all__ = ["IEngine", "IScheduler", "IOrchestrator"]


class IEngine(ABC):
    """Something that runs a named process."""

    @abstractmethod
    def execute_process(self, process_name: str, **kwargs: Any) -> Any:
        """Run ``process_name`` with ``kwargs`` and return its result."""


class IScheduler(ABC):
    """Something that runs callables in the background."""

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Schedule ``fn(*args, **kwargs)``; returns a future."""

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work (and wait for running work when ``wait``)."""


class IOrchestrator(ABC):
    """Something that turns signals into process runs."""

    @abstractmethod
    def load_workflow(self, definition: Any) -> None:
        """Install a state-machine definition."""

    @abstractmethod
    def process_signal(self, signal: str) -> List[str]:
        """React to one signal; returns the names of the processes it started."""
