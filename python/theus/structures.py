"""State and value types: the core's immutable State / FrozenDict / FrozenList, the StateUpdate a
process may return, and ContextError."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ._core import core
from .heavy import ManagedAllocator, ShmArray

__all__ = [
    "State",
    "FrozenDict",
    "FrozenList",
    "ContextError",
    "StateUpdate",
    "FunctionResult",
    "ManagedAllocator",
    "ShmArray",
]

if core is not None:
    State = core.State
    FrozenDict = core.FrozenDict
    FrozenList = core.FrozenList
    ContextError = core.ContextError
else:  # pragma: no cover - only without the native module

    class ContextError(Exception):
        pass

    ContextError.__module__ = "theus.structures"
    State = FrozenDict = FrozenList = None


@dataclass
class StateUpdate:
    """What a process may return instead of plain values.

    * ``key`` + ``val``: set the dotted path ``key`` to ``val`` (when ``val`` is not None);
    * ``data``: ``{dotted_path: value}``, each path set (even to None);
    * ``heavy``: ``{name: value}`` written to the heavy zone by reference;
    * ``signal``: ``{topic: payload}`` (or a list of dicts) published after the commit;
    * ``assert_version``: the commit conflicts unless the engine is at exactly this version.

    Every written path must be covered by the process's declared outputs.
    """

    key: Optional[str] = None
    val: Any = None
    data: Optional[dict] = None
    heavy: Optional[dict] = None
    signal: Any = None
    assert_version: Optional[int] = None


@dataclass
class FunctionResult:
    val: Any = None
    key: Optional[str] = None


if core is not None:
    core._set_state_update_class(StateUpdate)
