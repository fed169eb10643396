"""Task pipeline processes.

Each process declares the paths it reads (inputs) and writes (outputs) and returns the new
values instead of mutating the context: a tuple (one value per output), or a StateUpdate for
writes below an output path. The engine commits them atomically; if the process raises,
nothing is committed.
"""
from theus import process
from theus.contracts import SemanticType
from theus.structures import StateUpdate


@process(inputs=["domain.tasks", "global.batch_size"], outputs=["domain.tasks", "domain.queue"])
def plan_tasks(ctx):
    """Create a batch of open tasks and queue them."""
    start = len(ctx.domain.tasks)
    ids = [f"t{start + i + 1:03d}" for i in range(ctx.global_ctx.batch_size)]
    tasks = {tid: {"title": f"task {tid}", "status": "open"} for tid in ids}
    return StateUpdate(data={**{f"domain.tasks.{tid}": t for tid, t in tasks.items()}, "domain.queue": ids})


@process(inputs=["domain.queue", "domain.tasks", "domain.completed"],
         outputs=["domain.queue", "domain.tasks", "domain.completed"])
def work_on_next(ctx):
    """Take the first queued task and mark it done."""
    queue = list(ctx.domain.queue)
    if not queue:
        raise ValueError("the queue is empty")
    tid = queue[0]
    return StateUpdate(data={
        "domain.queue": queue[1:],
        f"domain.tasks.{tid}.status": "done",
        "domain.completed": ctx.domain.completed + 1,
    })


@process(inputs=["domain.completed", "domain.checkpoints"], outputs=["domain.checkpoints"])
def checkpoint(ctx):
    """Record how many tasks were done at this point."""
    return [*ctx.domain.checkpoints, ctx.domain.completed]


@process(inputs=["domain.tasks", "domain.completed"], outputs=["domain.summary"], semantic=SemanticType.PURE)
def summarize(ctx):
    """PURE: reads a read-only view of its inputs; its return value is the only output."""
    statuses = [task["status"] for task in ctx.domain.tasks.values()]
    return {"total": len(statuses), "done": statuses.count("done"), "open": statuses.count("open")}
