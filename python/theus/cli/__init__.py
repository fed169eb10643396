"""The `theus` command line (console script `theus`, `python -m theus`, `python -m theus.cli`).

Commands: ``init`` (new project from a template), ``check`` (POP linter), ``run`` (execute a
workflow), ``audit gen-spec`` / ``audit inspect`` (audit recipes), ``schema gen`` / ``schema code``
(context schema). Every command has ``--help``. Exit codes: 0 success, 1 a failure the command
reports (``error: ...`` on stderr), 2 a usage error, 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__
from . import audit, check, init, run, schema
from ._console import CLIError, Console

__all__ = ["main", "build_parser", "CLIError"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="theus",
        description="Theus: a transactional, process-oriented state engine.",
        epilog="Run `theus <command> --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"theus {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="<command>")
    init.add_parser(sub)
    check.add_parser(sub)
    run.add_parser(sub)
    audit.add_parser(sub)
    schema.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args_list = sys.argv[1:] if argv is None else list(argv)
    console = Console()
    if not args_list:
        parser.print_help(console.out)
        return 0
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(console.out)
        return 0
    try:
        return int(handler(args, console) or 0)
    except CLIError as exc:
        console.error(str(exc), exc.hint)
        return exc.code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
