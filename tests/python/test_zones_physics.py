"""Zones, capabilities, physics overrides and Annotated markers (core.md §5.2-§5.3); NumPy (§12.2)."""
from dataclasses import dataclass, field
from typing import Annotated

import pytest

import theus_core
from theus import TheusEngine, process
from theus.context import (
    PYTHON_PHYSICS_OVERRIDES,
    AppendOnly,
    BaseDomainContext,
    BaseSystemContext,
    Immutable,
    Mutable,
)
from theus.contracts import ContractViolationError
from theus.zones import ContextZone, resolve_zone


def run(engine, body, inputs=(), outputs=("domain",)):
    box = []

    @process(inputs=list(inputs), outputs=list(outputs))
    def zone_proc(ctx):
        box.append(body(ctx))

    engine.execute_sync(zone_proc)
    return box[0]


def refused(engine, body, pattern, exc=PermissionError):
    before = engine.state
    with pytest.raises(exc, match=pattern):
        run(engine, body)
    assert engine.state is before


def dom(engine):
    return engine.state.data["domain"].to_dict()


# ---- Python resolver -------------------------------------------------------------------------


@pytest.mark.parametrize("key,zone", [
    ("sig_x", ContextZone.SIGNAL), ("cmd_go", ContextZone.SIGNAL), ("meta_k", ContextZone.META),
    ("heavy_w", ContextZone.HEAVY), ("log_ops", ContextZone.LOG), ("user", ContextZone.DATA),
    ("domain.log_ops", ContextZone.DATA),
])
def test_python_resolver_uses_prefix_of_whole_string(key, zone):
    assert resolve_zone(key) is zone


def test_context_zone_values():
    assert [z.value for z in ContextZone] == ["data", "signal", "meta", "heavy", "log"]


# ---- core resolver through capabilities ------------------------------------------------------


@pytest.mark.parametrize("key,caps", [
    ("user", 15), ("meta", 5), ("log", 3), ("audit_x", 3), ("log_ops", 3), ("heavy_w", 5), ("const_c", 1),
    ("signal", 3), ("cmd", 3),
])
def test_core_resolver_child_capabilities(key, caps):
    engine = TheusEngine({"domain": {key: {"k": 1}}})
    assert run(engine, lambda ctx: ctx.domain[key].capabilities) == caps


def test_private_zone_child_has_no_capabilities():
    engine = TheusEngine({"domain": {"n": 0}})
    with engine.transaction() as tx:
        p = theus_core.SupervisorProxy({"internal_p": {"k": 1}}, "domain", False, tx)
        assert p["internal_p"] is None


def test_first_matching_segment_decides_zone():
    engine = TheusEngine({"domain": {"log_ops": {"meta_x": [1]}}})
    caps = run(engine, lambda ctx: ctx.domain.log_ops.meta_x.capabilities)
    assert caps == 3


def test_const_anywhere_in_path_is_refused():
    engine = TheusEngine({"domain": {"const_cfg": {"inner": {"k": 1}}}})

    def body(ctx):
        ctx.domain.const_cfg.inner["k"] = 2

    refused(engine, body, r"Illegal Write: 'const_' field 'domain\.const_cfg\.inner.*k.*' is CONSTANT")


# ---- physics overrides -----------------------------------------------------------------------


def test_override_makes_log_list_deletable():
    theus_core.register_physics_override("domain.log_ops", 15)
    engine = TheusEngine({"domain": {"log_ops": [1, 2]}})
    assert run(engine, lambda ctx: ctx.domain.log_ops.pop()) == 2
    assert dom(engine)["log_ops"] == [1]


def test_override_permits_const_write():
    theus_core.register_physics_override("domain.const_cfg", 15)
    engine = TheusEngine({"domain": {"const_cfg": {"a": 1}}})

    def body(ctx):
        ctx.domain.const_cfg["a"] = 2

    run(engine, body)
    assert dom(engine)["const_cfg"] == {"a": 2}


def test_override_applies_to_bracketed_descendant_paths():
    theus_core.register_physics_override("domain.frozen", 1)
    engine = TheusEngine({"domain": {"frozen": {"a": {"b": 1}}}})

    def body(ctx):
        ctx.domain.frozen["a"]["b"] = 2

    refused(engine, body, r"Permission Denied: UPDATE capability required for 'domain\.frozen.*b.*'")


def test_override_read_capability_removed_reads_none():
    theus_core.register_physics_override("domain.hidden", 0)
    engine = TheusEngine({"domain": {"hidden": {"a": 1}, "open": 1}})
    assert run(engine, lambda ctx: (ctx.domain.hidden, ctx.domain["hidden"], ctx.domain.open)) == (None, None, 1)


def test_clear_physics_overrides_restores_zone_caps():
    theus_core.register_physics_override("domain.log_ops", 15)
    theus_core.clear_physics_overrides()
    engine = TheusEngine({"domain": {"log_ops": [1, 2]}})
    refused(engine, lambda ctx: ctx.domain.log_ops.pop(), "DELETE capability required")


