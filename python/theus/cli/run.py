"""``theus run <workflow.yaml>``: execute a project's Flux workflow from the command line.

How the engine is built (the project convention):

1. Project root: ``--project``, else the nearest directory at or above the workflow file that
   holds ``main.py`` or ``src/processes/``, else the current directory. The root is put first on
   ``sys.path`` and is the working directory while the workflow runs.
2. If ``<root>/main.py`` defines ``build_engine()``, its result is the engine (``main.py`` is
   imported under another module name, so its ``if __name__ == "__main__":`` block does not run).
3. Otherwise: the context is ``create_context()`` from ``src/context.py`` or an instance of its
   ``BaseSystemContext`` subclass (none: an empty context); ``specs/audit_recipe.yaml`` (or
   ``audit_recipe.yaml``) is passed as ``audit_recipe`` when present; every ``@process`` in
   ``src/processes/`` is registered with ``scan_and_register``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml

from ._console import CLIError, Console, Progress
from .audit import yaml_error

__all__ = [
    "ProcessRef",
    "RunSummary",
    "find_project_root",
    "load_engine",
    "workflow_process_refs",
    "run_workflow",
    "add_parser",
]

MAIN_MODULE = "__theus_project_main__"


@dataclass
class ProcessRef:
    name: str
    location: str
    line: int


@dataclass
class RunSummary:
    workflow: str
    project: str
    engine: str
    status: str = "ok"
    steps: List[str] = field(default_factory=list)
    version_before: int = 0
    version_after: int = 0
    elapsed_s: float = 0.0
    conflicts_retried: int = 0
    audit_events: int = 0
    outbox_queued: int = 0
    error: Optional[str] = None

    @property
    def versions_committed(self) -> int:
        return self.version_after - self.version_before

    def process_counts(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for name in self.steps:
            counts[name] = counts.get(name, 0) + 1
        return counts

    def to_dict(self) -> Dict[str, Any]:
        return {
            "status": self.status, "workflow": self.workflow, "project": self.project, "engine": self.engine,
            "steps": self.steps, "steps_run": len(self.steps), "processes": self.process_counts(),
            "version_before": self.version_before, "version_after": self.version_after,
            "versions_committed": self.versions_committed, "elapsed_s": round(self.elapsed_s, 6),
            "conflicts_retried": self.conflicts_retried, "audit_events": self.audit_events,
            "outbox_queued": self.outbox_queued, "error": self.error,
        }


# ---- project and engine ----------------------------------------------------------------------


def find_project_root(workflow: Path, explicit: Optional[str] = None) -> Path:
    if explicit:
        root = Path(explicit).resolve()
        if not root.is_dir():
            raise CLIError(f"project directory not found: {explicit}")
        return root
    for candidate in [workflow.resolve().parent, *workflow.resolve().parents]:
        if (candidate / "main.py").is_file() or (candidate / "src" / "processes").is_dir():
            return candidate
    return Path.cwd().resolve()


@contextlib.contextmanager
def _project_environment(root: Path) -> Iterator[None]:
    """Root first on sys.path and as working directory; modules named ``src``/``src.*`` loaded
    from another project are forgotten so this project's own are imported."""
    for name in [n for n in sys.modules if n == "src" or n.startswith("src.")]:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if not origin or not Path(origin).resolve().is_relative_to(root):
            del sys.modules[name]
    sys.path.insert(0, str(root))
    previous = os.getcwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(previous)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))


def _import_file(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise CLIError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _default_context(root: Path) -> Any:
    path = root / "src" / "context.py"
    if not path.is_file():
        return None
    module = _import_file("src.context" if (root / "src" / "__init__.py").is_file() else "_theus_project_context",
                          path)
    factory = getattr(module, "create_context", None)
    if callable(factory):
        return factory()
    from ..context import BaseSystemContext

    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, BaseSystemContext) and v is not BaseSystemContext
               and v.__module__ == module.__name__]
    return classes[-1]() if classes else None


