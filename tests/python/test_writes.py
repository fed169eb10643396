"""Write contracts (core.md §4.5, rule A'/C, D5) and zone capabilities (§5.2-§5.3)."""
import pytest

from theus import TheusEngine, process
from theus.contracts import ContractViolationError

CAP_DENIED = r"Permission Denied: {cap} capability required for '{path}'\. \(Current Lens: {lens}\)"


def data():
    return {
        "domain": {
            "x": 1,
            "y": 2,
            "allowed": 0,
            "data": {"a": 1},
            "cfg": {"a": 1, "b": 2},
            "items": [1, 2],
            "log_ops": [1, 2],
            "log_d": {"a": 1},
            "audit_trail": [1],
            "meta_cfg": {"a": 1},
            "meta_l": [1],
            "heavy_buf": [1],
            "const_cfg": {"a": 1},
            "const_l": [1],
            "internal_x": {"a": 1},
        },
        "global": {"limit": 10},
    }


def make_engine(strict_guards=True):
    return TheusEngine(data(), strict_guards=strict_guards)


def run_writer(engine, body, inputs=(), outputs=("domain",)):
    @process(inputs=list(inputs), outputs=list(outputs))
    def writer(ctx):
        body(ctx)

    return engine.execute_sync(writer)


def assert_refused(engine, body, exc_type, pattern, **kw):
    before = engine.state
    with pytest.raises(exc_type, match=pattern):
        run_writer(engine, body, **kw)
    assert engine.state is before
    assert engine.state.version == 1


def dom(engine):
    return engine.state.data["domain"].to_dict()


# ---- read-only roots -------------------------------------------------------------------------


def test_input_only_root_attribute_write_refused():
    assert_refused(make_engine(), lambda ctx: setattr(ctx.domain, "x", 5), PermissionError,
                   "PURE process cannot write to 'domain.x'", inputs=["domain"], outputs=[])


def test_input_only_root_item_write_refused():
    def body(ctx):
        ctx.domain["x"] = 5

    assert_refused(make_engine(), body, PermissionError, "PURE process cannot write", inputs=["domain"], outputs=[])


@pytest.mark.parametrize("op", ["update", "pop", "popitem", "clear", "setdefault", "del"])
def test_input_only_root_dict_mutators_refused(op):
    calls = {
        "update": lambda c: c.update({"a": 2}),
        "pop": lambda c: c.pop("a"),
        "popitem": lambda c: c.popitem(),
        "clear": lambda c: c.clear(),
        "setdefault": lambda c: c.setdefault("zz", 1),
        "del": lambda c: c.__delitem__("a"),
    }
    assert_refused(make_engine(), lambda ctx: calls[op](ctx.domain.cfg), PermissionError,
                   "PURE process cannot write", inputs=["domain"], outputs=[])


def test_input_only_root_list_append_refused_by_capability():
    assert_refused(make_engine(), lambda ctx: ctx.domain["items"].append(3), PermissionError,
                   "Permission Denied: APPEND capability required", inputs=["domain"], outputs=[])


def test_read_only_root_proxy_carries_read_capability_only():
    @process(inputs=["domain"])
    def f(ctx):
        return (ctx.domain.read_only, ctx.domain.capabilities)

    assert make_engine().execute_sync(f) == (True, 1)


def test_writable_root_when_some_output_has_that_root():
    @process(outputs=["domain.x"])
    def f(ctx):
        return ctx.domain.read_only

    assert make_engine().execute_sync(f) is False


# ---- rule C: undeclared writes refused at commit ---------------------------------------------


def test_undeclared_write_refused_at_commit_nothing_committed():
    def body(ctx):
        ctx.domain.allowed = 1
        ctx.domain.data["illegal"] = 1

    assert_refused(make_engine(), body, ContractViolationError,
                   r"Process 'writer' modified 'domain\.data.*illegal.*' which is NOT declared in outputs\.",
                   inputs=["domain"], outputs=["domain.allowed"])


async def test_undeclared_write_refused_at_commit_async():
    engine = make_engine()
    before = engine.state

    @process(outputs=["domain.allowed"])
    async def sneaky(ctx):
        ctx.domain.allowed = 1
        ctx.domain.y = 99

    with pytest.raises(ContractViolationError, match="Process 'sneaky' modified 'domain.y' which is NOT declared"):
        await engine.execute(sneaky)
    assert engine.state is before


def test_undeclared_write_committed_with_strict_guards_off():
    engine = make_engine(strict_guards=False)

    def body(ctx):
        ctx.domain.data["illegal"] = 1

    run_writer(engine, body, inputs=["domain"], outputs=["domain.allowed"])
    assert dom(engine)["data"] == {"a": 1, "illegal": 1}
    assert engine.state.version == 2


def test_clear_of_ancestor_of_outputs_is_not_covered():
    assert_refused(make_engine(), lambda ctx: ctx.domain.cfg.clear(), ContractViolationError,
                   "NOT declared in outputs", inputs=["domain"], outputs=["domain.cfg.a"])


