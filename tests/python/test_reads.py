"""Read contracts (core.md §4.4, rules A/B, D6) and guard reads (§8.2-§8.3)."""
import copy
import json

import pytest

import theus_core
from theus import TheusEncoder, TheusEngine, process

DENIED = "Illegal Read: Path '{}' is restricted by Process Contract."


def make_engine(strict_guards=True):
    return TheusEngine(
        {
            "domain": {
                "counter": 1,
                "secret": "s",
                "user": {"name": "n", "age": 3, "addr": {"city": "c", "zip": "z"}},
                "items": [1, 2],
                "internal_token": "t",
                "cfg": {"internal_key": "k", "open": 1},
            },
            "global": {"limit": 10},
        },
        strict_guards=strict_guards,
    )


def run_reader(engine, inputs, body, outputs=()):
    @process(inputs=list(inputs), outputs=list(outputs))
    def reader(ctx):
        return body(ctx)

    return engine.execute_sync(reader)


# ---- rule A: roots ---------------------------------------------------------------------------


def test_undeclared_root_read_raises_illegal_read():
    engine = make_engine()
    with pytest.raises(PermissionError, match=r"Illegal Read: 'global'"):
        run_reader(engine, ["domain.counter"], lambda ctx: getattr(ctx, "global"))


def test_undeclared_root_read_raises_with_strict_guards_off():
    engine = make_engine(strict_guards=False)
    with pytest.raises(PermissionError, match=r"Illegal Read: 'global'"):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.global_ctx)


def test_failed_read_leaves_state_identical():
    engine = make_engine()
    before = engine.state
    with pytest.raises(PermissionError):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.domain.secret)
    assert engine.state is before and engine.state.version == 1


@pytest.mark.parametrize("root", ["version", "data", "heavy", "local", "signal"])
def test_context_attributes_are_roots_for_rule_a(root):
    engine = make_engine()
    with pytest.raises(PermissionError, match=f"Illegal Read: '{root}'"):
        run_reader(engine, ["domain.counter"], lambda ctx: getattr(ctx, root))


def test_declaring_data_grants_read_of_whole_data_map():
    engine = make_engine()
    assert run_reader(engine, ["data"], lambda ctx: ctx.data["domain"]["secret"]) == "s"


# ---- rule B: key level (D6) ------------------------------------------------------------------


def test_declared_leaf_is_readable():
    assert run_reader(make_engine(), ["domain.counter"], lambda ctx: ctx.domain.counter) == 1


def test_undeclared_sibling_read_raises_permission_error():
    engine = make_engine()
    with pytest.raises(PermissionError, match=DENIED.format("domain.secret")):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.domain.secret)


def test_undeclared_sibling_item_read_raises_permission_error():
    engine = make_engine()
    with pytest.raises(PermissionError, match="Illegal Read: Path 'domain.*secret.*restricted by Process Contract"):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.domain["secret"])


def test_descendants_of_declared_path_are_readable():
    assert run_reader(make_engine(), ["domain.user"], lambda ctx: ctx.domain.user.addr.city) == "c"


def test_navigation_through_ancestor_returns_proxy():
    def body(ctx):
        u = ctx.domain.user
        return (type(u).__name__, u.path(), u.name)

    name, path, value = run_reader(make_engine(), ["domain.user.name"], body)
    assert "Proxy" in name or "Guard" in name
    assert path == "domain.user"
    assert value == "n"


def test_undeclared_key_at_depth_two_raises():
    engine = make_engine()
    with pytest.raises(PermissionError, match=DENIED.format("domain.user.age")):
        run_reader(engine, ["domain.user.name"], lambda ctx: ctx.domain.user.age)


def test_undeclared_key_at_depth_three_raises():
    engine = make_engine()
    with pytest.raises(PermissionError, match=DENIED.format("domain.user.addr.zip")):
        run_reader(engine, ["domain.user.addr.city"], lambda ctx: ctx.domain.user.addr.zip)


def test_declared_key_at_depth_three_is_readable():
    assert run_reader(make_engine(), ["domain.user.addr.city"], lambda ctx: ctx.domain.user.addr.city) == "c"


def test_strict_guards_off_allows_undeclared_key_reads():
    engine = make_engine(strict_guards=False)
    assert run_reader(engine, ["domain.counter"], lambda ctx: ctx.domain.secret) == "s"