def test_python_mirror_tracks_module_level_overrides():
    theus_core.register_physics_override("domain.mirror", 3)
    assert PYTHON_PHYSICS_OVERRIDES.get("domain.mirror") == 3
    theus_core.clear_physics_overrides()
    assert "domain.mirror" not in PYTHON_PHYSICS_OVERRIDES


# ---- Annotated markers -----------------------------------------------------------------------


@dataclass
class MarkedDomain(BaseDomainContext):
    const_data: Annotated[dict, Mutable] = field(default_factory=lambda: {"k": 1})
    events: Annotated[list, AppendOnly] = field(default_factory=lambda: [1])
    settings: Annotated[dict, Immutable()] = field(default_factory=lambda: {"a": 1})


@dataclass
class MarkedSystem(BaseSystemContext):
    pass


def marked_engine():
    return TheusEngine(MarkedSystem(domain=MarkedDomain()))


def test_mutable_marker_makes_const_field_writable():
    engine = marked_engine()

    def body(ctx):
        ctx.domain.const_data["k"] = 2

    run(engine, body)
    assert dom(engine)["const_data"] == {"k": 2}


def test_append_only_marker_allows_append():
    engine = marked_engine()
    run(engine, lambda ctx: ctx.domain.events.append(2))
    assert dom(engine)["events"] == [1, 2]


def test_append_only_marker_refuses_delete():
    refused(marked_engine(), lambda ctx: ctx.domain.events.pop(),
            r"Permission Denied: DELETE capability required for 'domain\.events'\. \(Current Lens: 0011\)")


def test_immutable_marker_instance_refuses_update():
    def body(ctx):
        ctx.domain.settings["a"] = 2

    refused(marked_engine(), body, r"Permission Denied: UPDATE capability required for 'domain\.settings.*'\. \(Current Lens: 0001\)")


def test_pydantic_domain_marker_is_scanned():
    pydantic = pytest.importorskip("pydantic")

    class PD(pydantic.BaseModel):
        const_data: Annotated[dict, Mutable] = {"k": 1}

    class PS(BaseSystemContext):
        def __init__(self):
            super().__init__()
            self.domain = PD()

    engine = TheusEngine(PS())

    def body(ctx):
        ctx.domain.const_data["k"] = 3

    run(engine, body)
    assert engine.state.data["domain"].const_data["k"] == 3


def test_marker_overrides_are_scoped_to_their_engine():
    marked = marked_engine()
    plain = TheusEngine({"domain": {"const_data": {"k": 1}}})

    def body(ctx):
        ctx.domain.const_data["k"] = 5

    refused(plain, body, "is CONSTANT")
    run(marked, body)
    assert dom(marked)["const_data"] == {"k": 5}


# ---- NumPy (§12.2) ---------------------------------------------------------------------------


def test_numpy_scalar_return_is_committed_as_number():
    np = pytest.importorskip("numpy")
    engine = TheusEngine({"domain": {"n": 0}})

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def f(ctx):
        return np.int64(5) + ctx.domain.n

    engine.execute_sync(f)
    assert engine.state.data["domain"]["n"] == 5


@pytest.mark.parametrize("tname", ["float64", "float32", "int64", "int32", "int16", "int8",
                                   "uint64", "uint32", "uint16", "uint8", "bool_"])
def test_core_guard_returns_numpy_scalar_raw(tname):
    np = pytest.importorskip("numpy")

    class Obj:
        pass

    obj = Obj()
    obj.v = getattr(np, tname)(1)
    g = theus_core.ContextGuard(obj, ["v"], [], None, None)
    assert type(g.v) is getattr(np, tname)


def test_python_guard_returns_numpy_scalar_item_raw():
    np = pytest.importorskip("numpy")
    from theus.guards import ContextGuard, _current_tx

    engine = TheusEngine({"domain": {"n": 0}})
    token = _current_tx.set(None)
    try:
        with engine.transaction() as tx:
            g = ContextGuard({"v": np.int16(3)}, ["v"], [], transaction=tx)
            value = g["v"]
    finally:
        _current_tx.reset(token)
    assert type(value) is np.int16 and value == 3


def test_data_zone_array_is_working_copy_and_in_place_change_committed():
    np = pytest.importorskip("numpy")
    engine = TheusEngine({"domain": {"arr": np.arange(3)}})

    def body(ctx):
        a = ctx.domain.arr
        assert isinstance(a, np.ndarray) and a.flags.writeable
        a[0] = 100

    run(engine, body, outputs=["domain.arr"])
    assert engine.state.data["domain"]["arr"].tolist() == [100, 1, 2]
    assert engine.state.version == 2


def test_undeclared_in_place_array_change_refused_at_commit():
    np = pytest.importorskip("numpy")
    engine = TheusEngine({"domain": {"arr": np.arange(3), "n": 0}})
    before = engine.state

    @process(inputs=["domain.arr"], outputs=["domain.n"])
    def f(ctx):
        ctx.domain.arr[1] = 7

    with pytest.raises(ContractViolationError, match="modified 'domain.arr' which is NOT declared in outputs"):
        engine.execute_sync(f)
    assert engine.state is before
    assert engine.state.data["domain"]["arr"].tolist() == [0, 1, 2]
