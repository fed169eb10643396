"""Guards: core theus_core.ContextGuard (core.md §8.2) and Python theus.guards.ContextGuard (§8.3)."""
import subprocess
import sys

import pytest

import theus_core
from conftest import subprocess_env
from theus import TheusEngine, process
from theus.engine import SupervisorProxy as EngineSupervisorProxyAlias
from theus.guards import ContextGuard, _current_tx

CG = theus_core.ContextGuard


@pytest.fixture(autouse=True)
def _reset_current_tx():
    """Guards built with ``transaction=`` store it in ``_current_tx`` (by design); keep tests apart."""
    token = _current_tx.set(None)
    yield
    _current_tx.reset(token)


class Obj:
    pass


def obj(**attrs):
    o = Obj()
    for k, v in attrs.items():
        setattr(o, k, v)
    return o


# ---- core ContextGuard: construction and policies --------------------------------------------


def test_identical_configurations_share_policy_id():
    assert CG({}, ["a", "b"], ["c"]).policy_id == CG({}, ["b", "a"], ["c"]).policy_id


def test_different_outputs_give_different_policy_id():
    assert CG({}, ["a"], []).policy_id != CG({}, ["a"], ["c"]).policy_id


def test_strict_flag_is_part_of_policy():
    assert CG({}, ["a"], [], None, None, False, True).policy_id != CG({}, ["a"], [], None, None, False, False).policy_id


def test_non_iterable_inputs_raise_type_error():
    with pytest.raises(TypeError):
        CG({}, 5, [])


def test_core_guard_is_subclassable_with_instance_dict():
    class Sub(CG):
        pass

    g = Sub({}, [], [])
    g.__dict__["note"] = 1
    assert CG({}, [], []).__dict__ == {}


def test_strict_guard_rejects_meta_input_at_construction():
    with pytest.raises(PermissionError, match="SECURITY VIOLATION: Input 'domain.meta_x' belongs to restricted Control Zone Meta."):
        CG({}, ["domain.meta_x"], [], None, None, False, True)


def test_non_strict_guard_accepts_meta_input():
    CG({}, ["domain.meta_x"], [], None, None, False, False)


# ---- core ContextGuard: reads ----------------------------------------------------------------


def test_undeclared_attribute_raises_illegal_read_with_prefix():
    with pytest.raises(PermissionError, match=r"Illegal Read: 'pre\.a'"):
        CG(obj(a=1), [], [], "pre", None).a


def test_private_attribute_denied_in_strict_mode():
    with pytest.raises(PermissionError, match="Access to private attribute '_p' denied in Strict Mode"):
        CG(obj(_p=7), [], [], None, None, False, True)._p


def test_private_attribute_forwarded_when_not_strict():
    assert CG(obj(_p=7), [], [], None, None, False, False)._p == 7


def test_dunder_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        CG(obj(), [], [], None, None, False, True).__nope__


def test_without_transaction_dict_value_is_read_only_proxy():
    d = CG({"d": {"x": 1}}, ["d"], ["d"], None, None).d
    assert isinstance(d, theus_core.SupervisorProxy) and d.read_only is True


def test_other_objects_become_child_guards():
    engine = TheusEngine({"domain": {"n": 0}})
    with engine.transaction() as tx:
        child = CG(obj(child=obj(v=3)), ["child"], [], None, tx).child
        assert isinstance(child, theus_core.ContextGuard)
        assert child.v == 3


def test_private_zone_reads_none_for_non_admin():
    assert CG(obj(internal_q=4), ["internal_q"], [], None, None).internal_q is None


def test_elevate_bypasses_whitelist():
    g = CG({"a": 1}, [], [], None, None)
    g._elevate(True)
    assert g.a == 1


def test_target_is_wrapped_object():
    target = {"a": 1}
    assert CG(target, [], [])._target is target


def test_missing_string_key_falls_back_to_attribute():
    assert CG(obj(a=1), ["a"], [], None, None)["a"] == 1


def test_integer_item_uses_bracket_path():
    assert CG([10, 20], ["x"], [], "x", None)[1] == 20


def test_contains_and_iter_forward_to_target():
    g = CG({"d": 1}, ["d"], [])
    assert "d" in g and "z" not in g
    assert list(g) == ["d"]


def test_log_is_settable_attribute_and_method(capsys):
    g = CG({}, [], [])
    g.log("hi")
    assert "[CTX LOG] hi" in capsys.readouterr().out
    g.log = "note"
    assert g.log == "note"


def test_outbox_of_context_without_transaction_is_available():
    engine = TheusEngine({"domain": {"n": 0}})
    pc = theus_core.ProcessContext(engine._core.state, {}, None)
    assert CG(pc, [], []).outbox is not None


# ---- core ContextGuard: writes ---------------------------------------------------------------


def test_write_without_output_is_illegal_write():
    with pytest.raises(PermissionError, match=r"Illegal Write: 'a'"):
        CG(obj(a=1), ["a"], [], None, None).a = 2


def test_write_without_transaction_is_security_violation():
    with pytest.raises(PermissionError, match=r"Security Violation: Write to 'a' denied \(No active transaction\)\."):
        CG(obj(a=1), ["a"], ["a"], None, None).a = 2


def test_write_blocked_by_zone_physics():
    engine = TheusEngine({"domain": {"n": 0}})
    with engine.transaction() as tx:
        g = CG(obj(log_x=[1]), ["log_x"], ["log_x"], None, tx)
        with pytest.raises(PermissionError, match=r"Permission Denied: UPDATE capability required for 'log_x' \(Zone Physics blocked it\)\."):
            g.log_x = [2]