def load_engine(root: Path) -> Tuple[Any, str]:
    """(engine, how it was built) for the project at ``root`` (see the module docstring)."""
    main_py = root / "main.py"
    if main_py.is_file():
        module = _import_file(MAIN_MODULE, main_py)
        build = getattr(module, "build_engine", None)
        if callable(build):
            try:
                engine = build()
            except Exception as exc:  # noqa: BLE001 - reported to the user
                raise CLIError(f"main.build_engine() failed: {type(exc).__name__}: {exc}") from exc
            if not hasattr(engine, "execute_workflow"):
                raise CLIError(f"main.build_engine() returned {type(engine).__name__}, not a TheusEngine")
            return engine, "main.build_engine()"
    from ..engine import TheusEngine

    options: Dict[str, Any] = {}
    for recipe in (root / "specs" / "audit_recipe.yaml", root / "audit_recipe.yaml"):
        if recipe.is_file() and "audit_recipe" in inspect.signature(TheusEngine).parameters:
            options["audit_recipe"] = str(recipe)
            break
    engine = TheusEngine(_default_context(root), **options)
    processes = root / "src" / "processes"
    if processes.is_dir():
        engine.scan_and_register(str(processes))
    return engine, "convention (src/context.py, src/processes/)"


# ---- workflow checks -------------------------------------------------------------------------


def _steps_of(node: Any, location: str) -> Iterator[ProcessRef]:
    if not isinstance(node, yaml.SequenceNode):
        return
    for i, step in enumerate(node.value):
        here = f"{location}[{i}]"
        if isinstance(step, yaml.ScalarNode):
            yield ProcessRef(step.value, here, step.start_mark.line + 1)
        elif isinstance(step, yaml.MappingNode):
            keys = {k.value: v for k, v in step.value if isinstance(k, yaml.ScalarNode)}
            if "process" in keys:
                if isinstance(keys["process"], yaml.ScalarNode):
                    yield ProcessRef(keys["process"].value, here, keys["process"].start_mark.line + 1)
                continue
            for key in ("then", "else", "do", "steps"):
                if key in keys:
                    yield from _steps_of(keys[key], f"{here}.{key}")


