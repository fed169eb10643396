"""The `theus` command line (console script `theus`, `python -m theus`, `python -m theus.cli`)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="theus",
        description="Theus: a transactional, process-oriented state engine.",
    )
    parser.add_argument("--version", action="version", version=f"theus {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = sys.argv[1:] if argv is None else argv
    if not args:
        parser.print_help()
        return 0
    parser.parse_args(args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