# ---- signal roots ----------------------------------------------------------------------------


@pytest.mark.parametrize("root", ["signal", "cmd"])
def test_signal_roots_give_the_signal_hub(root):
    engine = TheusEngine({"domain": {"n": 0}}, strict_guards=False)

    @process(inputs=[root], outputs=["domain.n"])
    def f(ctx):
        return isinstance(getattr(ctx, root), theus_core.SignalHub)

    assert engine.execute_sync(f) is True


def test_signal_hub_from_context_publishes_immediately():
    engine = TheusEngine({"domain": {"n": 0}}, strict_guards=False)
    rx = engine.state.signal.subscribe()

    @process(inputs=["signal"], outputs=["domain.n"])
    def f(ctx):
        ctx.signal.publish("ping:1")

    engine.execute_sync(f)
    assert rx.try_recv() == "ping:1"


def test_signal_read_on_guard_without_transaction_does_not_crash():
    code = (
        "import theus, theus_core\n"
        "e = theus.TheusEngine({'domain': {'a': 1}})\n"
        "pc = theus_core.ProcessContext(e._core.state, {}, None)\n"
        "g = theus_core.ContextGuard(pc, ['signal'], [], None, None)\n"
        "print(type(g.signal).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.strip() == "SignalHub"


# ---- Python ContextGuard ---------------------------------------------------------------------


def test_engine_supervisor_proxy_alias_is_python_guard():
    assert EngineSupervisorProxyAlias is ContextGuard
    assert issubclass(ContextGuard, theus_core.ContextGuard)


def test_current_tx_var_default_none():
    import contextvars

    assert _current_tx.name == "_current_tx"
    assert contextvars.Context().run(_current_tx.get) is None


def test_guard_over_mapping_logs_writes_on_transaction():
    engine = TheusEngine({"domain": {"a": 1, "b": {"c": 1}}})
    with engine.transaction() as tx:
        g = ContextGuard({"domain": {"a": 1, "b": {"c": 1}}}, ["domain"], ["domain"], transaction=tx)
        g.domain.a = 5
        g.domain.b["c"] = 2
        assert g.domain.a == 5
    assert engine.state.data["domain"].to_dict() == {"a": 5, "b": {"c": 2}}


def test_guard_over_mapping_does_not_mutate_source():
    engine = TheusEngine({"domain": {"a": 1}})
    src = {"domain": {"a": 1}}
    with engine.transaction() as tx:
        ContextGuard(src, ["domain"], ["domain"], transaction=tx).domain.a = 5
    assert src == {"domain": {"a": 1}}


def test_transaction_argument_is_stored_in_current_tx():
    engine = TheusEngine({"domain": {"a": 1}})
    token = _current_tx.set(None)
    try:
        with engine.transaction() as tx:
            ContextGuard({"d": {}}, ["d"], ["d"], transaction=tx)
            assert _current_tx.get() is tx
    finally:
        _current_tx.reset(token)


def test_guard_uses_current_tx_when_none_given():
    engine = TheusEngine({"d": {"x": 1}})
    with engine.transaction() as tx:
        token = _current_tx.set(tx)
        try:
            g = ContextGuard({"d": {"x": 1}}, ["d"], ["d"])
            g.d.x = 3
        finally:
            _current_tx.reset(token)
    assert engine.state.data["d"]["x"] == 3


def test_default_whitelists_are_permissive():
    assert ContextGuard({"anything": 1}).anything == 1


def test_star_grants_everything():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        g = ContextGuard({"q": {"z": 1}}, ["*"], ["*"], transaction=tx)
        g.q.z = 2
        assert g.q.z == 2


def test_read_only_kwarg_forces_empty_outputs():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        ro = ContextGuard({"d": {"x": 1}}, ["d"], ["d"], transaction=tx, read_only=True)
        with pytest.raises(PermissionError, match="PURE process cannot write to 'd.x'"):
            ro.d.x = 5


def test_legacy_path_kwarg_sets_prefix():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        g = ContextGuard({"d": {"x": 1}}, path="pre", transaction=tx)
        assert g.d.path() == "pre.d"


def test_undeclared_nested_read_is_restricted():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        g = ContextGuard({"d": {"x": 1, "y": 2}}, ["d.x"], [], transaction=tx)
        assert g.d.x == 1
        with pytest.raises(PermissionError, match=r"Illegal Read: Path 'd\.y' is restricted by Process Contract\."):
            g.d.y


def test_internal_reads_none_through_python_guard():
    assert ContextGuard({"internal_k": 1, "a": 2}, ["*"], []).internal_k is None


def test_const_check_comes_before_permission():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        g = ContextGuard({"const_c": 1}, ["*"], ["*"], transaction=tx)
        with pytest.raises(PermissionError, match=r"^Illegal Write: 'const_' field 'const_c' is CONSTANT"):
            g.const_c = 2


def test_field_set_to_none_reads_back_none():
    engine = TheusEngine({"domain": {"a": 1}})
    with engine.transaction() as tx:
        g = ContextGuard({"d": {"x": 1}}, ["d"], ["d"], transaction=tx)
        g.d.x = None
        assert g.d.x is None


def test_python_guard_properties_and_repr():
    g = ContextGuard({"a": 1}, ["a"], [])
    assert g.is_admin is False and g.is_proxy is True
    assert repr(g) == "<ContextGuard wrapping dict admin=False>"
    g._elevate(True)
    assert g.is_admin is True
    assert repr(g) == "<ContextGuard wrapping dict admin=True>"
