"""The core SupervisorProxy (core.md §8.4) and JSON/pydantic interop (heavy_parallel_cli.md §5)."""
import collections.abc
import copy
import json
import pickle

import pytest

import theus_core
from theus import TheusEncoder, TheusEngine, process
from theus.interop import get_pydantic_config

SP = theus_core.SupervisorProxy


def make_engine():
    return TheusEngine({"domain": {
        "a": 1, "b": {"c": 2}, "cfg": {"x": 1, "y": 2}, "l": [3, 1, 2],
        "items": 7, "keys": 8, "get": 9, "update": 10, "path": 11, "to_dict": 12, "copy": 13,
        "log_ops": [1],
    }})


def mutate(body, outputs=("domain",)):
    """Run ``body(ctx.domain)`` in a process; return (engine, result, committed domain as dict)."""
    engine = make_engine()

    box = []

    @process(outputs=list(outputs))
    def proc(ctx):
        box.append(body(ctx.domain))  # not returned: a return value would be output-mapped

    engine.execute_sync(proc)
    assert engine.state.version == 2
    return engine, box[0], engine.state.data["domain"].to_dict()


# ---- dict mutators: recorded and committed ---------------------------------------------------


def test_attribute_set_committed():
    assert mutate(lambda d: setattr(d, "a", 5))[2]["a"] == 5


def test_item_set_adds_new_key():
    assert mutate(lambda d: d.__setitem__("new", [1]))[2]["new"] == [1]


def test_nested_item_set_committed():
    def body(d):
        d.b["c"] = 20
        d.b.d = {"e": 1}

    assert mutate(body)[2]["b"] == {"c": 20, "d": {"e": 1}}


def test_update_positional_mapping_committed():
    assert mutate(lambda d: d.cfg.update({"x": 10, "z": 3}))[2]["cfg"] == {"x": 10, "y": 2, "z": 3}


def test_update_keyword_form_committed():
    assert mutate(lambda d: d.cfg.update(x=11, w=4))[2]["cfg"] == {"x": 11, "y": 2, "w": 4}


def test_pop_returns_value_and_deletes():
    _, result, dom = mutate(lambda d: d.cfg.pop("x"))
    assert result == 1
    assert dom["cfg"] == {"y": 2}


def test_pop_missing_key_returns_default():
    _, result, dom = mutate(lambda d: d.cfg.pop("nope", "dflt"))
    assert result == "dflt"
    assert dom["cfg"] == {"x": 1, "y": 2}


def test_dict_pop_without_key_raises_type_error():
    engine = make_engine()
    before = engine.state

    @process(outputs=["domain"])
    def proc(ctx):
        ctx.domain.cfg.pop()

    with pytest.raises(TypeError):
        engine.execute_sync(proc)
    assert engine.state is before


def test_popitem_returns_last_pair_and_deletes():
    _, result, dom = mutate(lambda d: tuple(d.cfg.popitem()))
    assert result == ("y", 2)
    assert dom["cfg"] == {"x": 1}


def test_setdefault_missing_sets_and_returns_wrapped_value():
    def body(d):
        child = d.setdefault("fresh", {"k": 1})
        child["k2"] = 2
        return isinstance(child, SP)

    _, wrapped, dom = mutate(body)
    assert wrapped is True
    assert dom["fresh"] == {"k": 1, "k2": 2}


def test_setdefault_present_returns_existing_without_write():
    _, result, dom = mutate(lambda d: d.setdefault("a", 99))
    assert result == 1 and dom["a"] == 1


def test_clear_dict_committed():
    assert mutate(lambda d: d.cfg.clear())[2]["cfg"] == {}


def test_del_item_and_attribute_committed():
    def body(d):
        del d.cfg["x"]
        del d.b

    dom = mutate(body)[2]
    assert dom["cfg"] == {"y": 2} and "b" not in dom


# ---- list mutators ---------------------------------------------------------------------------


