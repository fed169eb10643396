"""Zone names and the Python-side zone resolver (prefix of the whole key only).

The core has its own, per-segment resolver (``theus_core``); this one classifies top-level field
names of context objects (``LockedContextMixin.to_dict`` / ``get_zone``).
"""
from __future__ import annotations

from enum import Enum

__all__ = ["ContextZone", "PREFIX_SIGNAL", "PREFIX_META", "PREFIX_HEAVY", "PREFIX_LOG", "resolve_zone"]


class ContextZone(Enum):
    DATA = "data"
    SIGNAL = "signal"
    META = "meta"
    HEAVY = "heavy"
    LOG = "log"


PREFIX_SIGNAL = ("sig_", "cmd_")
PREFIX_META = ("meta_",)
PREFIX_HEAVY = ("heavy_",)
PREFIX_LOG = ("log_",)


def resolve_zone(key: str) -> ContextZone:
    """Zone of a field name by its prefix: ``sig_``/``cmd_`` Signal, ``meta_`` Meta, ``heavy_``
    Heavy, ``log_`` Log, anything else Data."""
    if key.startswith(PREFIX_SIGNAL):
        return ContextZone.SIGNAL
    if key.startswith(PREFIX_META):
        return ContextZone.META
    if key.startswith(PREFIX_HEAVY):
        return ContextZone.HEAVY
    if key.startswith(PREFIX_LOG):
        return ContextZone.LOG
    return ContextZone.DATA
