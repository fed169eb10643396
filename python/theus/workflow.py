"""Flux workflows: ``WorkflowEngine`` and ``FSMState`` (the core classes).

``WorkflowEngine(yaml_text, max_ops=10000, debug=False)`` parses a Flux document once; run it
with ``execute(ctx, executor)``, ``await execute_async(ctx, executor)`` or, against an engine,
``await engine.execute_workflow(path)``.
"""
from __future__ import annotations

from ._core import core

if core is None:  # pragma: no cover - the package requires the core
    raise ImportError("theus.workflow requires the theus_core extension")

WorkflowEngine = core.WorkflowEngine
FSMState = core.FSMState

__all__ = ["WorkflowEngine", "FSMState"]