def test_strict_guards_off_allows_whole_value_ops_on_ancestor():
    engine = make_engine(strict_guards=False)
    assert run_reader(engine, ["domain.user.name"], lambda ctx: ctx.domain.user.to_dict()["age"]) == 3


def test_set_strict_guards_false_at_runtime_disables_key_checks():
    engine = make_engine()
    engine.strict_guards = False
    assert run_reader(engine, ["domain.counter"], lambda ctx: ctx.domain.secret) == "s"


def test_registered_namespace_is_key_checked_with_strict_guards_off():
    engine = TheusEngine({"domain": {"a": 1}}, namespaces=[{"name": "ns", "data": {"a": 1, "b": 2}}],
                         strict_guards=False)
    assert run_reader(engine, ["ns.a"], lambda ctx: ctx.ns.a) == 1
    with pytest.raises(PermissionError, match=DENIED.format("ns.b")):
        run_reader(engine, ["ns.a"], lambda ctx: ctx.ns.b)


# ---- whole-value operations on ancestor-only nodes ------------------------------------------


WHOLE_VALUE_OPS = {
    "items": lambda u: list(u.items()),
    "values": lambda u: list(u.values()),
    "get_undeclared": lambda u: u.get("age"),
    "to_dict": lambda u: u.to_dict(),
    "dict": lambda u: dict(u),
    "eq": lambda u: u == {"name": "n", "age": 3, "addr": {}},
    "copy": lambda u: copy.copy(u),
    "json": lambda u: json.dumps(u, cls=TheusEncoder),
    "supervisor_target": lambda u: u.supervisor_target,
}


@pytest.mark.parametrize("op", sorted(WHOLE_VALUE_OPS))
def test_whole_value_op_on_ancestor_only_node_raises_illegal_read(op):
    engine = make_engine()
    before = engine.state
    with pytest.raises(PermissionError, match="Illegal Read: "):
        run_reader(engine, ["domain.user.name"], lambda ctx: WHOLE_VALUE_OPS[op](ctx.domain.user))
    assert engine.state is before


def test_whole_value_error_names_first_undeclared_path():
    engine = make_engine()
    with pytest.raises(PermissionError, match=r"domain\.user\.age"):
        run_reader(engine, ["domain.user.name"], lambda ctx: ctx.domain.user.to_dict())


def test_get_of_declared_key_on_ancestor_node_is_allowed():
    assert run_reader(make_engine(), ["domain.user.name"], lambda ctx: ctx.domain.user.get("name")) == "n"


STRUCTURE_OPS = {
    "keys": (lambda u: sorted(u.keys()), ["addr", "age", "name"]),
    "iter": (lambda u: sorted(iter(u)), ["addr", "age", "name"]),
    "len": (lambda u: len(u), 3),
    "in": (lambda u: ("age" in u, "zzz" in u), (True, False)),
}


@pytest.mark.parametrize("op", sorted(STRUCTURE_OPS))
def test_structure_only_op_on_ancestor_only_node_is_allowed(op):
    fn, expected = STRUCTURE_OPS[op]
    assert run_reader(make_engine(), ["domain.user.name"], lambda ctx: fn(ctx.domain.user)) == expected


def test_whole_value_ops_on_fully_declared_node_work():
    result = run_reader(make_engine(), ["domain.user"], lambda ctx: ctx.domain.user.to_dict())
    assert result == {"name": "n", "age": 3, "addr": {"city": "c", "zip": "z"}}


def test_copy_of_fully_declared_node_is_plain_content():
    result = run_reader(make_engine(), ["domain.user.addr"], lambda ctx: copy.copy(ctx.domain.user.addr))
    assert dict(result) == {"city": "c", "zip": "z"}


# ---- internal_ (PRIVATE zone) ----------------------------------------------------------------


def test_internal_field_reads_none_even_when_declared():
    assert run_reader(make_engine(), ["domain.internal_token"], lambda ctx: ctx.domain.internal_token) is None


def test_internal_field_reads_none_under_whole_root_input():
    assert run_reader(make_engine(), ["domain"], lambda ctx: ctx.domain.internal_token) is None


