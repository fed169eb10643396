"""The user guide's Python examples run as written (each ```python block on its own)."""
import pathlib
import re

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "user-guide.md"


def python_blocks():
    text = GUIDE.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


def test_the_guide_has_examples_for_every_section():
    assert len(python_blocks()) >= 8
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## Quick start", "## Contracts", "## Transactions", "## Flux workflows", "## Audit",
                    "## Heavy zone", "## The command line"):
        assert heading in text


@pytest.mark.parametrize("line,block", python_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_guide_example_runs(line, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "user_guide_example"}
    code = compile("\n" * (line - 1) + block, str(GUIDE), "exec")  # tracebacks point into the guide
    exec(code, namespace)  # noqa: S102 - our own documentation
    engine = namespace.get("engine")
    if engine is not None:
        assert engine.state.version >= 1
