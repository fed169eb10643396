"""LockManager: an optional write guard users may install on their own context objects.

The engine never installs one: user context objects stay freely mutable, and (D7) mutating them
never affects engine state.
"""
from __future__ import annotations

import contextlib
import logging
import threading

__all__ = ["LockManager", "LockViolationError"]

_log = logging.getLogger("theus.locks")


class LockViolationError(Exception):
    """A write outside ``LockManager.unlock()`` while the manager is strict."""


class LockManager:
    LockViolationError = LockViolationError

    def __init__(self, strict_guards: bool = False) -> None:
        self.strict_guards = strict_guards
        self._mutex = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    @contextlib.contextmanager
    def unlock(self):
        """Allow writes from the calling thread for the duration of the block."""
        with self._mutex:
            self._owner = threading.get_ident()
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None

    def validate_write(self, attr: str, obj: object) -> None:
        if self._owner == threading.get_ident():
            return
        message = (
            f"UNSAFE MUTATION: attribute '{attr}' of {type(obj).__name__} written outside "
            "LockManager.unlock()"
        )
        if self.strict_guards:
            raise LockViolationError(message)
        _log.debug(message)
