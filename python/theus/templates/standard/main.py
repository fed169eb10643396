"""__PROJECT_NAME__: a Theus project (standard template).

    python main.py [workflow.yaml]   # default: workflows/main.yaml
    theus run workflows/main.yaml    # the same from the command line
    theus check                      # POP linter
    theus audit inspect work_on_next # the audit rules of a process
"""
from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path

from theus import TheusEngine

from src.context import AppContext

ROOT = Path(__file__).resolve().parent
DEFAULT_WORKFLOW = ROOT / "workflows" / "main.yaml"
AUDIT_RECIPE = ROOT / "specs" / "audit_recipe.yaml"


def build_engine() -> TheusEngine:
    """The project's engine (`theus run` uses it too): the context, the audit recipe and every
    @process under src/processes/."""
    options = {}
    if AUDIT_RECIPE.is_file() and "audit_recipe" in inspect.signature(TheusEngine).parameters:
        options["audit_recipe"] = str(AUDIT_RECIPE)
    engine = TheusEngine(AppContext(), **options)
    engine.scan_and_register(str(ROOT / "src" / "processes"))
    return engine


async def main(argv: list) -> int:
    workflow = Path(argv[0]) if argv else DEFAULT_WORKFLOW
    engine = build_engine()
    start = engine.state.version
    steps = await engine.execute_workflow(str(workflow))
    domain = engine.state.data["domain"]
    print(f"Workflow {workflow.name}: {len(steps)} steps, versions {start} -> {engine.state.version}")
    for name in dict.fromkeys(steps):
        print(f"  {name:14} x{steps.count(name)}")
    print(f"Summary: {domain['summary'].to_dict()}")
    print(f"Checkpoints after tasks: {list(domain['checkpoints'])}")
    return 0 if domain["summary"]["open"] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
