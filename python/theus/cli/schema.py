"""``theus schema gen`` / ``theus schema code``: context classes <-> ``specs/context_schema.yaml``."""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from .. import schema_gen
from ._console import CLIError, Console, group_help
from .audit import yaml_error

__all__ = ["add_parser"]

DEFAULT_CONTEXT = "src/context.py"
DEFAULT_SCHEMA = "specs/context_schema.yaml"


def gen(args: argparse.Namespace, console: Console) -> int:
    context = Path(args.context_file)
    if not context.is_file():
        raise CLIError(f"context file not found: {context}", hint="pass --context-file PATH")
    try:
        schema = schema_gen.generate_schema_from_file(context)
    except SyntaxError as exc:
        raise CLIError(f"{context}:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}") from exc
    text = schema_gen.dump_schema(schema)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(text.rstrip())
    console.info(f"{console.symbol('ok')} Wrote {out}")
    return 0


def code(args: argparse.Namespace, console: Console) -> int:
    schema = Path(args.schema_file)
    if not schema.is_file():
        raise CLIError(f"schema file not found: {schema}", hint="generate one with `theus schema gen`")
    try:
        source = schema_gen.generate_code_from_schema(schema)
    except yaml.YAMLError as exc:
        raise CLIError(yaml_error(schema, exc)) from exc
    except ValueError as exc:
        raise CLIError(f"{schema}: {exc}") from exc
    if args.out_file == "-":
        console.print(source.rstrip())
        return 0
    out = Path(args.out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(source, encoding="utf-8")
    console.print(f"{console.symbol('ok')} Wrote {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="context schema tools (gen, code)",
                       description="Convert between context classes and specs/context_schema.yaml.")
    p.set_defaults(handler=group_help(p))
    group = p.add_subparsers(title="commands", metavar="<command>")

    g = group.add_parser("gen", help="write the schema of the context classes",
                         description="Read the top-level context classes of a module (statically) and write "
                                     "their fields as specs/context_schema.yaml; the YAML is also printed.")
    g.add_argument("--context-file", default=DEFAULT_CONTEXT, help=f"context module (default: {DEFAULT_CONTEXT})")
    g.add_argument("--out", default=DEFAULT_SCHEMA, help=f"schema file to write (default: {DEFAULT_SCHEMA})")
    g.set_defaults(handler=gen)

    c = group.add_parser("code", help="generate context classes from a schema",
                         description="Generate dataclass source from a schema file. The output file is "
                                     "overwritten; '-' prints the code instead.")
    c.add_argument("--schema-file", default=DEFAULT_SCHEMA, help=f"schema file (default: {DEFAULT_SCHEMA})")
    c.add_argument("--out-file", default=DEFAULT_CONTEXT, help=f"Python file to write (default: {DEFAULT_CONTEXT})")
    c.set_defaults(handler=code)
