"""``AuditValidator``: per-process input / output rules evaluated by the core and reported to an
``AuditSystem`` (the engine runs the same checks itself; this class serves direct use)."""
from __future__ import annotations

from typing import Any, Dict

from ._core import core

__all__ = ["AuditValidator"]


class AuditValidator:
    """``AuditValidator(definitions, audit_system)``: ``definitions`` is the ``process_recipes``
    mapping (or an ``AuditRecipeBook``)."""

    def __init__(self, definitions: Any, audit_system: Any) -> None:
        from .config import AuditRecipeBook

        if isinstance(definitions, AuditRecipeBook):
            self._rules = definitions.rules()
        else:
            self._rules = core._AuditRules.from_dicts({}, definitions or {}, "<definitions>")
        self.audit_system = audit_system

    def validate_inputs(self, process_name: str, kwargs: Dict[str, Any]) -> None:
        """Logs and counts every violated input rule; raises the audit's refusal."""
        self._rules.validate_inputs(self.audit_system, process_name, dict(kwargs))

    def validate_outputs(self, process_name: str, pending: Dict[str, Any]) -> None:
        """The same for output rules against a pending delta (a nested dict)."""
        self._rules.validate_outputs(self.audit_system, process_name, pending)

    def __repr__(self) -> str:
        return f"<AuditValidator processes={self._rules.processes()!r}>"
