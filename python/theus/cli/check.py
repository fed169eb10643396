"""``theus check``: the POP linter over files and directories."""
from __future__ import annotations

import argparse
import json

from .. import linter
from ._console import Console, Progress

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace, console: Console) -> int:
    paths = args.paths or ["."]
    with Progress("theus check") as progress:
        report = linter.lint_paths(
            paths, progress=(lambda done, total, path: progress.update(f"[{done}/{total}] {path}"))
            if progress.enabled else None,
        )
    if args.format == "json":
        console.print(json.dumps([v.to_dict() for v in report.violations], indent=2))
    else:
        rows = [(v.location, console.style(v.check_id, "red"), v.message) for v in report.violations]
        if rows:
            console.print(console.table(["Location", "Code", "Message"], rows))
            files = len({v.file for v in report.violations})
            noun = "violation" if len(rows) == 1 else "violations"
            console.print(f"Found {len(rows)} {noun} in {files} file(s) ({report.files_checked} checked).")
        elif not report.failures and not report.missing:
            console.print(console.style(f"{console.symbol('ok')} No violations found "
                                        f"({report.files_checked} file(s) checked).", "green"))
    for failure in report.failures:
        console.error(f"{failure.location}: cannot check this file: {failure.message}")
    for missing in report.missing:
        console.error(f"{missing}: no such file or directory")
    return 0 if report.ok else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    rules = "; ".join(f"{k} {v}" for k, v in linter.RULES.items())
    p = sub.add_parser(
        "check",
        help="run the POP linter",
        description="Check that processes follow POP: no I/O or printing, no in-place context mutation, "
                    "reads declared as inputs, restricted zones respected. Exit code 1 on any violation, "
                    "unparsable file or missing path. Suppress one line with '# noqa: POP-E05'.",
        epilog="rules: " + rules,
    )
    p.add_argument("paths", nargs="*", help="files or directories (default: the current directory)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.set_defaults(handler=run)
