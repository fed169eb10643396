"""The POP linter: static checks that processes stay pure functions of their declared inputs.

``run_lint(target)`` checks a file or every ``*.py`` below a directory and prints a table (or JSON);
``lint_paths(paths)`` returns the findings as data; ``POPLinter`` is the ``ast.NodeVisitor`` doing
the work for one file. Rules (all severity ``ERROR``):

* POP-E01 ``print(...)`` in a process            * POP-E05 mutation of a ``ctx.`` path in place
* POP-E02 ``open(...)`` in a process             * POP-E06 process without a value ``return``
* POP-E03 network modules (imports anywhere,     * POP-E07 misuse of log_/audit_/meta_/sig_/cmd_ fields
  calls in a process)                            * POP-E08 restricted value leaked into a plain name
* POP-E04 ``global`` in a process                * POP-C01 ``ctx.domain`` / namespace read not declared in inputs

A process is a function decorated with ``@process`` / ``@process(...)`` (or ``@<module>.process``);
nested functions inside it count as process code. ``# noqa`` or ``# noqa: POP-E05`` on a line
suppresses findings on that line. Pure stdlib; reading the files is the only I/O.
"""
from __future__ import annotations

import ast
import fnmatch
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, TextIO, Tuple, Union

__all__ = [
    "RULES",
    "EffectViolation",
    "ParseFailure",
    "LintReport",
    "POPLinter",
    "iter_python_files",
    "find_namespace_declarations",
    "lint_source",
    "lint_paths",
    "format_table",
    "run_lint",
]

RULES: Dict[str, str] = {
    "POP-E01": "print() inside a process (side effect; return data or use ctx.log)",
    "POP-E02": "open() inside a process (file I/O is a side effect)",
    "POP-E03": "network module imported or called (requests, urllib, http, ftplib, smtplib)",
    "POP-E04": "'global' statement inside a process",
    "POP-E05": "in-place mutation of a ctx path (return the new values instead)",
    "POP-E06": "process without a value return",
    "POP-E07": "misuse of a log_/audit_/meta_/sig_/cmd_ field",
    "POP-E08": "restricted-zone value assigned to an unrestricted name",
    "POP-C01": "ctx read of a path not declared in the process inputs",
}

NETWORK_MODULES = frozenset({"requests", "urllib", "http", "ftplib", "smtplib"})
DESTRUCTIVE_METHODS = frozenset(
    {"append", "extend", "insert", "remove", "pop", "clear", "update", "sort", "reverse", "popitem", "setdefault"}
)
APPEND_ONLY_METHODS = frozenset({"append", "extend"})
LOG_PREFIXES = ("log_", "audit_")
META_PREFIX = "meta_"
CONTEXT_FIELD_PREFIXES = ("log_", "audit_", "sig_", "cmd_", "meta_")
RESTRICTED_PREFIXES = ("log_", "audit_", "meta_", "const_", "internal_", "sig_", "cmd_")
SKIPPED_DIRS = frozenset({"tests", "site-packages", "migrations", "__pycache__", "node_modules", "venv"})
C01_EXEMPT = frozenset({"log", "restrict_view"})
ROOT_ALIASES = {"domain_ctx": "domain"}


@dataclass
class _Located:
    """A place in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> Dict[str, Union[str, int]]:
        return asdict(self)


@dataclass
class EffectViolation(_Located):
    """One finding: where (1-based line and column), which rule, and why."""

    check_id: str
    message: str
    severity: str = "ERROR"


@dataclass
class ParseFailure(_Located):
    """A file the linter could not parse (syntax error or undecodable bytes)."""

    message: str


@dataclass
class LintReport:
    """Findings over a set of files; ``ok`` when there is neither a violation nor a parse failure."""

    violations: List[EffectViolation] = field(default_factory=list)
    failures: List[ParseFailure] = field(default_factory=list)
    files_checked: int = 0
    missing: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.failures and not self.missing


# ---- small AST helpers -----------------------------------------------------------------------


def _name_of(node: ast.AST) -> Optional[str]:
    """``process`` for ``process``, ``theus.process``, ``process(...)``, ``theus.process(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_process_decorator(dec: ast.AST) -> bool:
    return _name_of(dec) == "process"


def _declared_inputs(dec: ast.AST) -> Optional[List[str]]:
    """The decorator's declared inputs: first positional argument or ``inputs=``. ``None`` when they
    are not a literal list of strings (the linter then cannot judge reads)."""
    if not isinstance(dec, ast.Call):
        return []
    node: Optional[ast.AST] = dec.args[0] if dec.args else None
    for kw in dec.keywords:
        if kw.arg == "inputs":
            node = kw.value
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return []
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts]
    return None


