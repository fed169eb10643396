"""AdminTransaction (core.md §4.2) and admin elevation inside processes (§8.6)."""
import pytest

import theus_core
from theus import TheusEngine, process
from theus.contracts import AdminTransaction, ContractViolationError


def make_engine(strict_guards=True):
    return TheusEngine(
        {
            "domain": {"n": 0, "secret": "s", "log_ops": [1, 2], "meta_l": [1], "const_cfg": {"a": 1},
                       "internal_x": 5, "cfg": {"internal_k": "hidden"}},
            "global": {"g": 1},
        },
        strict_guards=strict_guards,
    )


def run(engine, body, inputs=(), outputs=("domain",)):
    box = []

    @process(inputs=list(inputs), outputs=list(outputs))
    def admin_proc(ctx):
        box.append(body(ctx))

    engine.execute_sync(admin_proc)
    return box[0]


def elevated(fn):
    def body(ctx):
        with AdminTransaction(ctx):
            return fn(ctx)

    return body


def dom(engine):
    return engine.state.data["domain"].to_dict()


# ---- the context manager ---------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.calls = []

    def _elevate(self, enabled):
        self.calls.append(enabled)


def test_enter_elevates_and_returns_same_ctx():
    r = Recorder()
    with AdminTransaction(r) as got:
        assert got is r
        assert r.calls == [True]
    assert r.calls == [True, False]


def test_exit_drops_elevation_on_exception_and_propagates():
    r = Recorder()
    with pytest.raises(ValueError, match="inner"):
        with AdminTransaction(r):
            raise ValueError("inner")
    assert r.calls == [True, False]


def test_object_without_elevate_is_accepted():
    obj = object()
    with AdminTransaction(obj) as got:
        assert got is obj


def test_core_guard_elevate_sets_admin_flag():
    g = theus_core.ContextGuard({"a": 1}, [], [], None, None)
    with pytest.raises(PermissionError, match="Illegal Read: 'a'"):
        g.a
    g._elevate(True)
    assert g.a == 1


# ---- elevation inside a process --------------------------------------------------------------


def test_is_admin_reflects_elevation():
    def body(ctx):
        before = ctx.is_admin
        with AdminTransaction(ctx):
            during = ctx.is_admin
        return (before, during, ctx.is_admin)

    assert run(make_engine(), body) == (False, True, False)


def test_elevated_reads_undeclared_root():
    assert run(make_engine(), elevated(lambda ctx: getattr(ctx, "global").g)) == 1


def test_elevated_reads_undeclared_key():
    assert run(make_engine(), elevated(lambda ctx: ctx.domain.secret), inputs=["domain.n"], outputs=["domain.n"]) == "s"


def test_elevated_reads_internal_field():
    assert run(make_engine(), elevated(lambda ctx: ctx.domain.internal_x)) == 5


def test_elevated_reads_nested_internal_key():
    assert run(make_engine(), elevated(lambda ctx: ctx.domain.cfg.internal_k)) == "hidden"


def test_elevated_internal_write_committed():
    engine = make_engine()
    run(engine, elevated(lambda ctx: setattr(ctx.domain, "internal_x", 6)))
    assert dom(engine)["internal_x"] == 6


def test_elevated_log_pop_committed():
    engine = make_engine()
    assert run(engine, elevated(lambda ctx: ctx.domain.log_ops.pop())) == 2
    assert dom(engine)["log_ops"] == [1]


def test_elevated_log_clear_committed():
    engine = make_engine()
    run(engine, elevated(lambda ctx: ctx.domain.log_ops.clear()))
    assert dom(engine)["log_ops"] == []


def test_elevated_meta_append_committed():
    engine = make_engine()
    run(engine, elevated(lambda ctx: ctx.domain.meta_l.append(2)))
    assert dom(engine)["meta_l"] == [1, 2]


def test_elevated_proxy_carries_admin_capabilities():
    caps = run(make_engine(), elevated(lambda ctx: ctx.domain.log_ops.capabilities))
    assert caps in (15, 31)


def test_elevated_write_to_input_only_root_is_allowed_by_guard():
    engine = make_engine(strict_guards=False)
    run(engine, elevated(lambda ctx: setattr(getattr(ctx, "global"), "g", 2)), outputs=["domain.n"])
    assert engine.state.data["global"]["g"] == 2


def test_elevated_const_write_still_refused():
    engine = make_engine()
    before = engine.state

    def body(ctx):
        ctx.domain.const_cfg["a"] = 2

    with pytest.raises(PermissionError, match="Illegal Write: 'const_' field 'domain.const_cfg.*' is CONSTANT"):
        run(engine, elevated(body))
    assert engine.state is before


def test_elevated_const_write_allowed_by_physics_override():
    theus_core.register_physics_override("domain.const_cfg", 15)
    engine = make_engine()

    def body(ctx):
        ctx.domain.const_cfg["a"] = 2

    run(engine, elevated(body))
    assert dom(engine)["const_cfg"] == {"a": 2}


def test_elevated_undeclared_write_still_fails_output_compliance():
    engine = make_engine()
    before = engine.state

    def body(ctx):
        ctx.domain.secret = "changed"

    with pytest.raises(ContractViolationError, match="Process 'admin_proc' modified 'domain.secret' which is NOT declared in outputs."):
        run(engine, elevated(body), inputs=["domain.n"], outputs=["domain.n"])
    assert engine.state is before


def test_elevated_undeclared_write_committed_when_strict_off():
    engine = make_engine(strict_guards=False)
    run(engine, elevated(lambda ctx: setattr(ctx.domain, "secret", "changed")), inputs=["domain.n"], outputs=["domain.n"])
    assert dom(engine)["secret"] == "changed"


def test_elevation_ends_when_block_exits():
    engine = make_engine()

    def body(ctx):
        with AdminTransaction(ctx):
            getattr(ctx, "global").g
        return getattr(ctx, "global")

    with pytest.raises(PermissionError, match="Illegal Read: 'global'"):
        run(engine, body)


def test_internal_reads_none_again_after_block():
    def body(ctx):
        with AdminTransaction(ctx):
            pass
        return ctx.domain.internal_x

    assert run(make_engine(), body) is None


def test_elevation_ends_after_exception_in_block():
    def body(ctx):
        try:
            with AdminTransaction(ctx):
                raise KeyError("x")
        except KeyError:
            pass
        return ctx.is_admin

    assert run(make_engine(), body) is False


async def test_elevation_in_async_process():
    engine = make_engine()

    @process(outputs=["domain"])
    async def proc(ctx):
        with AdminTransaction(ctx):
            ctx.domain.log_ops.remove(1)

    await engine.execute(proc)
    assert dom(engine)["log_ops"] == [2]