def test_declared_write_is_committed_and_siblings_kept():
    run_writer(engine := make_engine(), lambda ctx: setattr(ctx.domain, "x", 42), outputs=["domain.x"])
    d = dom(engine)
    assert d["x"] == 42 and d["y"] == 2 and d["cfg"] == {"a": 1, "b": 2}
    assert engine.state.version == 2


def test_write_to_undeclared_root_is_illegal_read():
    assert_refused(make_engine(), lambda ctx: setattr(getattr(ctx, "global"), "limit", 1), PermissionError,
                   "Illegal Read: 'global'", outputs=["domain.x"])


def test_global_write_through_alias_commits_to_global():
    engine = make_engine()
    run_writer(engine, lambda ctx: setattr(ctx.global_ctx, "limit", 11), outputs=["global.limit"])
    assert engine.state.data["global"]["limit"] == 11


# ---- root replacement ------------------------------------------------------------------------


def test_root_replacement_allowed_when_root_is_output():
    engine = make_engine()

    def body(ctx):
        ctx.domain = {"fresh": True}

    run_writer(engine, body, outputs=["domain"])
    assert dom(engine) == {"fresh": True}
    assert engine.state.data["global"]["limit"] == 10


def test_root_replacement_refused_when_only_subpath_declared():
    def body(ctx):
        ctx.domain = {"fresh": True}

    assert_refused(make_engine(), body, PermissionError, "Illegal Write: 'domain'", outputs=["domain.x"])


# ---- deletes (D5) ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["delattr", "delitem", "pop", "pop_default"])
def test_delete_is_persisted(how):
    ops = {
        "delattr": lambda d: d.__delattr__("x"),
        "delitem": lambda d: d.__delitem__("x"),
        "pop": lambda d: d.pop("x"),
        "pop_default": lambda d: d.pop("x", None),
    }
    engine = make_engine()
    run_writer(engine, lambda ctx: ops[how](ctx.domain), outputs=["domain.x"])
    assert "x" not in dom(engine)
    assert dom(engine)["y"] == 2


def test_popitem_deletes_last_key_persistently():
    engine = make_engine()
    run_writer(engine, lambda ctx: ctx.domain.cfg.popitem(), outputs=["domain.cfg"])
    assert dom(engine)["cfg"] == {"a": 1}


def test_dict_clear_is_persisted():
    engine = make_engine()
    run_writer(engine, lambda ctx: ctx.domain.cfg.clear(), outputs=["domain.cfg"])
    assert dom(engine)["cfg"] == {}


def test_delete_needs_covering_output():
    assert_refused(make_engine(), lambda ctx: ctx.domain.__delattr__("y"), ContractViolationError,
                   "modified 'domain.y' which is NOT declared in outputs", outputs=["domain.x"])


def test_delete_in_log_zone_needs_delete_capability():
    assert_refused(make_engine(), lambda ctx: ctx.domain.log_d.__delitem__("a"), PermissionError,
                   CAP_DENIED.format(cap="DELETE", path=r"domain\.log_d.*a.*", lens="0011"))


# ---- zone capabilities -----------------------------------------------------------------------


def test_log_list_append_extend_insert_committed():
    engine = make_engine()

    def body(ctx):
        ctx.domain.log_ops.append(3)
        ctx.domain.log_ops.extend([4, 5])
        ctx.domain.log_ops.insert(0, 0)

    run_writer(engine, body, outputs=["domain.log_ops"])
    assert dom(engine)["log_ops"] == [0, 1, 2, 3, 4, 5]


LOG_REFUSED = {
    "pop": ("DELETE", lambda l: l.pop()),
    "remove": ("DELETE", lambda l: l.remove(1)),
    "clear": ("DELETE", lambda l: l.clear()),
    "sort": ("UPDATE", lambda l: l.sort()),
    "reverse": ("UPDATE", lambda l: l.reverse()),
    "setitem": ("UPDATE", lambda l: l.__setitem__(0, 9)),
}


@pytest.mark.parametrize("op", sorted(LOG_REFUSED))
def test_log_list_mutation_refused(op):
    cap, fn = LOG_REFUSED[op]
    assert_refused(make_engine(), lambda ctx: fn(ctx.domain.log_ops), PermissionError,
                   CAP_DENIED.format(cap=cap, path=r"domain\.log_ops.*", lens="0011"))


def test_log_dict_cannot_gain_keys():
    def body(ctx):
        ctx.domain.log_d["b"] = 1

    assert_refused(make_engine(), body, PermissionError,
                   CAP_DENIED.format(cap="UPDATE", path=r"domain\.log_d.*b.*", lens="0011"))


def test_audit_prefix_is_log_zone():
    assert_refused(make_engine(), lambda ctx: ctx.domain.audit_trail.pop(), PermissionError,
                   CAP_DENIED.format(cap="DELETE", path=r"domain\.audit_trail.*", lens="0011"))


