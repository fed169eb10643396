"""The README's Python examples run as written (so the README stays true)."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert python_blocks(), "README.md lost its Python example"


def test_readme_python_examples_run():
    for block in python_blocks():
        namespace = {"__name__": "readme_example"}
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
        engine = namespace.get("engine")
        if engine is not None:
            assert engine.state.version >= 1
