"""`theus init` on every template, then `theus check`, `theus run` and the project's own
`python main.py`, each in a subprocess with the test run's import paths."""
import json
import subprocess
import sys

import pytest
import yaml

from conftest import subprocess_env
from theus import schema_gen
from theus.cli import init as init_cmd
from theus.cli import main

TEMPLATES = ["standard", "ecommerce", "agent", "minimal"]
WORKFLOWS = {"standard": "main.yaml", "ecommerce": "fulfilment.yaml", "agent": "agent.yaml", "minimal": "main.yaml"}


def theus(*args, cwd):
    return subprocess.run([sys.executable, "-m", "theus", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=subprocess_env(), timeout=180)


def python(*args, cwd):
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=subprocess_env(), timeout=180)


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """One project per template, created with `theus init` in a subprocess."""
    root = tmp_path_factory.mktemp("projects")
    made = {}
    for template in TEMPLATES:
        out = theus("init", f"app_{template}", "--template", template, cwd=root)
        assert out.returncode == 0, out.stderr
        assert f"cd app_{template}" in out.stdout and "python main.py" in out.stdout
        made[template] = root / f"app_{template}"
    return made


def test_every_template_is_listed():
    assert sorted(init_cmd.TEMPLATES) == sorted(TEMPLATES)
    for template in TEMPLATES:
        assert (init_cmd.templates_root() / template / "main.py").is_file()


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_layout(projects, template):
    project = projects[template]
    for rel in ("main.py", "requirements.txt", "README.md", ".gitignore", "src/processes/__init__.py",
                f"workflows/{WORKFLOWS[template]}"):
        assert (project / rel).is_file(), rel
    assert not list(project.rglob("dot.*"))
    texts = [p.read_text() for p in project.rglob("*") if p.suffix in (".py", ".md", ".yaml", ".txt")]
    assert texts and not any("__PROJECT_NAME__" in t for t in texts)
    assert f"app_{template}" in (project / "README.md").read_text()


@pytest.mark.parametrize("template", TEMPLATES)
def test_check_is_clean(projects, template):
    out = theus("check", cwd=projects[template])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No violations found" in out.stdout


@pytest.mark.parametrize("template", TEMPLATES)
def test_run_the_workflow(projects, template):
    out = theus("run", f"workflows/{WORKFLOWS[template]}", "--format", "json", cwd=projects[template])
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "ok" and data["engine"] == "main.build_engine()"
    assert data["steps_run"] >= 3 and data["versions_committed"] == data["steps_run"]
    table = theus("run", f"workflows/{WORKFLOWS[template]}", cwd=projects[template])
    assert table.returncode == 0 and "Versions" in table.stdout and "Steps run" in table.stdout


@pytest.mark.parametrize("template", TEMPLATES)
def test_main_runs_out_of_the_box(projects, template):
    out = python("main.py", cwd=projects[template])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("template", ["standard", "ecommerce", "agent"])
def test_shipped_schema_matches_the_context(projects, template):
    project = projects[template]
    shipped = yaml.safe_load((project / "specs" / "context_schema.yaml").read_text())
    assert schema_gen.generate_schema_from_file(project / "src" / "context.py") == shipped


@pytest.mark.parametrize("template", ["standard", "ecommerce", "agent"])
def test_recipes_cover_only_known_processes(projects, template):
    project = projects[template]
    recipe = yaml.safe_load((project / "specs" / "audit_recipe.yaml").read_text())
    out = theus("audit", "gen-spec", "--recipe", "specs/copy.yaml", cwd=project)
    assert out.returncode == 0, out.stderr
    found = {line.split(": ", 1)[1] for line in out.stdout.splitlines() if line.startswith("found process: ")}
    assert set(recipe["process_recipes"]) <= found
    for name in recipe["process_recipes"]:
        shown = theus("audit", "inspect", name, cwd=project)
        assert shown.returncode == 0 and f"Audit Inspector: {name}" in shown.stdout


def test_ecommerce_demo_summary(projects):
    out = python("main.py", "--clients", "3", "--orders", "15", cwd=projects["ecommerce"])
    assert out.returncode == 0, out.stdout + out.stderr
    for line in ("Processes run", "Versions committed", "Conflicts retried", "Audit events", "Outbox deliveries",
                 "Signals received", "Heavy zone"):
        assert line in out.stdout
    assert "All invariants hold." in out.stdout and "[FAIL]" not in out.stdout
    assert "(1 failed attempt(s), redelivered)" in out.stdout


def test_ecommerce_workflow_branches_and_loops(projects):
    out = theus("run", "workflows/fulfilment.yaml", "--format", "json", cwd=projects["ecommerce"])
    data = json.loads(out.stdout)
    counts = data["processes"]
    assert counts["load_sample_orders"] == 1 and counts["take_next_order"] == 5
    assert counts["capture_payment"] == counts["issue_invoice"] == 4 and counts["cancel_order"] == 1
    assert data["outbox_queued"] == 4 and data["steps"][-1] == "close_day"


def test_agent_reaches_a_goal_given_on_the_command_line(projects):
    out = python("main.py", "4", cwd=projects["agent"])
    assert out.returncode == 0, out.stderr
    assert "Goal 4: reached the goal in 4 steps" in out.stdout
    assert "Trail: [1, 2, 3, 4]" in out.stdout


def test_init_refuses_a_non_empty_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("x")
    assert main(["init", "taken"]) == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert not (tmp_path / "taken" / "main.py").exists()
    (tmp_path / "afile").write_text("x")
    assert main(["init", "afile"]) == 1


def test_init_into_the_current_directory_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", ".", "--template", "minimal", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "main.py").is_file() and tmp_path.name in (tmp_path / "README.md").read_text()
    assert main(["init", ".", "--template", "minimal"]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


def test_init_without_a_name_uses_the_default_when_not_interactive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    assert main(["init", "--template", "minimal"]) == 0
    assert (tmp_path / "my-theus-app" / "main.py").is_file()


def test_init_lists_templates(capsys):
    assert main(["init", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(t in out for t in TEMPLATES)



HEAVY_DRIVER = """
import asyncio, os, sys
if os.environ.get("THEUS_APPEND_PATH"):
    sys.path.append(os.environ["THEUS_APPEND_PATH"])
import numpy as np
import main

class Allocator:
    def alloc(self, name, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def cleanup(self):
        pass

engine = main.build_engine()
engine.heavy = Allocator()
asyncio.run(engine.execute_workflow(str(main.WORKFLOW)))
result = main.heavy_step(engine, print)
assert result["ran"] and result["matches"], result
check = engine.state.data["domain"]["heavy_check"].to_dict()
assert check == {"invoices": 4, "sum_cents": engine.state.data["domain"]["revenue_cents"], "matches": True}, check
print("heavy ok")
"""


def test_ecommerce_heavy_step_with_an_allocator(projects):
    """The demo's heavy-zone step, driven with a stand-in allocator (numpy arrays in memory)."""
    pytest.importorskip("numpy")
    out = python("-c", HEAVY_DRIVER, cwd=projects["ecommerce"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "heavy ok" in out.stdout
