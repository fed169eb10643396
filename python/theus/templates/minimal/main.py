"""__PROJECT_NAME__: a minimal Theus project.

    python main.py                  # runs workflows/main.yaml and prints the result
    theus run workflows/main.yaml   # the same workflow from the command line
    theus check                     # POP linter
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from theus import TheusEngine

ROOT = Path(__file__).resolve().parent
WORKFLOW = ROOT / "workflows" / "main.yaml"


def build_engine() -> TheusEngine:
    """The project's engine: the initial state plus every @process under src/processes/.
    `theus run` builds its engine with this function too."""
    engine = TheusEngine({"domain": {"counter": 0, "history": []}})
    engine.scan_and_register(str(ROOT / "src" / "processes"))
    return engine


async def main() -> int:
    engine = build_engine()
    steps = await engine.execute_workflow(str(WORKFLOW))
    domain = engine.state.data["domain"]
    print(f"Ran {len(steps)} steps: {', '.join(steps)}")
    print(f"counter = {domain['counter']}, history = {list(domain['history'])}, version {engine.state.version}")
    return 0 if domain["counter"] == 3 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
