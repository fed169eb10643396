"""The POP linter: each rule fires on its violation (with file:line:col), stays quiet on clean
code, and `theus check` reports through its exit code."""
import json
import pathlib
import textwrap

import pytest

from theus import linter
from theus.cli import main

TEMPLATES = pathlib.Path(linter.__file__).resolve().parent / "templates"


def lint(code, namespaces=()):
    return linter.lint_source(textwrap.dedent(code), "mod.py", namespaces=set(namespaces))


def ids(code, namespaces=()):
    return [v.check_id for v in lint(code, namespaces)]


HEADER = "from theus import process\n"

# (rule, violating code, the line the finding must be on: line 1 is HEADER, line 2 blank)
VIOLATIONS = [
    ("POP-E01", """
        @process(inputs=[], outputs=[])
        def p(ctx):
            print("hello")
            return None
        """, 5),
    ("POP-E02", """
        @process(inputs=[], outputs=[])
        def p(ctx):
            data = open("x.txt").read()
            return data
        """, 5),
    ("POP-E03", """
        import requests
        """, 3),
    ("POP-E03", """
        from urllib.request import urlopen
        """, 3),
    ("POP-E03", """
        import http.client as h
        """, 3),
    ("POP-E04", """
        COUNTER = 0
        @process(inputs=[], outputs=[])
        def p(ctx):
            global COUNTER
            return 1
        """, 6),
    ("POP-E05", """
        @process(inputs=["domain.n"], outputs=["domain.n"])
        def p(ctx):
            ctx.domain.n = 2
            return None
        """, 5),
    ("POP-E05", """
        @process(inputs=["domain.stock"], outputs=["domain.stock"])
        def p(ctx, item):
            ctx.domain.stock[item] -= 1
            return None
        """, 5),
    ("POP-E05", """
        @process(inputs=["domain.items"], outputs=["domain.items"])
        def p(ctx):
            ctx.domain.items.append(1)
            return None
        """, 5),
    ("POP-E06", """
        @process(inputs=[], outputs=[])
        def p(ctx):
            x = 1
        """, 4),
    ("POP-E06", """
        @process(inputs=[], outputs=[])
        async def p(ctx):
            if ctx:
                return
            return 2
        """, 6),
    ("POP-E07", """
        from typing import Annotated
        from theus.context import BaseDomainContext, Mutable
        class ShopContext(BaseDomainContext):
            log_events: Annotated[list, Mutable]
        """, 6),
    ("POP-E07", """
        @process(inputs=["domain.log_events"], outputs=["domain.log_events"])
        def p(ctx):
            ctx.domain.log_events.pop()
            return None
        """, 5),
    ("POP-E07", """
        @process(inputs=["domain.meta_info"], outputs=[])
        def p(ctx):
            ctx.domain.meta_info.append(1)
            return None
        """, 5),
    ("POP-E07", """
        @process(inputs=["domain"], outputs=["domain"])
        def p(ctx):
            ctx.domain.sig_ready = True
            return None
        """, 5),
    ("POP-E08", """
        @process(inputs=["domain.log_events"], outputs=[])
        def p(ctx):
            events = ctx.domain.log_events
            return len(events)
        """, 5),
    ("POP-C01", """
        @process(inputs=["domain.a"], outputs=[])
        def p(ctx):
            return ctx.domain.b
        """, 5),
    ("POP-C01", """
        @process(inputs=["domain.user.name"], outputs=[])
        def p(ctx):
            return ctx.domain.user
        """, 5),
    ("POP-C01", """
        @process(outputs=[])
        def p(ctx):
            return ctx.domain["secret"]
        """, 5),
]


@pytest.mark.parametrize("rule,code,line", VIOLATIONS, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(VIOLATIONS)])
def test_rule_fires_with_its_location(rule, code, line):
    found = [v for v in lint(HEADER + textwrap.dedent(code)) if v.check_id == rule]
    assert found, f"{rule} did not fire"
    assert found[0].line == line and found[0].col >= 1
    assert found[0].location == f"mod.py:{found[0].line}:{found[0].col}"
    assert found[0].severity == "ERROR" and found[0].message


def test_every_rule_has_a_test():
    assert {r for r, _, _ in VIOLATIONS} == set(linter.RULES)


CLEAN = HEADER + """
from theus.structures import StateUpdate
from theus.contracts import OutboxMsg, SemanticType

def helper(items):
    print("outside a process: fine")
    items.append(1)
    return items

@process(inputs=["domain.stock", "domain.orders", "global.tax"], outputs=["domain.stock", "domain.orders"])
def buy(ctx, item: str):
    stock = ctx.domain.stock
    if stock.get(item, 0) <= 0:
        raise ValueError("sold out")
    ctx.outbox.add(OutboxMsg("sold", {"item": item}))
    ctx.log("bought")
    local = [1, 2]
    local.append(3)
    return StateUpdate(data={f"domain.stock.{item}": stock[item] - 1,
                             "domain.orders": [*ctx.domain.orders, item]}, signal={"sold": item})

@process(inputs=["domain.log_events"], outputs=["domain.log_events"])
def audit_trail(ctx):
    ctx.domain.log_events.append("ok")
    log_copy = ctx.domain.log_events
    return log_copy

@process(inputs=["domain.*"], outputs=[], semantic=SemanticType.PURE)
def report(ctx):
    def inner():
        return ctx.domain.anything
    return inner()

@process(inputs=["domain"], outputs=[])
async def everything(ctx):
    return ctx.domain.a.b.c
"""


