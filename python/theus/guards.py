"""The guard a process receives as ``ctx`` (``ContextGuard``) and the current-transaction slot.

Guards made by the engine are instances of this class built natively (attribute access is the
core's, not Python's); constructing one directly over a mapping or object with a transaction is
the legacy form and is supported too.
"""
from __future__ import annotations

import contextvars
from typing import Any, Iterable, Optional

from ._core import core

__all__ = ["ContextGuard", "_current_tx"]

#: The transaction of the running process (set by the engine around each process call).
_current_tx: contextvars.ContextVar = contextvars.ContextVar("_current_tx", default=None)

_PERMISSIVE = ("default", "domain", "global", "*")


def _permissive_roots() -> list:
    from .context import NamespaceRegistry

    names = NamespaceRegistry().names()
    return list(names) + list(_PERMISSIVE) if names else list(_PERMISSIVE)


def _policy_filtered(paths: Iterable[str], write: bool) -> list:
    """Drops declarations a registered namespace's policy forbids (with a warning)."""
    from .context import NamespaceRegistry

    registry = NamespaceRegistry()
    kept = []
    for p in paths:
        ns, _ = registry.resolve_path(p)
        if ns != "default":
            pol = registry.get_policy(ns)
            allowed = (pol.allow_update or pol.allow_append or pol.allow_delete) if write else pol.allow_read
            if not allowed:
                import logging

                logging.getLogger("theus.guards").warning(
                    "Namespace '%s' policy refuses %s access; dropping '%s'", ns, "write" if write else "read", p
                )
                continue
        kept.append(p)
    return kept


if core is not None:

    class ContextGuard(core.ContextGuard):
        """``ContextGuard(target_obj, allowed_inputs=None, allowed_outputs=None, path_prefix="",
        transaction=None, strict_guards=True, process_name="Unknown", ...)``"""

        def __init__(
            self,
            target_obj: Any,
            allowed_inputs: Optional[Iterable[str]] = None,
            allowed_outputs: Optional[Iterable[str]] = None,
            path_prefix: str = "",
            transaction: Any = None,
            strict_guards: bool = True,
            process_name: str = "Unknown",
            _inner: Any = None,
            parent: Any = None,
            name: Any = None,
            **kwargs: Any,
        ) -> None:
            if not path_prefix and kwargs.get("path"):
                path_prefix = kwargs["path"]
            read_only = bool(kwargs.get("read_only", False))
            inputs = list(allowed_inputs) if allowed_inputs is not None else _permissive_roots()
            if read_only:
                outputs: list = []
            else:
                outputs = list(allowed_outputs) if allowed_outputs is not None else _permissive_roots()
            if _inner is None:
                inputs = _policy_filtered(inputs, write=False)
                outputs = _policy_filtered(outputs, write=True)
            if transaction is not None:
                _current_tx.set(transaction)
            else:
                transaction = _current_tx.get()
            super().__init__(target_obj, inputs, outputs, path_prefix or None, transaction, False, strict_guards)
            self._process_name = process_name

    core._set_guard_class(ContextGuard)
    core._set_current_tx_var(_current_tx)
else:  # pragma: no cover
    ContextGuard = None  # type: ignore[assignment]