def _root_name(node: ast.AST) -> Optional[str]:
    """Name at the bottom of an attribute / subscript / call chain (``a`` for ``a.b[c].d()``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _access_chain(node: ast.AST) -> Tuple[Optional[str], List[Optional[str]]]:
    """(root name, segments) of an attribute/subscript chain. A segment is the attribute name or
    the constant string key, ``None`` for any other subscript."""
    segments: List[Optional[str]] = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            segments.append(node.attr)
        else:
            key = node.slice
            segments.append(key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None)
        node = node.value
    segments.reverse()
    return (node.id if isinstance(node, ast.Name) else None), segments


def _static_path(segments: Sequence[Optional[str]]) -> List[str]:
    """Leading segments up to the first dynamic subscript."""
    out: List[str] = []
    for seg in segments:
        if seg is None:
            break
        out.append(seg)
    return out


def _leaf(segments: Sequence[Optional[str]]) -> Optional[str]:
    """Last named segment (the owner of a dynamic subscript counts as the leaf)."""
    for seg in reversed(segments):
        if seg is not None:
            return seg
    return None


def _target_leaf(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _leaf(_access_chain(node)[1])
    return None


def _flatten_targets(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    for node in nodes:
        if isinstance(node, (ast.Tuple, ast.List)):
            yield from _flatten_targets(node.elts)
        elif isinstance(node, ast.Starred):
            yield from _flatten_targets([node.value])
        else:
            yield node


def _covered(path: str, inputs: Sequence[str]) -> bool:
    """True when ``path`` equals or extends a declared input (fnmatch wildcards allowed)."""
    parts = path.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    for declared in inputs:
        declared = declared.strip()
        head, _, rest = declared.partition(".")
        declared = ".".join([ROOT_ALIASES.get(head, head)] + ([rest] if rest else []))
        for prefix in prefixes:
            if prefix == declared or fnmatch.fnmatchcase(prefix, declared):
                return True
    return False


def find_namespace_declarations(tree: ast.AST) -> Set[str]:
    """Namespace names a module declares: ``name = Namespace(...)`` in a class body and
    ``NamespaceRegistry().register("name", ...)`` calls."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
                if isinstance(value, ast.Call) and _name_of(value) == "Namespace":
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register"
            and _name_of(node.func.value) == "NamespaceRegistry"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def _registered_namespaces() -> Set[str]:
    """Namespaces registered in this interpreter (modules the linter process imported)."""
    try:
        from .context import NamespaceRegistry
    except Exception:  # noqa: BLE001 - the linter works without the package's runtime
        return set()
    return {n for n in NamespaceRegistry().names() if n != "default"}


# ---- the visitor -----------------------------------------------------------------------------


@dataclass
class _ProcessScope:
    name: str
    inputs: Optional[List[str]]
    ctx: str


