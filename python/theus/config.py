"""Configuration: the schema-violation error (and, with the audit layer, recipe loading)."""
from __future__ import annotations

from ._core import core

__all__ = ["SchemaViolationError"]

if core is not None:
    SchemaViolationError = core.SchemaViolationError
else:  # pragma: no cover

    class SchemaViolationError(Exception):
        pass

    SchemaViolationError.__module__ = "theus.config"
