"""``theus init``: create a project from one of the bundled templates (package data under
``theus/templates/<name>/``). Files named ``dot.<x>`` are written as ``.<x>``; the token
``__PROJECT_NAME__`` in text files is replaced by the project name."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

from ._console import CLIError, Console

__all__ = ["TEMPLATES", "DEFAULT_TEMPLATE", "templates_root", "scaffold", "add_parser"]

TEMPLATES: Dict[str, str] = {
    "standard": "task pipeline: context classes, processes, audit recipe, schema, a while/if workflow",
    "ecommerce": "the demo shop: orders, payments, invoices, audit, signals, outbox, concurrent clients",
    "agent": "an agent loop: observe / decide (PURE) / act under a while loop, signals",
    "minimal": "one process and one workflow",
}
DEFAULT_TEMPLATE = "standard"
DEFAULT_NAME = "my-theus-app"
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".yaml", ".yml", ".env", ".toml", ".cfg", ".ini", ""}
_SKIP = {"__pycache__", ".pytest_cache"}


def templates_root() -> Path:
    return Path(__file__).resolve().parent.parent / "templates"


def _template_files(template: str) -> List[Path]:
    root = templates_root() / template
    if not root.is_dir():
        raise CLIError(f"template '{template}' is missing from the installation ({root})",
                       hint="reinstall theus; the templates are package data")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
        files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith((".pyc", ".pyo")))
    return files


def _destination_name(relative: Path) -> Path:
    parts = [("." + p[4:]) if p.startswith("dot.") else p for p in relative.parts]
    return Path(*parts)


def scaffold(name: str, template: str = DEFAULT_TEMPLATE, cwd: Optional[Path] = None) -> Path:
    """Copy ``template`` into ``<cwd>/<name>`` (which must be absent or empty) or, with name
    ``.``, into ``cwd`` itself (existing files are never overwritten). Returns the project path."""
    if template not in TEMPLATES:
        raise CLIError(f"unknown template '{template}'", hint=f"choose one of: {', '.join(TEMPLATES)}")
    base = Path(cwd or os.getcwd())
    in_place = name in (".", "")
    target = base if in_place else base / name
    project_name = base.resolve().name if in_place else Path(name).name
    if not in_place:
        if target.exists() and not target.is_dir():
            raise CLIError(f"'{name}' exists and is not a directory")
        if target.is_dir() and any(target.iterdir()):
            raise CLIError(f"directory '{name}' already exists and is not empty",
                           hint="choose another name, or run `theus init .` inside it")
    source_root = templates_root() / template
    plan = [(src, target / _destination_name(src.relative_to(source_root))) for src in _template_files(template)]
    clashes = [str(dst.relative_to(target)) for _, dst in plan if dst.exists()]
    if clashes:
        raise CLIError(f"refusing to overwrite existing files: {', '.join(clashes)}")
    try:
        for src, dst in plan:
            dst.parent.mkdir(parents=True, exist_ok=True)
            data = src.read_bytes()
            if src.suffix in _TEXT_SUFFIXES:
                data = data.replace(b"__PROJECT_NAME__", project_name.encode("utf-8"))
            dst.write_bytes(data)
    except OSError as exc:
        raise CLIError(f"copying the template failed: {exc}") from exc
    return target


def _ask_name(console: Console) -> str:
    if not sys.stdin.isatty():
        return DEFAULT_NAME
    try:
        answer = input(f"Project Name [{DEFAULT_NAME}]: ").strip()
    except EOFError:
        answer = ""
    return answer or DEFAULT_NAME


def run(args: argparse.Namespace, console: Console) -> int:
    if args.list:
        console.print(console.table(["Template", "Contents"], list(TEMPLATES.items())))
        return 0
    name = args.name
    if name is None:
        name = "." if args.quiet else _ask_name(console)
    target = scaffold(name, args.template)
    if args.quiet:
        return 0
    shown = "." if name in (".", "") else name
    console.print(f"{console.symbol('new')} Created {console.style(shown, 'bold')} from the "
                  f"'{args.template}' template.")
    console.print("Next steps:")
    if shown != ".":
        console.print(f"  cd {shown}")
    console.print("  pip install -r requirements.txt   # if theus is not installed yet")
    console.print("  python main.py                    # run the demo")
    console.print("  theus check                       # POP linter")
    first = sorted((target / "workflows").glob("*.yaml"))
    if first:
        console.print(f"  theus run workflows/{first[0].name}   # run a workflow from the command line")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="create a new project from a template",
        description="Create a project directory from a template. Each template runs out of the box: "
                    "`python main.py` executes its workflow.",
        epilog="templates: " + "; ".join(f"{k}: {v}" for k, v in TEMPLATES.items()),
    )
    p.add_argument("name", nargs="?", help="project directory to create ('.' = the current directory); "
                                           "prompted when omitted")
    p.add_argument("--template", "-t", default=DEFAULT_TEMPLATE, choices=sorted(TEMPLATES),
                   help=f"project template (default: {DEFAULT_TEMPLATE})")
    p.add_argument("--quiet", "-q", action="store_true", help="no prompt, no output (no name = current directory)")
    p.add_argument("--list", action="store_true", help="list the templates and exit")
    p.set_defaults(handler=run)