def test_clean_module_has_no_findings():
    assert lint(CLEAN) == []


def test_the_first_positional_argument_declares_inputs():
    assert ids(HEADER + """
@process(["domain.a"], ["domain.b"])
def p(ctx):
    return ctx.domain.a
""") == []


def test_module_attribute_decorators_count_as_process():
    assert ids("""
import theus
@theus.process(inputs=[], outputs=[])
def p(ctx):
    print(1)
    return 1
""") == ["POP-E01"]


def test_undecorated_functions_are_not_processes():
    assert ids("""
def p(ctx):
    print(ctx.domain.x)
    ctx.domain.x = 1
""") == []


def test_nested_defs_inside_a_process_are_checked():
    assert ids(HEADER + """
@process(inputs=[], outputs=[])
def p(ctx):
    def helper():
        print("x")
    return helper()
""") == ["POP-E01"]


def test_registered_namespaces_are_checked_by_c01():
    code = HEADER + """
@process(inputs=["shop.items"], outputs=[])
def p(ctx):
    return ctx.shop.items, ctx.shop.secret
"""
    assert ids(code) == []
    found = lint(code, namespaces={"shop"})
    assert [v.check_id for v in found] == ["POP-C01"] and "shop.secret" in found[0].message


def test_namespaces_declared_in_the_module_are_known():
    code = HEADER + """
from theus.context import BaseSystemContext, Namespace
class App(BaseSystemContext):
    shop = Namespace(dict)

@process(inputs=[], outputs=[])
def p(ctx):
    return ctx.shop.secret
"""
    assert ids(code) == ["POP-C01"]


def test_an_undeclared_write_yields_c01_and_e05():
    assert sorted(ids(HEADER + """
@process(inputs=[], outputs=["domain.x"])
def p(ctx):
    ctx.domain.x = 1
    return None
""")) == ["POP-C01", "POP-E05"]


def test_log_and_restrict_view_are_exempt_from_c01():
    assert ids(HEADER + """
@process(inputs=[], outputs=[])
def p(ctx):
    ctx.log("x")
    return ctx.restrict_view()
""") == []


def test_noqa_suppresses_one_line():
    assert ids(HEADER + """
@process(inputs=[], outputs=[])
def p(ctx):
    print("a")  # noqa: POP-E01
    print("b")  # noqa
    print("c")  # noqa: POP-E05
    return 1
""") == ["POP-E01"]


def test_non_literal_inputs_skip_c01_only():
    assert ids(HEADER + """
INPUTS = ["domain.a"]
@process(inputs=INPUTS, outputs=[])
def p(ctx):
    print(ctx.domain.b)
    return 1
""") == ["POP-E01"]


# ---- files, directories, output ------------------------------------------------------------


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BAD = HEADER + """
@process(inputs=[], outputs=[])
def p(ctx):
    print("x")
    return 1
"""


def test_directories_are_walked_and_tests_dirs_skipped(tmp_path):
    write(tmp_path / "pkg" / "a.py", BAD)
    write(tmp_path / "tests" / "test_a.py", BAD)
    write(tmp_path / "migrations" / "m.py", BAD)
    write(tmp_path / ".venv" / "v.py", BAD)
    report = linter.lint_paths([tmp_path])
    assert report.files_checked == 1
    assert [pathlib.Path(v.file).name for v in report.violations] == ["a.py"]
    # An explicit target inside a skipped directory is checked.
    assert not linter.lint_paths([tmp_path / "tests"]).ok


def test_run_lint_returns_false_on_violations(tmp_path, capsys):
    f = write(tmp_path / "a.py", BAD)
    assert linter.run_lint(str(f)) is False
    out = capsys.readouterr().out
    assert "POP-E01" in out and ":5:5" in out and "Found 1 violation" in out
    assert linter.run_lint(str(write(tmp_path / "ok.py", "x = 1\n"))) is True


def test_check_json_lists_findings_with_locations(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "src" / "bad.py", BAD)
    assert main(["check", "src", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == [{"file": str(pathlib.Path("src") / "bad.py"), "line": 5, "col": 5, "check_id": "POP-E01",
                     "message": data[0]["message"], "severity": "ERROR"}]


def test_check_table_and_exit_codes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.py", "x = 1\n")
    assert main(["check"]) == 0
    assert "No violations found" in capsys.readouterr().out
    write(tmp_path / "bad.py", BAD)
    assert main(["check", "."]) == 1
    out = capsys.readouterr().out
    assert "bad.py:5:5" in out and "POP-E01" in out


def test_check_reports_syntax_errors_and_missing_paths(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "broken.py", "def f(:\n    pass\n")
    assert main(["check", "broken.py"]) == 1
    err = capsys.readouterr().err
    assert "broken.py:1:" in err and "syntax error" in err
    assert main(["check", "nope"]) == 1
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_check_shows_progress_when_forced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THEUS_PROGRESS", "1")
    write(tmp_path / "a.py", "x = 1\n")
    assert main(["check"]) == 0
    assert "theus check: [1/1]" in capsys.readouterr().err


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()))
def test_no_false_positives_on_the_templates(template):
    report = linter.lint_paths([TEMPLATES / template])
    assert report.files_checked >= 3
    assert report.ok, [v.location + " " + v.message for v in report.violations] + report.failures