def workflow_process_refs(text: str, source: str = "<workflow>") -> List[ProcessRef]:
    """Every process step of a Flux document with its location (``steps[1].do[0]``) and line.
    Raises CLIError for invalid YAML (with line and column)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise CLIError(yaml_error(source, exc)) from exc
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "steps":
            return list(_steps_of(value, "steps"))
    return []


def _check_workflow(text: str, source: str, engine: Any) -> List[ProcessRef]:
    refs = workflow_process_refs(text, source)
    from ..workflow import WorkflowEngine

    try:
        try:
            WorkflowEngine(text, source=source)
        except TypeError:  # a core without the source argument
            WorkflowEngine(text)
    except ValueError as exc:
        raise CLIError(f"{source}: invalid workflow: {exc}") from exc
    registry = getattr(engine, "_registry", None)
    if isinstance(registry, dict):
        for ref in refs:
            if ref.name not in registry:
                known = ", ".join(sorted(registry)) or "(none)"
                raise CLIError(f"{source}:{ref.line}: unknown process '{ref.name}' at {ref.location}",
                               hint=f"registered processes: {known}")
    return refs


# ---- running ---------------------------------------------------------------------------------


def _stat(engine: Any, key: str) -> int:
    core = getattr(engine, "_core", None)
    try:
        return int(core._stats().get(key, 0))
    except Exception:  # noqa: BLE001 - statistics are optional
        return 0


def _audit_events(engine: Any) -> int:
    audit = getattr(engine, "_audit", None)
    if audit is None:
        return 0
    for getter in ("get_count_all", "get_logs"):
        fn = getattr(audit, getter, None)
        if callable(fn):
            value = fn()
            return int(value) if isinstance(value, int) else len(value)
    return 0


def _outbox_queued(engine: Any) -> int:
    try:
        return int(engine.outbox.len())
    except Exception:  # noqa: BLE001 - optional
        return 0


def run_workflow(workflow: Path, project: Optional[str] = None, max_ops: Optional[int] = None,
                 debug: bool = False, progress: bool = True) -> RunSummary:
    """Build the project's engine and run ``workflow``; failures inside the workflow are recorded
    in the summary (``status='error'``), set-up failures raise CLIError."""
    if not workflow.is_file():
        raise CLIError(f"workflow file not found: {workflow}")
    try:
        text = workflow.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {workflow}: {exc}") from exc
    shown = str(workflow)
    workflow_process_refs(text, shown)  # reports YAML errors before any user code is imported
    root = find_project_root(workflow, project)
    absolute = workflow.resolve()
    with _project_environment(root):
        engine, how = load_engine(root)
        _check_workflow(text, shown, engine)
        summary = RunSummary(shown, str(root), how, version_before=engine.state.version)
        retries_before = _stat(engine, "retries")
        audit_before = _audit_events(engine)
        start = time.perf_counter()
        ticker = (lambda: f"version {engine.state.version}") if progress else None
        with Progress("theus run", ticker=ticker) as bar:
            bar.update(f"running {workflow.name}", force=True)
            try:
                summary.steps = list(asyncio.run(engine.execute_workflow(str(absolute), max_ops=max_ops,
                                                                         debug=debug or None)))
            except Exception as exc:  # noqa: BLE001 - reported in the summary
                summary.status = "error"
                summary.error = f"{type(exc).__name__}: {exc}"
        summary.elapsed_s = time.perf_counter() - start
        summary.version_after = engine.state.version
        summary.conflicts_retried = _stat(engine, "retries") - retries_before
        summary.audit_events = _audit_events(engine) - audit_before
        summary.outbox_queued = _outbox_queued(engine)
    return summary


def _print_summary(summary: RunSummary, console: Console) -> None:
    counts = summary.process_counts()
    detail = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items())
    ok = summary.status == "ok"
    status = console.style("ok", "green") if ok else console.style("FAILED", "red", "bold")
    rows = [
        ("Workflow", summary.workflow),
        ("Project", summary.project),
        ("Engine", summary.engine),
        ("Status", status),
        ("Steps run", f"{len(summary.steps)}" + (f"  ({detail})" if detail else "")),
        ("Versions", f"{summary.version_before} -> {summary.version_after} "
                     f"({summary.versions_committed} committed)"),
        ("Conflicts retried", summary.conflicts_retried),
        ("Audit events", summary.audit_events),
        ("Outbox queued", summary.outbox_queued),
        ("Elapsed", f"{summary.elapsed_s:.3f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        console.print(f"{key.ljust(width)}  {value}")


def run(args: argparse.Namespace, console: Console) -> int:
    json_mode = args.format == "json"
    # User code may print; in JSON mode stdout carries only the JSON document.
    redirect = contextlib.redirect_stdout(sys.stderr) if json_mode else contextlib.nullcontext()
    with redirect:
        summary = run_workflow(Path(args.workflow), args.project, args.max_ops, args.debug)
    if json_mode:
        console.print(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary, console)
    if summary.status != "ok":
        console.error(f"workflow failed after {len(summary.steps)} step(s): {summary.error}")
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a workflow of a project",
        description="Build the project's engine (main.build_engine() if main.py defines it, else the "
                    "src/context.py + src/processes/ convention) and run a Flux workflow with "
                    "execute_workflow, then print what happened.",
    )
    p.add_argument("workflow", help="the workflow YAML file")
    p.add_argument("--project", help="project root (default: nearest directory above the workflow with "
                                     "main.py or src/processes/)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("--max-ops", type=int, default=None, help="Flux operation limit (default: THEUS_MAX_LOOPS or 10000)")
    p.add_argument("--debug", action="store_true", help="trace every Flux step on stderr")
    p.set_defaults(handler=run)
