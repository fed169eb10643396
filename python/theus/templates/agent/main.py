"""__PROJECT_NAME__: an agent loop on Theus.

The agent walks along a line towards a goal. Each turn is three processes: `observe` measures
the distance, `decide` (PURE: it sees only its declared inputs, never signals) picks a move, `act`
applies it and emits a signal. The Flux workflow loops until the goal is reached or the step
budget runs out.

    python main.py [goal]            # default goal: 7
    theus run workflows/agent.yaml   # the same workflow from the command line
"""
from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path

from theus import TheusEngine

from src.context import AgentContext

ROOT = Path(__file__).resolve().parent
WORKFLOW = ROOT / "workflows" / "agent.yaml"
AUDIT_RECIPE = ROOT / "specs" / "audit_recipe.yaml"


def build_engine() -> TheusEngine:
    """The project's engine (`theus run` uses it too): context, audit recipe, processes."""
    options = {}
    if AUDIT_RECIPE.is_file() and "audit_recipe" in inspect.signature(TheusEngine).parameters:
        options["audit_recipe"] = str(AUDIT_RECIPE)
    engine = TheusEngine(AgentContext(), **options)
    engine.scan_and_register(str(ROOT / "src" / "processes"))
    return engine


def drain(receiver) -> list:
    """Signals published so far ("topic:payload" strings), without blocking."""
    out = []
    while True:
        message = receiver.try_recv()
        if message is None:
            return out
        out.append(message)


async def main(argv: list) -> int:
    engine = build_engine()
    if argv:
        engine.compare_and_swap(engine.state.version, data={"domain": {"goal": int(argv[0])}})
    receiver = engine.state.signal.subscribe()  # every signal committed from now on
    steps = await engine.execute_workflow(str(WORKFLOW))
    domain = engine.state.data["domain"]
    signals = drain(receiver)
    print(f"Goal {domain['goal']}: {domain['outcome']}")
    print(f"Trail: {list(domain['trail'])}")
    print(f"{len(steps)} process steps, {len(signals)} signals ({', '.join(signals[-2:])}), "
          f"version {engine.state.version}")
    return 0 if domain["done"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
