"""Configuration: audit recipes (``AuditRecipe``, ``AuditRecipeBook``, ``ConfigFactory``), the
context-schema loader (``ConfigLoader``) and ``SchemaViolationError``.

Recipe files are parsed and checked by the core (``theus_core._AuditRules``): a malformed recipe
is refused at load with the file, the line, the rule and the reason.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ._core import core

__all__ = ["AuditRecipe", "AuditRecipeBook", "ConfigFactory", "ConfigLoader", "SchemaViolationError"]

DEFAULT_RECIPE_FILE = "audit_recipe.yaml"

if core is not None:
    SchemaViolationError = core.SchemaViolationError
    AuditRecipe = core.AuditRecipe
    ConfigLoader = core.ConfigLoader
else:  # pragma: no cover - pure-Python stand-ins without the core

    class SchemaViolationError(Exception):
        pass

    SchemaViolationError.__module__ = "theus.config"

    class AuditRecipe:  # type: ignore[no-redef]
        def __init__(self, level: Any = None, threshold_max: int = 3, threshold_min: int = 0,
                     reset_on_success: bool = True) -> None:
            self.level = level
            self.threshold_max = threshold_max
            self.threshold_min = threshold_min
            self.reset_on_success = reset_on_success

    class ConfigLoader:  # type: ignore[no-redef]
        @staticmethod
        def load_from_string(content: str) -> None:
            raise RuntimeError("ConfigLoader needs the theus_core extension")


@dataclass
class AuditRecipeBook:
    """A loaded recipe: ``definitions`` (the ``process_recipes`` mapping) and the global
    ``rust_recipe``; unknown attributes read through to ``rust_recipe``."""

    definitions: Dict[str, Any] = field(default_factory=dict)
    rust_recipe: Any = None
    source: str = "<recipe>"
    _rules: Any = field(default=None, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("definitions", "rust_recipe", "source", "_rules"):
            raise AttributeError(name)
        return getattr(self.rust_recipe, name)

    def rules(self) -> Any:
        """The core's parsed rules (checked; raises ValueError naming the rule at fault)."""
        if self._rules is None:
            recipe = self.rust_recipe
            audit = {
                "level": recipe.level.name,
                "threshold_max": recipe.threshold_max,
                "threshold_min": recipe.threshold_min,
                "reset_on_success": recipe.reset_on_success,
            }
            self._rules = core._AuditRules.from_dicts(audit, self.definitions or {}, self.source)
        return self._rules


def _book_from_rules(rules: Any, definitions: Dict[str, Any], source: str) -> AuditRecipeBook:
    return AuditRecipeBook(definitions=definitions, rust_recipe=rules.recipe, source=source, _rules=rules)


class ConfigFactory:
    """Loads audit recipe files."""

    @staticmethod
    def load_audit_recipe() -> Optional[dict]:
        """``./audit_recipe.yaml`` as a dict, or None (a parse failure warns)."""
        if not os.path.exists(DEFAULT_RECIPE_FILE):
            return None
        import yaml

        try:
            with open(DEFAULT_RECIPE_FILE, encoding="utf-8") as fh:
                return yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            warnings.warn(f"Could not parse {DEFAULT_RECIPE_FILE}: {exc}", stacklevel=2)
            return None

    @staticmethod
    def load_recipe(path: Any) -> AuditRecipeBook:
        """Parses a recipe file. FileNotFoundError("Recipe not found: <path>"); ValueError for a
        malformed recipe (file, line, rule and reason)."""
        path = os.fspath(path)
        rules = core._AuditRules.load_file(path)
        import yaml

        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        definitions = doc.get("process_recipes") or {} if isinstance(doc, dict) else {}
        return _book_from_rules(rules, definitions, path)

    @staticmethod
    def from_dict(doc: Dict[str, Any], source: str = "<dict>") -> AuditRecipeBook:
        """A recipe given as a dict: ``doc.get("audit", doc)`` for the global recipe and
        ``doc.get("process_recipes", {})`` for the rules."""
        if not isinstance(doc, dict):
            raise TypeError(f"an audit recipe must be a dict, got {type(doc).__name__}")
        audit = doc.get("audit", doc)
        definitions = doc.get("process_recipes") or {}
        rules = core._AuditRules.from_dicts(audit if isinstance(audit, dict) else {}, definitions, source)
        return _book_from_rules(rules, definitions, source)
