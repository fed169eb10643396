"""End-to-end smoke: one engine, a few processes, sync and async execution."""
import pytest

from theus import TheusEngine, process


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


@process(inputs=["domain.orders"], outputs=["domain.orders", "domain.count"])
def add_order(ctx, item):
    ctx.domain.orders.append(item)
    ctx.domain.count = len(ctx.domain.orders)


def test_execute_sync_commits_one_version():
    engine = TheusEngine({"domain": {"n": 0}})
    assert engine.state.version == 1
    assert engine.execute_sync(inc) == 1
    assert engine.state.version == 2
    assert engine.state.data["domain"]["n"] == 1


async def test_execute_awaits_on_the_running_loop():
    engine = TheusEngine({"domain": {"n": 41}})
    assert await engine.execute(inc) == 42
    assert engine.state.data["domain"].n == 42


def test_proxy_mutations_are_committed_and_synced_back():
    engine = TheusEngine({"domain": {"orders": [], "count": 0}})
    engine.execute_sync(add_order, item="apple")
    engine.execute_sync(add_order, item="pear")
    assert engine.state.data["domain"].to_dict() == {"orders": ["apple", "pear"], "count": 2}
    assert engine._context.domain == {"orders": ["apple", "pear"], "count": 2}


def test_undeclared_write_commits_nothing():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def sneaky(ctx):
        ctx.domain.other = 1

    engine = TheusEngine({"domain": {"n": 0}})
    before = engine.state
    with pytest.raises(Exception, match="NOT declared in outputs"):
        engine.execute_sync(sneaky)
    assert engine.state is before