def test_meta_dict_update_committed():
    engine = make_engine()

    def body(ctx):
        ctx.domain.meta_cfg["a"] = 2
        ctx.domain.meta_cfg["b"] = 3

    run_writer(engine, body, outputs=["domain.meta_cfg"])
    assert dom(engine)["meta_cfg"] == {"a": 2, "b": 3}


def test_meta_list_append_refused():
    assert_refused(make_engine(), lambda ctx: ctx.domain.meta_l.append(2), PermissionError,
                   CAP_DENIED.format(cap="APPEND", path=r"domain\.meta_l", lens="0101"))


def test_meta_dict_delete_refused():
    assert_refused(make_engine(), lambda ctx: ctx.domain.meta_cfg.pop("a"), PermissionError,
                   CAP_DENIED.format(cap="DELETE", path=r"domain\.meta_cfg.*", lens="0101"))


def test_heavy_prefixed_list_append_refused():
    assert_refused(make_engine(), lambda ctx: ctx.domain.heavy_buf.append(2), PermissionError,
                   CAP_DENIED.format(cap="APPEND", path=r"domain\.heavy_buf", lens="0101"))


@pytest.mark.parametrize("field,caps", [("x_dict", 15), ("log_ops", 3), ("meta_cfg", 5), ("heavy_buf", 5), ("const_cfg", 1)])
def test_zone_capabilities_of_child_proxies(field, caps):
    engine_data = data()
    engine_data["domain"]["x_dict"] = {}
    engine = TheusEngine(engine_data)

    @process(outputs=["domain"])
    def f(ctx):
        return ctx.domain[field].capabilities

    assert engine.execute_sync(f) == caps


# ---- CONSTANT and PRIVATE --------------------------------------------------------------------


def test_const_item_write_refused_with_constant_message():
    def body(ctx):
        ctx.domain.const_cfg["a"] = 2

    assert_refused(make_engine(), body, PermissionError, r"Illegal Write: 'const_' field 'domain\.const_cfg.*a.*' is CONSTANT")


def test_const_attribute_replace_refused():
    assert_refused(make_engine(), lambda ctx: setattr(ctx.domain, "const_cfg", {}), PermissionError,
                   r"Illegal Write: 'const_' field 'domain\.const_cfg' is CONSTANT")


def test_const_append_refused_with_append_mode():
    assert_refused(make_engine(), lambda ctx: ctx.domain.const_l.append(2), PermissionError,
                   r"Illegal Append: 'const_' field 'domain\.const_l' is CONSTANT")


def test_const_delete_refused_with_delete_mode():
    assert_refused(make_engine(), lambda ctx: ctx.domain.__delitem__("const_cfg"), PermissionError,
                   r"Illegal Delete: 'const_' field 'domain.*const_cfg.*' is CONSTANT")


def test_const_refused_even_when_strict_guards_off():
    def body(ctx):
        ctx.domain.const_cfg["a"] = 2

    engine = make_engine(strict_guards=False)
    before = engine.state
    with pytest.raises(PermissionError, match="CONSTANT"):
        run_writer(engine, body)
    assert engine.state is before


def test_internal_field_write_refused():
    assert_refused(make_engine(), lambda ctx: setattr(ctx.domain, "internal_x", 2), PermissionError,
                   CAP_DENIED.format(cap="UPDATE", path=r"domain\.internal_x", lens="0000"))


# ---- escape hatches --------------------------------------------------------------------------


def test_transaction_update_is_not_checked_against_outputs():
    engine = make_engine()
    run_writer(engine, lambda ctx: ctx.transaction.update(data={"domain": {"y": 77}}),
               inputs=["transaction"], outputs=["domain.x"])
    assert dom(engine)["y"] == 77
    assert engine.state.version == 2


def test_local_writes_are_never_committed():
    engine = make_engine()

    def body(ctx):
        ctx.local["tmp"] = 1
        ctx.local["other"] = [1]

    run_writer(engine, body, inputs=["local"], outputs=["domain.x"])
    assert "local" not in engine.state.data
    assert engine.state.version == 2


def test_local_is_fresh_per_invocation():
    engine = make_engine()
    seen = []

    @process(inputs=["local"], outputs=["local"])
    def f(ctx):
        seen.append(dict(ctx.local))
        ctx.local["k"] = 1

    engine.execute_sync(f)
    engine.execute_sync(f)
    assert seen == [{}, {}]


def test_local_requires_declaration():
    assert_refused(make_engine(), lambda ctx: ctx.local, PermissionError, "Illegal Read: 'local'", outputs=["domain.x"])


async def test_read_your_writes_within_process():
    engine = make_engine()

    @process(outputs=["domain.cfg"])
    async def f(ctx):
        ctx.domain.cfg["c"] = 3
        del ctx.domain.cfg["a"]
        return (sorted(ctx.domain.cfg.keys()), ctx.domain.cfg["c"], "a" in ctx.domain.cfg)

    assert await engine.execute(f) == (["b", "c"], 3, False)
    assert dom(engine)["cfg"] == {"b": 2, "c": 3}
