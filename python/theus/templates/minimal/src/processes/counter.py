"""A process declares what it reads (inputs) and writes (outputs) and returns the new values:
the engine commits them as one transaction."""
from theus import process


@process(inputs=["domain.counter", "domain.history"], outputs=["domain.counter", "domain.history"])
def increment(ctx):
    """Add one to the counter and remember the new value (one value per output, in order)."""
    value = ctx.domain.counter + 1
    return value, [*ctx.domain.history, value]
