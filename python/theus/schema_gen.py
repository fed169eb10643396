"""Context schema generation: Python context classes <-> ``specs/context_schema.yaml``.

``generate_schema_from_file(path)`` reads the top-level classes of a context module (statically,
nothing is imported) and returns ``{"context": {"global": {...}, "domain": {...}, <ns>: {...}}}``
with one ``{type, default?}`` entry per annotated field. ``generate_code_from_schema(path)`` turns
such a schema back into dataclass source. Types: string, integer, float, boolean, list, dict.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Dict, List, Union

import yaml

__all__ = [
    "SCHEMA_TYPES",
    "namespace_of_class",
    "schema_type_of",
    "generate_schema_from_source",
    "generate_schema_from_file",
    "dump_schema",
    "generate_code_from_dict",
    "generate_code_from_schema",
]

SCHEMA_TYPES = ("string", "integer", "float", "boolean", "list", "dict")

_TYPE_BY_NAME = {
    "int": "integer",
    "float": "float",
    "bool": "boolean",
    "str": "string",
    "list": "list",
    "List": "list",
    "dict": "dict",
    "Dict": "dict",
}
_PY_TYPE = {
    "string": "str",
    "integer": "int",
    "boolean": "bool",
    "float": "float",
    "list": "List[Any]",
    "dict": "Dict[str, Any]",
}
_WRAPPERS = ("Optional", "Annotated", "Final", "ClassVar")


def namespace_of_class(class_name: str) -> Union[str, None]:
    """Target namespace of a context class: ``global``, ``domain``, or the lower-cased name without
    ``context`` (``InventoryContext`` -> ``inventory``). None for the system context classes."""
    lowered = class_name.lower()
    if "global" in lowered:
        return "global"
    if "domain" in lowered:
        return "domain"
    if lowered in ("systemcontext", "basesystemcontext"):
        return None
    name = lowered.replace("context", "")
    return name or None


def _outer_name(node: ast.AST) -> str:
    """Outermost type name of an annotation, module prefixes dropped, Optional[X] -> X."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # string annotation
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return ""
    if isinstance(node, ast.Subscript):
        base = _outer_name(node.value)
        if base in _WRAPPERS:
            inner = node.slice
            if isinstance(inner, ast.Tuple) and inner.elts:
                inner = inner.elts[0]
            return _outer_name(inner)
        return base
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        left = _outer_name(node.left)
        return left if left not in ("None", "") else _outer_name(node.right)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def schema_type_of(annotation: ast.AST) -> str:
    """Schema type of an annotation node (anything unknown is ``string``)."""
    return _TYPE_BY_NAME.get(_outer_name(annotation), "string")


def generate_schema_from_source(source: str, filename: str = "<string>") -> Dict[str, Any]:
    """Schema of the top-level context classes in ``source`` (SyntaxError if it does not parse)."""
    tree = ast.parse(source, filename=filename)
    context: Dict[str, Dict[str, Any]] = {"global": {}, "domain": {}}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if any("SystemContext" in _outer_name(base) for base in node.bases):
            continue  # a system context holds the layers; it is not a namespace itself
        namespace = namespace_of_class(node.name)
        if namespace is None:
            continue
        fields = context.setdefault(namespace, {})
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            entry: Dict[str, Any] = {"type": schema_type_of(stmt.annotation)}
            if stmt.value is not None:
                try:
                    entry["default"] = ast.literal_eval(stmt.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    pass  # field(...) and other expressions: no literal default
            fields[stmt.target.id] = entry
    return {"context": context}


def generate_schema_from_file(context_path: Union[str, Path]) -> Dict[str, Any]:
    """Schema of a context module file; FileNotFoundError when it is missing."""
    path = Path(context_path)
    if not path.is_file():
        raise FileNotFoundError(f"Context file not found: {context_path}")
    return generate_schema_from_source(path.read_text(encoding="utf-8-sig"), str(path))


def dump_schema(schema: Dict[str, Any]) -> str:
    """YAML text of a schema, keys in insertion order."""
    return yaml.safe_dump(schema, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _class_name(namespace: str) -> str:
    if namespace == "global":
        return "AppGlobal"
    if namespace == "domain":
        return "AppDomain"
    return f"{namespace.capitalize()}Context"


def _field_line(name: str, spec: Any) -> str:
    spec = spec if isinstance(spec, dict) else {"type": spec}
    kind = str(spec.get("type", "string"))
    py_type = _PY_TYPE.get(kind, "Any")
    if "default" in spec:
        default = spec["default"]
        if isinstance(default, (list, dict)):
            return f"    {name}: {py_type} = field(default_factory=lambda: {default!r})"
        return f"    {name}: {py_type} = {default!r}"
    if kind in ("list", "dict"):
        return f"    {name}: {py_type} = field(default_factory={kind})"
    return f"    {name}: {py_type} = None" if py_type == "Any" else f"    {name}: Optional[{py_type}] = None"


def generate_code_from_dict(schema: Dict[str, Any]) -> str:
    """Dataclass source for a schema mapping (``context`` key or the mapping itself)."""
    context = schema.get("context", schema) if isinstance(schema, dict) else {}
    if not isinstance(context, dict):
        raise ValueError("schema must be a mapping of namespaces to field mappings")
    lines: List[str] = [
        '"""Context classes generated by `theus schema code`."""',
        "from dataclasses import dataclass, field",
        "from typing import Any, Dict, List, Optional",
        "",
        "from theus import BaseDomainContext, BaseGlobalContext, BaseSystemContext",
        "from theus.context import Namespace",
        "",
    ]
    extra: List[str] = []
    for namespace, fields in context.items():
        namespace = str(namespace)
        if not namespace.isidentifier():
            raise ValueError(f"namespace {namespace!r} is not a valid Python identifier")
        if fields is not None and not isinstance(fields, dict):
            raise ValueError(f"namespace {namespace!r}: expected a mapping of fields, got {type(fields).__name__}")
        bad = [str(n) for n in (fields or {}) if not str(n).isidentifier()]
        if bad:
            raise ValueError(f"namespace {namespace!r}: field names are not identifiers: {bad}")
        if namespace not in ("global", "domain"):
            extra.append(namespace)
        base = "BaseGlobalContext" if namespace == "global" else "BaseDomainContext"
        lines += ["", "@dataclass", f"class {_class_name(namespace)}({base}):"]
        body = [_field_line(str(name), spec) for name, spec in (fields or {}).items()]
        lines += body or ["    pass"]
        lines.append("")
    # The system context owns one instance of each layer; extra namespaces are Namespace
    # descriptors so the engine hydrates them (plain dataclass fields would not be).
    lines += ["", "@dataclass", "class SystemContext(BaseSystemContext):"]
    if "global" in context:
        lines.append("    global_ctx: AppGlobal = field(default_factory=AppGlobal)")
    if "domain" in context:
        lines.append("    domain: AppDomain = field(default_factory=AppDomain)")
    lines += [f"    {ns} = Namespace({_class_name(ns)})" for ns in extra]
    if lines[-1].endswith("(BaseSystemContext):"):
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def generate_code_from_schema(schema_path: Union[str, Path]) -> str:
    """Dataclass source for a schema YAML file (FileNotFoundError, yaml.YAMLError)."""
    path = Path(schema_path)
    if not path.is_file():
        raise FileNotFoundError(f"Schema file not found: {schema_path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{schema_path}: expected a mapping at the top level")
    return generate_code_from_dict(data)