LIST_OPS = {
    "append": (lambda l: l.append(4), [3, 1, 2, 4]),
    "extend": (lambda l: l.extend([4, 5]), [3, 1, 2, 4, 5]),
    "insert": (lambda l: l.insert(1, 9), [3, 9, 1, 2]),
    "pop_last": (lambda l: l.pop(), [3, 1]),
    "pop_index": (lambda l: l.pop(0), [1, 2]),
    "remove": (lambda l: l.remove(1), [3, 2]),
    "sort": (lambda l: l.sort(), [1, 2, 3]),
    "sort_kw": (lambda l: l.sort(key=lambda v: -v, reverse=True), [1, 2, 3]),
    "sort_mapping": (lambda l: l.sort({"reverse": True}), [3, 2, 1]),
    "reverse": (lambda l: l.reverse(), [2, 1, 3]),
    "clear": (lambda l: l.clear(), []),
    "setitem": (lambda l: l.__setitem__(0, 30), [30, 1, 2]),
}


@pytest.mark.parametrize("op", sorted(LIST_OPS))
def test_list_mutator_committed(op):
    fn, expected = LIST_OPS[op]
    assert mutate(lambda d: fn(d.l))[2]["l"] == expected


def test_list_pop_returns_element():
    assert mutate(lambda d: d.l.pop(1))[1] == 1


def test_list_mutations_are_read_your_writes():
    def body(d):
        d.l.append(4)
        d.l.sort()
        return (list(d.l), len(d.l), d.l[-1], 4 in d.l)

    assert mutate(body)[1] == ([1, 2, 3, 4], 4, 4, True)


async def test_mutators_committed_through_async_execute():
    engine = make_engine()

    @process(outputs=["domain.l", "domain.cfg"])
    async def proc(ctx):
        ctx.domain.l.append(9)
        ctx.domain.cfg.update({"y": 20})

    await engine.execute(proc)
    dom = engine.state.data["domain"]
    assert dom["l"] == [3, 1, 2, 9] and dom["cfg"]["y"] == 20


# ---- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["items", "keys", "get", "update", "path", "to_dict"])
def test_key_colliding_with_method_is_read_by_item(key):
    expected = make_engine().state.data["domain"][key]
    _, (value, attr_is_callable), _ = mutate(lambda d: (d[key], callable(getattr(d, key))))
    assert value == expected
    assert attr_is_callable


def test_dict_method_copy_shadows_key_of_same_name():
    _, (attr_is_callable, item), _ = mutate(lambda d: (callable(d.copy), d["copy"]))
    assert attr_is_callable is True
    assert item == 13


def test_get_values_items_wrap_children_with_child_caps():
    def body(d):
        return (type(d.get("l")).__name__, d.get("log_ops").capabilities,
                dict(d.items())["log_ops"].capabilities, [v for v in d.values() if isinstance(v, SP)][0].path())

    _, (t, caps_get, caps_items, first_path), _ = mutate(body)
    assert t == "SupervisorProxy"
    assert caps_get == 3 and caps_items == 3
    assert first_path.startswith("domain")


def test_missing_key_attribute_error_has_hint():
    engine = make_engine()

    @process(outputs=["domain"])
    def proc(ctx):
        return ctx.domain.zz

    with pytest.raises(AttributeError, match=r"'SupervisorProxy\[dict\]' object has no attribute 'zz'\. "
                                             r"\(Hint: Key 'zz' missing in wrapped dict at path 'domain'\)"):
        engine.execute_sync(proc)


def test_underscore_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        SP({"_a": 1})._a


def test_equality_compares_content():
    _, (eq, ne, ne2), _ = mutate(lambda d: (d.cfg == {"x": 1, "y": 2}, d.cfg != {"x": 1}, d.cfg != {"x": 1, "y": 2}))
    assert (eq, ne, ne2) == (True, True, False)


def test_repr_format():
    _, r, _ = mutate(lambda d: (repr(d), repr(d.l), str(d.log_ops)))
    assert r == ("<SupervisorProxy[dict] at path='domain' cap=1111>",
                 "<SupervisorProxy[list] at path='domain.l' cap=1111>",
                 "<SupervisorProxy[list] at path='domain.log_ops' cap=0011>")


