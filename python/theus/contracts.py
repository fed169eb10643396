"""Process contracts: the ``@process`` decorator, ``ProcessContract``, ``SemanticType`` and
``AdminTransaction``. Contract paths are validated by the core when the decorator runs."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, List, Optional

from ._core import core

__all__ = [
    "process",
    "ProcessContract",
    "SemanticType",
    "ContractViolationError",
    "AdminTransaction",
    "OutboxMsg",
]

if core is not None:
    ContractViolationError = core.ContractViolationError
    OutboxMsg = core.OutboxMsg
else:  # pragma: no cover

    class ContractViolationError(Exception):
        pass

    ContractViolationError.__module__ = "theus.contracts"

    @dataclass(frozen=True)
    class OutboxMsg:  # type: ignore[no-redef]
        topic: str
        payload: Any


class SemanticType(str, Enum):
    PURE = "pure"
    EFFECT = "effect"
    GUIDE = "guide"


@dataclass
class ProcessContract:
    """What a process reads (``inputs``) and writes (``outputs``). The class default semantic is
    PURE; the ``@process`` decorator defaults to EFFECT."""

    inputs: List[str]
    outputs: List[str]
    semantic: Any = SemanticType.PURE
    errors: List[Any] = field(default_factory=list)
    side_effects: List[Any] = field(default_factory=list)
    parallel: bool = False

    def __post_init__(self) -> None:
        self.inputs = list(self.inputs or [])
        self.outputs = list(self.outputs or [])
        self.errors = list(self.errors or [])
        self.side_effects = list(self.side_effects or [])
        self._compiled = None

    @property
    def semantic_name(self) -> str:
        s = self.semantic
        return (s.value if isinstance(s, SemanticType) else str(s)).lower()

    def compiled(self):
        """The core's compiled form (validated paths), cached. Raises ValueError for a malformed path."""
        key = (tuple(self.inputs), tuple(self.outputs), self.semantic_name)
        if self._compiled is None or self._compiled[0] != key:
            self._compiled = (key, core._Contract(self.inputs, self.outputs, self.semantic_name))
        return self._compiled[1]


def _filtered_call_kwargs(func: Callable) -> Optional[frozenset]:
    """Names accepted as keywords, or None when the function takes ``**kwargs``."""
    params = inspect.signature(func).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return frozenset(
        p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def _check_return(name: str, contract: ProcessContract, result: Any) -> None:
    if len(contract.outputs) >= 2 and result is not None and not isinstance(result, (tuple, list, dict)):
        from .structures import StateUpdate

        if isinstance(result, StateUpdate):
            return
        raise ContractViolationError(
            f"Process '{name}' declares {len(contract.outputs)} outputs {contract.outputs} but returned a "
            f"single {type(result).__name__} value. Return a tuple, list or dict with one value per output."
        )


def process(
    inputs: Any = None,
    outputs: Optional[List[str]] = None,
    semantic: Any = SemanticType.EFFECT,
    errors: Optional[List[Any]] = None,
    side_effects: Optional[List[Any]] = None,
    parallel: bool = False,
):
    """Declare a process: ``@process(inputs=[...], outputs=[...])`` or bare ``@process``.

    Keyword arguments the function does not accept are dropped when it is called; the wrapper keeps
    the function's sync/async nature and metadata, and carries the contract as ``_pop_contract``.
    """
    if callable(inputs) and outputs is None and not isinstance(inputs, (list, tuple)):
        return process()(inputs)

    def decorate(func: Callable) -> Callable:
        contract = ProcessContract(
            list(inputs or []), list(outputs or []), semantic, list(errors or []), list(side_effects or []), parallel
        )
        if core is not None:
            contract.compiled()  # malformed paths fail here, naming the path and position
        accepted = _filtered_call_kwargs(func)
        name = func.__name__

        def filter_kwargs(kwargs: dict) -> dict:
            if accepted is None:
                return kwargs
            return {k: v for k, v in kwargs.items() if k in accepted}

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def wrapper(ctx, *args, **kwargs):
                result = await func(ctx, *args, **filter_kwargs(kwargs))
                _check_return(name, contract, result)
                return result

        else:

            @functools.wraps(func)
            def wrapper(ctx, *args, **kwargs):
                result = func(ctx, *args, **filter_kwargs(kwargs))
                _check_return(name, contract, result)
                return result

        func._pop_contract = contract
        wrapper._pop_contract = contract
        # The engine calls the function itself (same filtering and return check, done natively).
        wrapper._theus_inner = func
        wrapper._theus_accepts = accepted
        return wrapper

    return decorate


class AdminTransaction:
    """``with AdminTransaction(ctx):`` lifts whitelist and zone-capability checks for the block
    (CONSTANT stays read-only; output compliance still applies at commit)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def __enter__(self):
        elevate = getattr(self.ctx, "_elevate", None)
        if callable(elevate):
            elevate(True)
        return self.ctx

    def __exit__(self, exc_type, exc, tb):
        elevate = getattr(self.ctx, "_elevate", None)
        if callable(elevate):
            elevate(False)
        return False
