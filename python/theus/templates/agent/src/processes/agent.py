"""The agent's turn: observe -> decide -> act.

`decide` is PURE: it receives a read-only view restricted to its declared inputs (a PURE process
may not even declare signal inputs), so a decision depends only on the observation. `act` emits
a signal with `StateUpdate(signal=...)`; the workflow's conditions see it right after the commit.
"""
from theus import process
from theus.contracts import SemanticType
from theus.structures import StateUpdate


@process(inputs=["domain.position", "domain.goal"], outputs=["domain.observation"])
def observe(ctx):
    return {"distance": ctx.domain.goal - ctx.domain.position}


@process(inputs=["domain.observation"], outputs=["domain.action"], semantic=SemanticType.PURE)
def decide(ctx):
    distance = ctx.domain.observation["distance"]
    if distance == 0:
        return "stay"
    return "right" if distance > 0 else "left"


@process(inputs=["domain.action", "domain.position", "domain.goal", "domain.steps", "domain.trail"],
         outputs=["domain.position", "domain.steps", "domain.trail", "domain.done"])
def act(ctx):
    move = {"right": 1, "left": -1}.get(ctx.domain.action, 0)
    position = ctx.domain.position + move
    arrived = position == ctx.domain.goal
    return StateUpdate(
        data={
            "domain.position": position,
            "domain.steps": ctx.domain.steps + 1,
            "domain.trail": [*ctx.domain.trail, position],
            "domain.done": arrived,
        },
        signal={"agent": "arrived" if arrived else "moved"},
    )


@process(inputs=["domain.steps"], outputs=["domain.outcome"])
def celebrate(ctx):
    return f"reached the goal in {ctx.domain.steps} steps"


@process(inputs=["domain.steps"], outputs=["domain.outcome"])
def give_up(ctx):
    return f"gave up after {ctx.domain.steps} steps"
