"""Theus: a transactional, process-oriented state engine (C++20 core, Python API).

    from theus import TheusEngine, process

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def inc(ctx):
        return ctx.domain.n + 1

    engine = TheusEngine({"domain": {"n": 0}})
    engine.execute_sync(inc)          # or: await engine.execute(inc)
"""
from __future__ import annotations

import collections.abc as _abc

from ._core import CORE_AVAILABLE, core as _core
from .config import SchemaViolationError
from .context import BaseDomainContext, BaseGlobalContext, BaseSystemContext
from .contracts import ContractViolationError, process
from .engine import RetryPolicy, TheusEngine
from .interop import TheusEncoder

__version__ = "3.0.26"

if _core is not None:
    SignalHub = _core.SignalHub
    SignalReceiver = _core.SignalReceiver
    _abc.Mapping.register(_core.SupervisorProxy)
    _abc.Mapping.register(_core.FrozenDict)
    _abc.Sequence.register(_core.FrozenList)
else:  # pragma: no cover
    SignalHub = None
    SignalReceiver = None

__all__ = [
    "TheusEngine",
    "process",
    "ContractViolationError",
    "BaseSystemContext",
    "BaseGlobalContext",
    "BaseDomainContext",
    "SignalHub",
    "SignalReceiver",
    "SchemaViolationError",
    "TheusEncoder",
    "RetryPolicy",
    "CORE_AVAILABLE",
    "__version__",
]