def test_path_and_is_proxy_are_methods():
    _, r, _ = mutate(lambda d: (d.path(), d.b.path(), d.is_proxy(), d.read_only))
    assert r == ("domain", "domain.b", True, False)


def test_capabilities_setter_and_set_capabilities():
    p = SP({"a": 1}, "x", False, None, False, 15)
    p.capabilities = 5
    assert p.capabilities == 5
    p._set_capabilities(1)
    assert p.capabilities == 1
    assert repr(p) == "<SupervisorProxy[dict] at path='x' cap=0001>"


def test_to_dict_returns_plain_detached_dict():
    engine, result, dom = mutate(lambda d: d.cfg.to_dict())
    assert type(result) is dict and result == {"x": 1, "y": 2}
    result["x"] = 100
    assert engine.state.data["domain"]["cfg"]["x"] == 1


def test_supervisor_target_is_working_copy_and_in_place_change_is_committed():
    def body(d):
        target = d.cfg.supervisor_target
        assert type(target) is dict
        target["x"] = 55

    assert mutate(body, outputs=["domain.cfg"])[2]["cfg"] == {"x": 55, "y": 2}


def test_proxy_dunder_dict_is_fresh_empty_dict():
    p = SP({"a": 1})
    d1 = p.__dict__
    assert d1 == {}
    d1["z"] = 1
    assert p.__dict__ == {}


def test_proxy_is_not_subclassable():
    with pytest.raises(TypeError):
        type("Sub", (SP,), {})


def test_proxy_is_virtual_mapping_not_dict():
    p = SP({"a": 1})
    assert isinstance(p, collections.abc.Mapping)
    assert not isinstance(p, dict)


def test_state_domain_proxy_is_read_only():
    engine = make_engine()
    ro = engine.state.domain
    assert ro.capabilities == 1 and ro.read_only is True
    assert repr(ro) == "<SupervisorProxy[dict] at path='domain' cap=0001>"
    with pytest.raises(PermissionError):
        ro["a"] = 2
    with pytest.raises(PermissionError):
        ro.l.append(1)
    assert engine.state.data["domain"]["a"] == 1


# ---- mutations need a transaction ------------------------------------------------------------


def test_item_set_without_transaction_refused():
    p = SP({"a": 1}, "domain")
    with pytest.raises(PermissionError, match=r"Supervisor blocked mutation to path 'domain': No active transaction found\."):
        p["a"] = 2


def test_attribute_set_without_transaction_refused():
    p = SP({"a": 1}, "domain")
    with pytest.raises(PermissionError) as exc:
        p.a = 2
    assert "Supervisor blocked mutation to 'domain.a'" in str(exc.value)
    assert "No active transaction found" in str(exc.value)


@pytest.mark.parametrize("op", ["append", "extend", "insert", "remove", "sort", "reverse", "pop", "clear"])
def test_list_mutators_without_transaction_refused(op):
    calls = {"append": lambda l: l.append(1), "extend": lambda l: l.extend([1]), "insert": lambda l: l.insert(0, 1),
             "remove": lambda l: l.remove(3), "sort": lambda l: l.sort(), "reverse": lambda l: l.reverse(),
             "pop": lambda l: l.pop(), "clear": lambda l: l.clear()}
    target = [3, 1]
    with pytest.raises(PermissionError, match="No active transaction found"):
        calls[op](SP(target, "l"))
    assert target == [3, 1]


def test_read_only_proxy_with_full_caps_refuses_list_append():
    with pytest.raises(PermissionError, match="PURE process cannot write"):
        SP([1], "l", True, None, False, 15).append(2)


