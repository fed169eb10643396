"""The `theus` command line: help everywhere, run / audit / schema commands, clear errors with
non-zero exit codes on malformed input. Commands run in-process (``main([...])``) in a temporary
directory; the entry points (`python -m theus`, `python -m theus.cli`) in subprocesses."""
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import subprocess_env
from theus import schema_gen
from theus.cli import build_parser, main


def write(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A small project following the convention (no main.py): context, processes, workflow."""
    write(tmp_path / "src" / "__init__.py", "")
    write(tmp_path / "src" / "context.py", """
        from dataclasses import dataclass, field
        from typing import List
        from theus.context import BaseDomainContext, BaseGlobalContext, BaseSystemContext

        @dataclass
        class CliGlobal(BaseGlobalContext):
            limit: int = 3

        @dataclass
        class CliDomain(BaseDomainContext):
            n: int = 0
            seen: List[int] = field(default_factory=list)

        @dataclass
        class CliContext(BaseSystemContext):
            global_ctx: CliGlobal = field(default_factory=CliGlobal)
            domain: CliDomain = field(default_factory=CliDomain)
        """)
    write(tmp_path / "src" / "processes" / "__init__.py", "")
    write(tmp_path / "src" / "processes" / "steps.py", """
        from theus import process
        from theus.structures import StateUpdate

        @process(inputs=["domain.n", "domain.seen"], outputs=["domain.n", "domain.seen"],
                 side_effects=["none"], errors=["ValueError"])
        def bump(ctx):
            return ctx.domain.n + 1, [*ctx.domain.seen, ctx.domain.n + 1]

        @process(inputs=["domain.n"], outputs=["domain.n"])
        async def reset(ctx):
            return StateUpdate(data={"domain.n": 0})

        @process(inputs=[], outputs=[])
        def boom(ctx):
            raise RuntimeError("boom")
        """)
    write(tmp_path / "workflows" / "count.yaml", """
        steps:
          - flux: while
            condition: "domain.n < global.limit"
            do:
              - bump
        """)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args):
    return main(list(args))


# ---- help -------------------------------------------------------------------------------------


def test_no_arguments_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("init", "check", "run", "audit", "schema"):
        assert command in out


@pytest.mark.parametrize("argv", [
    ["--help"], ["init", "--help"], ["check", "--help"], ["run", "--help"], ["audit", "--help"],
    ["audit", "gen-spec", "--help"], ["audit", "inspect", "--help"], ["schema", "--help"],
    ["schema", "gen", "--help"], ["schema", "code", "--help"],
])
def test_help_everywhere(argv, capsys):
    assert main(argv) == 0
    assert "usage: theus" in capsys.readouterr().out


@pytest.mark.parametrize("group,sub", [("audit", "gen-spec"), ("schema", "code")])
def test_groups_without_subcommand_print_their_help(group, sub, capsys):
    assert main([group]) == 0
    assert sub in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["check", "--format", "xml"]) == 2
    assert main(["init", "x", "--template", "nope"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("theus ")


@pytest.mark.parametrize("module", ["theus", "theus.cli"])
def test_module_entry_points(module, tmp_path):
    out = subprocess.run([sys.executable, "-m", module, "check", str(tmp_path)], capture_output=True, text=True,
                         env=subprocess_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "No violations found" in out.stdout
    bad = subprocess.run([sys.executable, "-m", module, "check", str(tmp_path / "missing")], capture_output=True,
                         text=True, env=subprocess_env(), timeout=60)
    assert bad.returncode == 1 and "no such file or directory" in bad.stderr


def test_console_script_target_is_main():
    import tomllib

    data = tomllib.loads((pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["theus"] == "theus.cli:main"
    assert build_parser().prog == "theus"


# ---- run ----------------------------------------------------------------------------------------


def test_run_by_convention_prints_a_summary(project, capsys):
    assert run_cli("run", "workflows/count.yaml") == 0
    out = capsys.readouterr().out
    assert "Steps run          3  (bump x3)" in out
    assert "(3 committed)" in out and "convention" in out and "Elapsed" in out


def test_run_json_summary(project, capsys):
    assert run_cli("run", "workflows/count.yaml", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "ok" and data["steps"] == ["bump"] * 3 and data["processes"] == {"bump": 3}
    assert data["versions_committed"] == 3 and data["version_after"] == data["version_before"] + 3
    assert data["elapsed_s"] >= 0 and data["project"] == str(project.resolve())


def test_run_uses_build_engine_from_main(project, capsys):
    write(project / "main.py", """
        import sys
        from theus import TheusEngine
        from src.processes.steps import bump

        def build_engine():
            engine = TheusEngine({"domain": {"n": 1, "seen": []}, "global": {"limit": 2}})
            engine.register(bump)
            return engine

        if __name__ == "__main__":
            sys.exit(7)
        """)
    assert run_cli("run", "workflows/count.yaml", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "main.build_engine()" and data["steps"] == ["bump"]


def test_run_from_another_directory_finds_the_project(project, capsys, monkeypatch):
    monkeypatch.chdir(project.parent)
    assert run_cli("run", str(project / "workflows" / "count.yaml"), "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["steps_run"] == 3


def test_run_missing_workflow(project, capsys):
    assert run_cli("run", "workflows/nope.yaml") == 1
    assert "workflow file not found: workflows/nope.yaml" in capsys.readouterr().err


def test_run_bad_yaml_names_the_line(project, capsys):
    write(project / "workflows" / "bad.yaml", """
        steps:
          - bump
          - flux: while
            condition: "x"
             do: [bump]
        """)
    assert run_cli("run", "workflows/bad.yaml") == 1
    err = capsys.readouterr().err
    assert "workflows/bad.yaml:6:" in err and "invalid YAML" in err


def test_run_unknown_process_names_step_and_line(project, capsys):
    write(project / "workflows" / "typo.yaml", """
        steps:
          - bump
          - flux: if
            condition: "domain.n > 100"
            then:
              - bunp
        """)
    assert run_cli("run", "workflows/typo.yaml") == 1
    err = capsys.readouterr().err
    assert "workflows/typo.yaml:7: unknown process 'bunp' at steps[1].then[0]" in err
    assert "registered processes: boom, bump, reset" in err


def test_run_invalid_flux_is_reported(project, capsys):
    write(project / "workflows" / "par.yaml", """
        steps:
          - flux: parallel
            steps: [bump]
        """)
    assert run_cli("run", "workflows/par.yaml") == 1
    err = capsys.readouterr().err
    assert "invalid workflow" in err and "Unknown flux type: 'parallel'" in err


def test_run_failing_process_reports_and_exits_1(project, capsys):
    write(project / "workflows" / "fail.yaml", "steps:\n  - bump\n  - boom\n  - bump\n")
    assert run_cli("run", "workflows/fail.yaml", "--format", "json") == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["status"] == "error" and data["steps"] == [] and "RuntimeError: boom" in data["error"]
    assert data["versions_committed"] == 1  # the first bump committed, nothing after it
    assert "workflow failed" in captured.err


def test_run_safety_trip_is_an_error(project, capsys):
    write(project / "workflows" / "loop.yaml", """
        steps:
          - flux: while
            condition: "True"
            do: [reset]
        """)
    assert run_cli("run", "workflows/loop.yaml", "--max-ops", "20") == 1
    assert "Flux Safety Trip" in capsys.readouterr().err


def test_run_import_error_in_main_is_reported(project, capsys):
    write(project / "main.py", "import does_not_exist\n")
    assert run_cli("run", "workflows/count.yaml") == 1
    assert "importing" in capsys.readouterr().err


# ---- audit ----------------------------------------------------------------------------------


def test_gen_spec_adds_skeletons_and_merges(project, capsys):
    assert run_cli("audit", "gen-spec") == 0
    out = capsys.readouterr().out
    assert "found process: bump" in out and "Added skeleton for reset" in out  # async processes too
    recipe = yaml.safe_load((project / "specs" / "audit_recipe.yaml").read_text())
    assert list(recipe["process_recipes"]) == ["bump", "reset", "boom"]
    bump = recipe["process_recipes"]["bump"]
    assert bump["inputs"] == [{"field": "TODO_FIELD", "level": "I", "min": 0}]
    assert bump["outputs"] == [{"field": "TODO_FIELD", "level": "I", "threshold": 3}]
    assert bump["side_effects"] == ["none"] and bump["errors"] == ["ValueError"]
    # Edited recipes are kept; only new processes are added.
    recipe["process_recipes"]["bump"] = {"inputs": [{"field": "n", "max": 5, "level": "A"}]}
    del recipe["process_recipes"]["boom"]
    (project / "specs" / "audit_recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    assert run_cli("audit", "gen-spec") == 0
    again = yaml.safe_load((project / "specs" / "audit_recipe.yaml").read_text())
    assert again["process_recipes"]["bump"] == {"inputs": [{"field": "n", "max": 5, "level": "A"}]}
    assert "boom" in again["process_recipes"]
    capsys.readouterr()
    assert run_cli("audit", "gen-spec") == 0
    assert "No new processes to add" in capsys.readouterr().out


def test_gen_spec_errors(project, tmp_path, capsys, monkeypatch):
    write(project / "specs" / "audit_recipe.yaml", "process_recipes: [1, 2\n")
    assert run_cli("audit", "gen-spec") == 1
    assert "specs/audit_recipe.yaml:" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert run_cli("audit", "gen-spec") == 1
    assert "processes directory not found" in capsys.readouterr().err


def test_inspect_prints_the_rules(project, capsys):
    write(project / "specs" / "audit_recipe.yaml", """
        audit: {level: B, threshold_max: 4}
        process_recipes:
          bump:
            inputs:
              - {field: n, min: 1, max: 9, level: A, message: hidden}
            outputs:
              - {field: domain.n, regex: "^x"}
            side_effects: [email]
        """)
    assert run_cli("audit", "inspect", "bump") == 0
    out = capsys.readouterr().out
    assert "Audit Inspector: bump" in out and "threshold_max=4" in out
    assert "min=1, max=9" in out and "hidden" not in out
    row = next(line for line in out.splitlines() if "domain.n" in line)
    assert row.split()[-1] == "I"  # no level: inherits the default
    assert "- email" in out and "EXPECTED ERRORS\n  (None declared)" in out
    assert run_cli("audit", "inspect", "bump", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inputs"][0]["max"] == 9 and data["defaults"]["threshold_max"] == 4


def test_inspect_errors(project, capsys):
    assert run_cli("audit", "inspect", "bump") == 1
    assert "audit recipe not found" in capsys.readouterr().err
    write(project / "specs" / "audit_recipe.yaml", "process_recipes:\n  bump: {}\n")
    assert run_cli("audit", "inspect", "nope") == 1
    err = capsys.readouterr().err
    assert "process 'nope' has no recipe" in err and "known processes: bump" in err
    write(project / "specs" / "audit_recipe.yaml", "process_recipes:\n  bump: {inputs: [}\n")
    assert run_cli("audit", "inspect", "bump") == 1
    assert "specs/audit_recipe.yaml:2:" in capsys.readouterr().err


# ---- schema ---------------------------------------------------------------------------------


def test_schema_gen_writes_and_echoes(project, capsys):
    assert run_cli("schema", "gen") == 0
    out = capsys.readouterr().out
    schema = yaml.safe_load((project / "specs" / "context_schema.yaml").read_text())
    assert yaml.safe_load(out) == schema
    assert schema == {"context": {"global": {"limit": {"type": "integer", "default": 3}},
                                  "domain": {"n": {"type": "integer", "default": 0}, "seen": {"type": "list"}}}}


def test_schema_code_round_trip(project, capsys):
    write(project / "specs" / "context_schema.yaml", """
        context:
          global: {name: {type: string, default: "it's"}}
          domain:
            count: {type: integer, default: 2}
            items: {type: list}
            ratio: {type: float}
            meta: {type: dict, default: {a: 1}}
          inventory:
            skus: {type: list, default: [a, b]}
            active: {type: boolean, default: true}
        """)
    assert run_cli("schema", "code", "--out-file", "gen/context.py") == 0
    source = (project / "gen" / "context.py").read_text()
    namespace = {}
    exec(compile(source, "gen/context.py", "exec"), namespace)  # noqa: S102 - generated code
    ctx = namespace["SystemContext"]()
    assert ctx.global_ctx.name == "it's" and ctx.domain.count == 2 and ctx.domain.items == []
    assert ctx.domain.meta == {"a": 1} and ctx.inventory.skus == ["a", "b"]
    back = schema_gen.generate_schema_from_source(source)
    assert set(back["context"]) == {"global", "domain", "inventory"}
    assert back["context"]["domain"]["count"] == {"type": "integer", "default": 2}
    assert back["context"]["inventory"]["active"] == {"type": "boolean", "default": True}


def test_schema_errors(project, capsys):
    assert run_cli("schema", "gen", "--context-file", "nope.py") == 1
    assert "context file not found: nope.py" in capsys.readouterr().err
    assert run_cli("schema", "code", "--schema-file", "nope.yaml") == 1
    assert "schema file not found" in capsys.readouterr().err
    write(project / "bad.yaml", "context:\n  domain: {a: [}\n")
    assert run_cli("schema", "code", "--schema-file", "bad.yaml", "--out-file", "-") == 1
    assert "bad.yaml:2:" in capsys.readouterr().err
    write(project / "bad2.yaml", "context:\n  bad-name: {a: {type: string}}\n")
    assert run_cli("schema", "code", "--schema-file", "bad2.yaml", "--out-file", "-") == 1
    assert "not a valid Python identifier" in capsys.readouterr().err
    write(project / "broken.py", "class X(:\n")
    assert run_cli("schema", "gen", "--context-file", "broken.py") == 1
    assert "broken.py:1:" in capsys.readouterr().err


def test_schema_types_from_annotations():
    schema = schema_gen.generate_schema_from_source(textwrap.dedent("""
        import typing
        from typing import Optional, List
        class InventoryContext:
            a: int = 1
            b: Optional[float] = None
            c: typing.List[int]
            d: "Dict[str, int]"
            e: Point
            f: bool = True
            g: list = field(default_factory=list)
            h: str | None = "x"
        class SystemContext:
            z: int = 0
        """))
    inv = schema["context"]["inventory"]
    assert {k: v["type"] for k, v in inv.items()} == {"a": "integer", "b": "float", "c": "list", "d": "dict",
                                                      "e": "string", "f": "boolean", "g": "list", "h": "string"}
    assert inv["a"]["default"] == 1 and "default" not in inv["g"] and inv["h"]["default"] == "x"
    assert list(schema["context"]) == ["global", "domain", "inventory"]
