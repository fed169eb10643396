"""Loads the native module. ``import theus`` succeeds without it (for example inside a
sub-interpreter): then ``CORE_AVAILABLE`` is False and constructing an engine raises."""
from __future__ import annotations

try:  # pragma: no branch
    import theus_core as core  # noqa: F401
    CORE_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised in sub-interpreters only
    core = None
    CORE_AVAILABLE = False

__all__ = ["core", "CORE_AVAILABLE"]