def test_internal_field_item_read_is_none():
    assert run_reader(make_engine(), ["domain"], lambda ctx: ctx.domain["internal_token"]) is None


def test_nested_internal_key_reads_none():
    assert run_reader(make_engine(), ["domain.cfg"], lambda ctx: ctx.domain.cfg.internal_key) is None


def test_internal_field_reads_none_with_strict_guards_off():
    engine = make_engine(strict_guards=False)
    assert run_reader(engine, ["domain"], lambda ctx: ctx.domain.internal_token) is None


# ---- special context attributes --------------------------------------------------------------


def test_outbox_policy_and_log_need_no_contract(capsys):
    def raw(ctx):
        ctx.log("hello there")
        return (type(ctx.outbox).__name__, isinstance(ctx.policy_id, int))

    assert make_engine().execute_sync(raw) == ("Outbox", True)
    assert "[CTX LOG] hello there" in capsys.readouterr().out


def test_transaction_attribute_requires_declaration():
    engine = make_engine()
    with pytest.raises(PermissionError, match="Illegal Read: 'transaction'"):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.transaction)


def test_declared_transaction_is_live_core_transaction():
    result = run_reader(make_engine(), ["transaction"], lambda ctx: isinstance(ctx.transaction, theus_core.Transaction))
    assert result is True


def test_private_attribute_denied_in_strict_mode():
    engine = make_engine()
    with pytest.raises(PermissionError, match="Access to private attribute '_secret' denied in Strict Mode"):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx._secret)


def test_dunder_attribute_raises_attribute_error():
    engine = make_engine()
    with pytest.raises(AttributeError):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx.__nonexistent__)


def test_private_attribute_not_permission_error_when_strict_off():
    engine = make_engine(strict_guards=False)
    with pytest.raises(AttributeError):
        run_reader(engine, ["domain.counter"], lambda ctx: ctx._nonexistent)


@pytest.mark.parametrize("path,zone", [("domain.meta_x", "Meta"), ("domain.sig_x", "Signal"), ("signal.ping", "Signal")])
def test_control_zone_input_rejected_when_guard_built(path, zone):
    engine = TheusEngine({"domain": {"meta_x": 1, "sig_x": 2, "n": 0}})
    called = []

    @process(inputs=[path], outputs=["domain.n"])
    def f(ctx):
        called.append(1)
        ctx.domain.n = 1

    before = engine.state
    with pytest.raises(PermissionError, match=f"SECURITY VIOLATION: Input '{path}' belongs to restricted Control Zone {zone}"):
        engine.execute_sync(f)
    assert called == []
    assert engine.state is before


def test_control_zone_input_allowed_when_strict_off():
    engine = TheusEngine({"domain": {"meta_x": 1}}, strict_guards=False)
    assert run_reader(engine, ["domain.meta_x"], lambda ctx: ctx.domain.meta_x) == 1


# ---- values ----------------------------------------------------------------------------------


def test_scalars_are_returned_raw():
    def body(ctx):
        return (type(ctx.domain.counter), type(ctx.domain.secret))

    assert run_reader(make_engine(), ["domain"], body) == (int, str)


def test_numpy_scalars_are_returned_as_primitives():
    np = pytest.importorskip("numpy")
    engine = TheusEngine({"domain": {"f": np.float64(1.5), "i": np.int32(7)}})

    def body(ctx):
        f, i = ctx.domain.f, ctx.domain.i
        return (isinstance(f, theus_core.SupervisorProxy), isinstance(i, theus_core.SupervisorProxy), f + 1, i * 2)

    assert run_reader(engine, ["domain"], body) == (False, False, 2.5, 14)


async def test_reads_see_stable_snapshot_plus_own_writes():
    engine = make_engine()

    @process(inputs=["domain.counter"], outputs=["domain.counter"])
    async def f(ctx):
        first = ctx.domain.counter
        ctx.domain.counter = first + 10
        return ctx.domain.counter

    assert await engine.execute(f) == 11
    assert engine.state.data["domain"]["counter"] == 11


async def test_undeclared_read_in_async_process_raises():
    engine = make_engine()

    @process(inputs=["domain.counter"])
    async def f(ctx):
        return ctx.domain.secret

    with pytest.raises(PermissionError, match=DENIED.format("domain.secret")):
        await engine.execute(f)
