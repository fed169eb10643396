"""``theus audit gen-spec`` and ``theus audit inspect``: audit recipes (``specs/audit_recipe.yaml``).

Recipe format (see the user guide): an optional ``audit:`` block with the global level and
thresholds, and ``process_recipes: {<process>: {inputs: [rules], outputs: [rules], side_effects,
errors}}``. Reading goes through ``load_recipe_document`` only.
"""
from __future__ import annotations

import argparse
import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from ._console import CLIError, Console, group_help

__all__ = [
    "DEFAULT_RECIPE",
    "DEFAULT_PROCESSES_DIR",
    "ProcessDecl",
    "yaml_error",
    "load_recipe_document",
    "process_recipes",
    "find_processes",
    "skeleton",
    "add_parser",
]

DEFAULT_RECIPE = "specs/audit_recipe.yaml"
DEFAULT_PROCESSES_DIR = "src/processes"
HIDDEN_RULE_KEYS = {"field", "level", "message", "min_threshold", "max_threshold", "reset_on_success"}
LEVEL_NAMES = {"S": "Stop", "A": "Abort", "B": "Block", "C": "Count"}


def yaml_error(path: Any, exc: yaml.YAMLError) -> str:
    """``<path>:<line>:<col>: <problem>`` for a YAML error (line and column 1-based)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}"
    return f"{path}: invalid YAML: {problem}"


def load_recipe_document(path: Any, missing_ok: bool = False) -> Dict[str, Any]:
    """The recipe file as a mapping (``{}`` when missing and ``missing_ok``). Raises CLIError for a
    missing file, invalid YAML (with line and column) or a malformed ``process_recipes``."""
    p = Path(path)
    if not p.is_file():
        if missing_ok:
            return {}
        raise CLIError(f"audit recipe not found: {path}", hint="create one with `theus audit gen-spec`")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise CLIError(yaml_error(path, exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CLIError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    recipes = data.get("process_recipes")
    if recipes is not None and not isinstance(recipes, dict):
        raise CLIError(f"{path}: 'process_recipes' must be a mapping of process names to recipes")
    return data


def process_recipes(document: Dict[str, Any]) -> Dict[str, Any]:
    return document.get("process_recipes") or {}


# ---- finding processes -----------------------------------------------------------------------


@dataclass
class ProcessDecl:
    name: str
    file: str
    line: int
    side_effects: List[Any] = field(default_factory=list)
    errors: List[Any] = field(default_factory=list)


def _literal_list(node: ast.AST) -> List[Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ["__DYNAMIC__"]
    return list(value) if isinstance(value, (list, tuple)) else ["__DYNAMIC__"]


def _process_decorator(func: ast.AST) -> Optional[ast.AST]:
    for dec in getattr(func, "decorator_list", []):
        target = dec.func if isinstance(dec, ast.Call) else dec
        if (isinstance(target, ast.Name) and target.id == "process") or (
            isinstance(target, ast.Attribute) and target.attr == "process"
        ):
            return dec
    return None


def find_processes(directory: Any) -> List[ProcessDecl]:
    """Functions (sync and async) decorated with ``@process`` in ``directory/*.py`` (not
    recursive, ``__*`` files skipped), in file and line order. Unparsable files raise CLIError."""
    found: List[ProcessDecl] = []
    for path in sorted(Path(directory).glob("*.py")):
        if path.name.startswith("__"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8-sig"), filename=str(path))
        except SyntaxError as exc:
            raise CLIError(f"{path}:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}") from exc
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            dec = _process_decorator(node)
            if dec is None:
                continue
            decl = ProcessDecl(node.name, str(path), node.lineno)
            if isinstance(dec, ast.Call):
                for kw in dec.keywords:
                    if kw.arg == "side_effects":
                        decl.side_effects = _literal_list(kw.value)
                    elif kw.arg == "errors":
                        decl.errors = _literal_list(kw.value)
            found.append(decl)
    found.sort(key=lambda d: (d.file, d.line))
    return found


def skeleton(decl: ProcessDecl) -> Dict[str, Any]:
    return {
        "inputs": [{"field": "TODO_FIELD", "level": "I", "min": 0}],
        "outputs": [{"field": "TODO_FIELD", "level": "I", "threshold": 3}],
        "side_effects": list(decl.side_effects),
        "errors": list(decl.errors),
    }


# ---- commands --------------------------------------------------------------------------------


def gen_spec(args: argparse.Namespace, console: Console) -> int:
    proc_dir = Path(args.processes_dir)
    if not proc_dir.is_dir():
        raise CLIError(f"processes directory not found: {proc_dir}",
                       hint="run this in a project root (where src/processes/ is) or pass --processes-dir")
    out = Path(args.recipe)
    document = load_recipe_document(out, missing_ok=True)
    had_comments = out.is_file() and any(line.lstrip().startswith("#")
                                         for line in out.read_text(encoding="utf-8-sig").splitlines())
    recipes = document.setdefault("process_recipes", {})
    if recipes is None:
        recipes = document["process_recipes"] = {}
    decls = find_processes(proc_dir)
    if not decls:
        console.warn(f"No processes found in {proc_dir}.")
        return 0
    added = []
    for decl in decls:
        console.print(f"found process: {decl.name}")
        if decl.name not in recipes:
            recipes[decl.name] = skeleton(decl)
            added.append(decl.name)
            console.print(f"{console.symbol('add')} Added skeleton for {decl.name}")
    if not added:
        console.print(f"{console.symbol('new')} No new processes to add.")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True),
                   encoding="utf-8")
    console.print(f"{console.symbol('ok')} Updated {out}")
    if had_comments:
        console.warn(f"comments in {out} were not preserved")
    return 0


def _condition(rule: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in rule.items() if k not in HIDDEN_RULE_KEYS) or "-"


def _level(rule: Dict[str, Any]) -> str:
    return str(rule.get("level", "I"))


def inspect(args: argparse.Namespace, console: Console) -> int:
    document = load_recipe_document(args.recipe)
    recipes = process_recipes(document)
    recipe = recipes.get(args.process)
    if recipe is None:
        known = ", ".join(sorted(map(str, recipes))) or "(none)"
        raise CLIError(f"process '{args.process}' has no recipe in {args.recipe}", hint=f"known processes: {known}")
    if not isinstance(recipe, dict):
        raise CLIError(f"{args.recipe}: the recipe of '{args.process}' must be a mapping")
    settings = document.get("audit", document)
    defaults = {
        "level": settings.get("level", "B"),
        "threshold_max": settings.get("threshold_max", settings.get("max_retries", 3)),
        "threshold_min": settings.get("threshold_min", 0),
        "reset_on_success": settings.get("reset_on_success", True),
    }
    sections = {k: [r for r in (recipe.get(k) or []) if isinstance(r, dict)] for k in ("inputs", "outputs")}
    if args.format == "json":
        console.print(json.dumps({"process": args.process, "defaults": defaults, **sections,
                                  "side_effects": recipe.get("side_effects") or [],
                                  "errors": recipe.get("errors") or []}, indent=2, default=str))
        return 0
    title = f"{console.symbol('search')} Audit Inspector: {args.process}"
    console.print(console.style(title, "bold"))
    console.print("=" * len(title))
    level = str(defaults["level"])
    console.print(f"defaults: level={level} ({LEVEL_NAMES.get(level[:1].upper(), level)}), "
                  f"threshold_max={defaults['threshold_max']}, threshold_min={defaults['threshold_min']}, "
                  f"reset_on_success={defaults['reset_on_success']}   (level I = inherit the default)")
    for key, heading in (("inputs", "INPUTS"), ("outputs", "OUTPUTS")):
        console.print("")
        console.print(console.style(heading, "cyan"))
        rules = sections[key]
        if rules:
            rows = [(r.get("field", "?"), _condition(r), _level(r)) for r in rules]
            console.print(console.table(["Field", "Condition", "Level"], rows, indent="  "))
        else:
            console.print("  (None declared)")
    for key, heading in (("side_effects", "SIDE EFFECTS"), ("errors", "EXPECTED ERRORS")):
        console.print("")
        console.print(console.style(heading, "cyan"))
        values = recipe.get(key) or []
        console.print("\n".join(f"  - {v}" for v in values) if values else "  (None declared)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit recipe tools (gen-spec, inspect)",
                       description="Work with the audit recipe (default: specs/audit_recipe.yaml).")
    p.set_defaults(handler=group_help(p))
    group = p.add_subparsers(title="commands", metavar="<command>")

    g = group.add_parser("gen-spec", help="add a skeleton recipe for every @process that has none",
                         description="Scan src/processes/*.py (not recursive, __* skipped) for @process "
                                     "functions and add a skeleton recipe for each one missing from the recipe "
                                     "file. Existing recipes are kept; comments are not preserved.")
    g.add_argument("--processes-dir", default=DEFAULT_PROCESSES_DIR,
                   help=f"where the process modules are (default: {DEFAULT_PROCESSES_DIR})")
    g.add_argument("--recipe", default=DEFAULT_RECIPE, help=f"recipe file to update (default: {DEFAULT_RECIPE})")
    g.set_defaults(handler=gen_spec)

    i = group.add_parser("inspect", help="show the audit rules of one process",
                         description="Print the input and output rules, side effects and expected errors "
                                     "the recipe declares for a process.")
    i.add_argument("process", help="process name")
    i.add_argument("--recipe", default=DEFAULT_RECIPE, help=f"recipe file (default: {DEFAULT_RECIPE})")
    i.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    i.set_defaults(handler=inspect)