class POPLinter(ast.NodeVisitor):
    """Checks one module's syntax tree; findings accumulate in ``.violations``."""

    def __init__(self, filename: str, namespaces: Optional[Iterable[str]] = None,
                 source: Optional[str] = None) -> None:
        self.filename = filename
        self.violations: List[EffectViolation] = []
        self.namespaces: Set[str] = set(namespaces) if namespaces is not None else _registered_namespaces()
        self._lines = source.splitlines() if source is not None else []
        self._scopes: List[_ProcessScope] = []
        self._chain_parents: Set[int] = set()
        self._call_funcs: Set[int] = set()

    # -- reporting --

    def _suppressed(self, line: int, check_id: str) -> bool:
        if not (0 < line <= len(self._lines)):
            return False
        text = self._lines[line - 1]
        marker = text.find("# noqa")
        if marker < 0:
            return False
        rest = text[marker + len("# noqa"):]
        if not rest.startswith(":"):
            return True
        codes = {c.strip().upper() for c in rest[1:].replace(",", " ").split()}
        return check_id in codes

    def report(self, node: ast.AST, check_id: str, message: str) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        if not self._suppressed(line, check_id):
            self.violations.append(EffectViolation(self.filename, line, col, check_id, message))

    @property
    def _scope(self) -> Optional[_ProcessScope]:
        return self._scopes[-1] if self._scopes else None

    def _ctx_segments(self, node: ast.AST) -> Optional[List[Optional[str]]]:
        """Segments after ``ctx`` when ``node`` is a ``ctx.…`` chain inside a process, else None."""
        scope = self._scope
        if scope is None:
            return None
        root, segments = _access_chain(node)
        if root != scope.ctx or not segments:
            return None
        return segments

    # -- imports and classes (checked everywhere) --

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root in NETWORK_MODULES:
                self.report(node, "POP-E03",
                            f"Network module '{alias.name}' imported: processes must not do network I/O")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        root = (node.module or "").split(".")[0]
        if node.level == 0 and root in NETWORK_MODULES:
            self.report(node, "POP-E03", f"Network module '{node.module}' imported: processes must not do network I/O")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any("Context" in (_name_of(base) or "") for base in node.bases):
            for stmt in node.body:
                if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                    continue
                name = stmt.target.id
                if name.startswith(CONTEXT_FIELD_PREFIXES) and "Mutable" in ast.unparse(stmt.annotation):
                    self.report(stmt, "POP-E07", f"Context field '{name}' is declared Mutable: "
                                f"{name.split('_')[0]}_ fields keep their zone's restrictions")
        self.generic_visit(node)

    # -- processes --

    def _visit_function(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> None:
        decorator = next((d for d in node.decorator_list if _is_process_decorator(d)), None)
        if decorator is None:
            self.generic_visit(node)
            return
        params = node.args.posonlyargs + node.args.args
        self._scopes.append(_ProcessScope(node.name, _declared_inputs(decorator), params[0].arg if params else "ctx"))
        try:
            self._check_returns(node)
            self.generic_visit(node)
        finally:
            self._scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _check_returns(self, func: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> None:
        if not any(isinstance(n, ast.Return) for n in ast.walk(func)):
            self.report(func, "POP-E06", f"Process '{func.name}' has no return: return the values of its "
                        "outputs (or None explicitly)")
            return
        stack: List[ast.AST] = list(func.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(node, ast.Return) and node.value is None:
                self.report(node, "POP-E06", f"Bare 'return' in process '{func.name}': return a value "
                            "(or None explicitly)")
            stack.extend(ast.iter_child_nodes(node))

    def visit_Global(self, node: ast.Global) -> None:
        if self._scope is not None:
            self.report(node, "POP-E04", f"'global {', '.join(node.names)}' in process '{self._scope.name}': "
                        "state belongs in the context")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        scope = self._scope
        self._call_funcs.add(id(node.func))
        if scope is not None:
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                self.report(node, "POP-E01", f"print() in process '{scope.name}': return data or use ctx.log")
            elif isinstance(func, ast.Name) and func.id == "open":
                self.report(node, "POP-E02", f"open() in process '{scope.name}': file I/O is a side effect")
            elif isinstance(func, ast.Attribute):
                root = _root_name(func)
                if root in NETWORK_MODULES:
                    self.report(node, "POP-E03", f"Network call '{ast.unparse(func)}(...)' in process '{scope.name}'")
                if func.attr in DESTRUCTIVE_METHODS:
                    self._check_mutator_call(node, func)
        self.generic_visit(node)

    def _check_mutator_call(self, node: ast.Call, func: ast.Attribute) -> None:
        segments = self._ctx_segments(func.value)
        if segments is None:
            return
        owner = _leaf(segments) or ""
        chain = ast.unparse(func)
        if owner.startswith(LOG_PREFIXES):
            if func.attr not in APPEND_ONLY_METHODS:
                self.report(node, "POP-E07", f"'{chain}()': {owner} is append-only (append/extend)")
        elif owner.startswith(META_PREFIX):
            self.report(node, "POP-E07", f"'{chain}()': {owner} is managed by the engine")
        else:
            self.report(node, "POP-E05", f"'{chain}()' mutates context in place: return the new value for a "
                        "declared output")

    def _check_write_target(self, target: ast.AST, node: ast.AST, verb: str) -> None:
        for tgt in _flatten_targets([target]):
            if not isinstance(tgt, (ast.Attribute, ast.Subscript)):
                continue
            segments = self._ctx_segments(tgt)
            if segments is None:
                continue
            leaf = _leaf(segments) or ""
            text = ast.unparse(tgt)
            if leaf.startswith(CONTEXT_FIELD_PREFIXES):
                self.report(tgt, "POP-E07", f"{verb} '{text}': {leaf} is a restricted field (append to logs, "
                            "emit signals with StateUpdate(signal=...))")
            else:
                self.report(tgt, "POP-E05", f"{verb} '{text}' mutates context in place: return the new value for "
                            "a declared output")

    def _check_leak(self, targets: Sequence[ast.AST], value: Optional[ast.AST]) -> None:
        if self._scope is None or not isinstance(value, (ast.Name, ast.Attribute)):
            return
        root, segments = _access_chain(value)
        source_leaf = segments[-1] if segments else root
        if root is None or not source_leaf or not source_leaf.startswith(RESTRICTED_PREFIXES):
            return
        for tgt in _flatten_targets(targets):
            leaf = _target_leaf(tgt)
            if leaf and not leaf.startswith(RESTRICTED_PREFIXES):
                self.report(tgt, "POP-E08", f"'{ast.unparse(value)}' (restricted zone) assigned to "
                            f"'{ast.unparse(tgt)}': the value leaves its zone")

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._scope is not None:
            for target in node.targets:
                self._check_write_target(target, node, "Assignment to")
            self._check_leak(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self._scope is not None:
            self._check_write_target(node.target, node, "Augmented assignment to")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self._scope is not None:
            self._check_write_target(node.target, node, "Assignment to")
            if node.value is not None:
                self._check_leak([node.target], node.value)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        if self._scope is not None:
            for target in node.targets:
                self._check_write_target(target, node, "Deletion of")
        self.generic_visit(node)

    # -- undeclared reads (POP-C01) --

    def _visit_access(self, node: Union[ast.Attribute, ast.Subscript]) -> None:
        scope = self._scope
        if scope is not None and id(node) not in self._chain_parents:
            self._check_read(node, scope)
        if isinstance(node.value, (ast.Attribute, ast.Subscript)):
            self._chain_parents.add(id(node.value))  # inner links of this chain are not outermost
        self.generic_visit(node)

    visit_Attribute = _visit_access
    visit_Subscript = _visit_access

    def _check_read(self, node: ast.AST, scope: _ProcessScope) -> None:
        if scope.inputs is None:
            return
        segments = self._ctx_segments(node)
        if segments is None:
            return
        path = _static_path(segments)
        if id(node) in self._call_funcs and isinstance(node, ast.Attribute) and len(path) == len(segments) > 1:
            path = path[:-1]  # a method call reads its owner: ctx.domain.items.append -> domain.items
        if not path or path[0] in C01_EXEMPT:
            return
        path[0] = ROOT_ALIASES.get(path[0], path[0])
        if path[0] != "domain" and path[0] not in self.namespaces:
            return
        dotted = ".".join(path)
        if not _covered(dotted, scope.inputs):
            self.report(node, "POP-C01", f"'{ast.unparse(node)}' reads '{dotted}', which process '{scope.name}' "
                        f"does not declare in its inputs {scope.inputs}")


# ---- files -----------------------------------------------------------------------------------


def iter_python_files(target: Union[str, Path]) -> List[Path]:
    """The target file, or every ``*.py`` below the target directory (sorted), skipping hidden
    directories and directories named tests, site-packages, migrations, __pycache__, venv,
    node_modules (judged relative to the target)."""
    root = Path(target)
    if root.is_file():
        return [root]
    files: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        files.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return files


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel


def lint_source(source: str, filename: str = "<string>",
                namespaces: Optional[Iterable[str]] = None) -> List[EffectViolation]:
    """Findings for one module's source (raises SyntaxError if it does not parse)."""
    tree = ast.parse(source, filename=filename)
    known = set(namespaces) if namespaces is not None else _registered_namespaces()
    known |= find_namespace_declarations(tree)
    linter = POPLinter(filename, known, source)
    linter.visit(tree)
    return sorted(linter.violations, key=lambda v: (v.line, v.col, v.check_id))


def lint_paths(paths: Sequence[Union[str, Path]], progress=None) -> LintReport:
    """Lint files and directories. Namespaces declared in any of the files count for all of them.
    ``progress(done, total, path)`` is called after each file when given."""
    report = LintReport()
    files: List[Path] = []
    for target in paths:
        if not Path(target).exists():
            report.missing.append(str(target))
            continue
        files.extend(iter_python_files(target))
    parsed: List[Tuple[Path, str, ast.AST]] = []
    namespaces = _registered_namespaces()
    for path in files:
        shown = _display(path)
        try:
            source = path.read_text(encoding="utf-8-sig")
            tree = ast.parse(source, filename=shown)
        except SyntaxError as exc:
            report.failures.append(ParseFailure(shown, exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}"))
            continue
        except (UnicodeDecodeError, OSError) as exc:
            report.failures.append(ParseFailure(shown, 1, 1, f"cannot read: {exc}"))
            continue
        parsed.append((path, source, tree))
        namespaces |= find_namespace_declarations(tree)
    for done, (path, source, tree) in enumerate(parsed, 1):
        linter = POPLinter(_display(path), namespaces, source)
        linter.visit(tree)
        report.violations.extend(sorted(linter.violations, key=lambda v: (v.line, v.col, v.check_id)))
        if progress is not None:
            progress(done, len(parsed), path)
    report.files_checked = len(parsed) + len(report.failures)
    return report


def format_table(report: LintReport) -> str:
    """Human-readable findings: one ``file:line:col  CODE  message`` row each, then a total."""
    lines: List[str] = []
    rows = [(v.location, v.check_id, v.message) for v in report.violations]
    if rows:
        width = max(len("Location"), *(len(r[0]) for r in rows))
        lines.append(f"{'Location'.ljust(width)}  {'Code'.ljust(7)}  Message")
        lines.append(f"{'-' * width}  {'-' * 7}  {'-' * 7}")
        lines.extend(f"{loc.ljust(width)}  {code.ljust(7)}  {msg}" for loc, code, msg in rows)
    for failure in report.failures:
        lines.append(f"{failure.location}  cannot check: {failure.message}")
    for missing in report.missing:
        lines.append(f"{missing}: no such file or directory")
    files = sum(1 for _ in {v.file for v in report.violations})
    if report.violations:
        noun = "violation" if len(report.violations) == 1 else "violations"
        lines.append(f"Found {len(report.violations)} {noun} in {files} file(s) ({report.files_checked} checked).")
    elif report.ok:
        lines.append(f"No violations found ({report.files_checked} file(s) checked).")
    return "\n".join(lines)


def run_lint(target: Union[str, Path] = ".", output_format: str = "table", stream: Optional[TextIO] = None) -> bool:
    """Lint ``target`` and print the result (``table`` or ``json``); True when clean."""
    out = stream or sys.stdout
    report = lint_paths([target])
    if output_format == "json":
        json.dump([v.to_dict() for v in report.violations], out, indent=2)
        out.write("\n")
        for failure in report.failures:
            print(f"error: {failure.location}: {failure.message}", file=sys.stderr)
        for missing in report.missing:
            print(f"error: {missing}: no such file or directory", file=sys.stderr)
    else:
        print(format_table(report), file=out)
    return report.ok
