"""Terminal output for the CLI with the standard library only: colours and symbols when the
stream is a UTF-8 terminal, plain ASCII otherwise; aligned tables; a progress line on stderr.

Progress is shown when stderr is a terminal; ``THEUS_PROGRESS=1`` forces it (one line per update,
for logs) and ``THEUS_PROGRESS=0`` turns it off. ``NO_COLOR`` disables colours.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, List, Optional, Sequence, TextIO

__all__ = ["CLIError", "Console", "Progress", "group_help"]


class CLIError(Exception):
    """A user-facing failure: printed as ``error: <message>`` and the command exits with ``code``."""

    def __init__(self, message: str, code: int = 1, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}
_SYMBOLS = {"ok": ("\u2705", "[ok]"), "add": ("\u2795", "[+]"), "warn": ("\u26a0\ufe0f ", "[!]"),
            "new": ("\u2728", "[*]"), "search": ("\U0001f50d", "[?]")}


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Console:
    """Writes to ``out`` (results) and ``err`` (diagnostics, progress)."""

    def __init__(self, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.color = _is_tty(self.out) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        self.unicode = encoding in ("utf8", "utf8sig")

    def style(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_ANSI[s] for s in styles if s in _ANSI)
        return f"\033[{codes}m{text}\033[0m"

    def symbol(self, name: str) -> str:
        fancy, plain = _SYMBOLS[name]
        return fancy if self.unicode else plain

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def info(self, text: str) -> None:
        print(text, file=self.err)

    def warn(self, text: str) -> None:
        print(f"{self.symbol('warn')} {text}", file=self.err)

    def error(self, text: str, hint: Optional[str] = None) -> None:
        print(f"error: {text}", file=self.err)
        if hint:
            print(f"hint: {hint}", file=self.err)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "") -> str:
        """Aligned text table (the last column is not padded)."""
        cells: List[List[str]] = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        lines = []
        for n, row in enumerate(cells):
            padded = [c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
            line = indent + "  ".join(padded).rstrip()
            lines.append(self.style(line, "bold") if n == 0 else line)
            if n == 0:
                lines.append(indent + "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _progress_mode(stream: TextIO) -> Optional[str]:
    """"tty" (rewrite one line), "lines" (forced, one line per update) or None (off)."""
    forced = os.environ.get("THEUS_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return None
    if _is_tty(stream):
        return "tty"
    return "lines" if forced in ("1", "true", "yes", "on") else None


class Progress:
    """A progress line on stderr for long commands.

    ``update(text)`` reports a step; with ``ticker`` a background thread also refreshes the line
    every ``interval`` seconds with ``ticker()`` (e.g. the current version), so a long workflow shows
    that it is alive. Used as a context manager; the line is cleared on exit.
    """

    def __init__(self, label: str, stream: Optional[TextIO] = None, ticker: Optional[Callable[[], str]] = None,
                 interval: float = 0.5) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.mode = _progress_mode(self.stream)
        self.ticker = ticker
        self.interval = interval
        self._start = time.perf_counter()
        self._last = 0.0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._width = 0

    @property
    def enabled(self) -> bool:
        return self.mode is not None

    def _emit(self, text: str, force: bool = False) -> None:
        if self.mode is None:
            return
        now = time.perf_counter()
        with self._lock:
            if not force and now - self._last < self.interval and self.mode == "lines":
                return
            self._last = now
            line = f"{self.label}: {text} ({now - self._start:.1f}s)"
            if self.mode == "tty":
                pad = max(0, self._width - len(line))
                self.stream.write("\r" + line + " " * pad)
                self._width = len(line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def update(self, text: str, force: bool = False) -> None:
        self._emit(text, force)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._emit(self.ticker() if self.ticker else "working")
            except Exception:  # noqa: BLE001 - progress must never break the command
                pass

    def __enter__(self) -> "Progress":
        if self.mode is not None and self.ticker is not None:
            self._thread = threading.Thread(target=self._tick, name="theus-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.mode == "tty" and self._width:
            with self._lock:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()


def group_help(parser) -> Callable[..., int]:
    """Handler for a command group run without a subcommand: print the group's help, exit 0."""

    def handler(args: object, console: Console) -> int:
        parser.print_help(console.out)
        return 0

    return handler