def test_proxy_over_object_with_log_delta_records_deltas():
    class Recorder:
        def __init__(self):
            self.log = []

        def log_delta(self, path, old_val=None, new_val=None):
            self.log.append((path, new_val))

    rec = Recorder()
    p = SP({"a": 1}, "domain", False, rec)
    p["a"] = 5
    assert rec.log and rec.log[0][1] == 5 and "a" in rec.log[0][0]


def test_proxy_constructed_over_manual_transaction_commits():
    engine = make_engine()
    with engine.transaction() as tx:
        p = SP({"a": 1}, "domain", False, tx)
        p["a"] = 42
    assert engine.state.data["domain"]["a"] == 42
    assert engine.state.data["domain"]["cfg"]["x"] == 1


# ---- pickling --------------------------------------------------------------------------------


def test_pickled_proxy_roundtrips_content_path_and_caps():
    p = SP({"a": 1, "b": [1, 2]}, "domain.x", True, None, False, 5)
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, SP)
    assert q.to_dict() == {"a": 1, "b": [1, 2]}
    assert (q.path(), q.read_only, q.capabilities) == ("domain.x", True, 5)


def test_proxy_pickled_inside_process_is_detached_copy():
    blob = mutate(lambda d: pickle.dumps(d.cfg))[1]
    q = pickle.loads(blob)
    assert q.to_dict() == {"x": 1, "y": 2}
    with pytest.raises(PermissionError, match="No active transaction found"):
        q["x"] = 2


def test_copy_copy_of_proxy_gives_content():
    assert dict(copy.copy(SP({"a": 1}))) == {"a": 1}


# ---- JSON and pydantic interop ---------------------------------------------------------------


def test_json_dumps_of_proxy_raises_type_error():
    _, msg, _ = mutate(lambda d: pytest.raises(TypeError, json.dumps, d.cfg).value.args[0])
    assert "is not JSON serializable" in msg


def test_theus_encoder_serializes_nested_proxy():
    _, text, _ = mutate(lambda d: json.dumps(d.b, cls=TheusEncoder))
    assert json.loads(text) == {"c": 2}


def test_theus_encoder_serializes_frozen_views():
    engine = make_engine()
    assert json.loads(json.dumps({"d": engine.state.data["domain"]["cfg"]}, cls=TheusEncoder)) == {"d": {"x": 1, "y": 2}}


def test_theus_encoder_uses_dict_for_plain_mapping():
    class M(collections.abc.Mapping):
        def __getitem__(self, k):
            return {"k": 1}[k]

        def __iter__(self):
            return iter(["k"])

        def __len__(self):
            return 1

    assert json.dumps(M(), cls=TheusEncoder) == '{"k": 1}'


def test_theus_encoder_rejects_unknown_objects():
    with pytest.raises(TypeError):
        json.dumps(object(), cls=TheusEncoder)


def test_dict_of_proxy_is_shallow_with_proxy_children():
    _, (plain, child), _ = mutate(lambda d: (lambda x: (type(x).__name__, type(x["b"]).__name__))(dict(d)))
    assert plain == "dict" and child == "SupervisorProxy"


def test_pydantic_model_validate_accepts_proxy():
    pydantic = pytest.importorskip("pydantic")

    class Cfg(pydantic.BaseModel):
        x: int
        y: int

    _, model, _ = mutate(lambda d: Cfg.model_validate(d.cfg))
    assert model == Cfg(x=1, y=2)


def test_get_pydantic_config():
    assert get_pydantic_config() == {"from_attributes": True}


# ---- objects with __dict__ -------------------------------------------------------------------


class Box:
    def __init__(self, v=1):
        self.v = v

    def double(self):
        return self.v * 2

    def __eq__(self, other):
        return isinstance(other, Box) and other.v == self.v


def test_object_with_dict_is_wrapped_as_child_proxy_with_callable_methods():
    engine = TheusEngine({"domain": {"box": Box(3)}})

    @process(inputs=["domain.box"])
    def proc(ctx):
        b = ctx.domain.box
        return (isinstance(b, SP), b.path(), b.double())

    assert engine.execute_sync(proc) == (True, "domain.box", 6)
