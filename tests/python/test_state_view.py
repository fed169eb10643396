"""engine.state, the StateView (core.md §5.9), and the read-only values it hands out (§11.2, §11.3)."""
import copy

import pytest
from pydantic import BaseModel

import theus_core
from theus import BaseSystemContext, TheusEngine, process
from theus.structures import ContextError, FrozenDict, FrozenList


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


def engine_with(**domain):
    return TheusEngine({"domain": domain or {"n": 0}})


def test_state_is_the_same_object_while_version_is_unchanged():
    engine = engine_with()
    assert engine.state is engine.state


def test_state_is_a_new_object_after_a_commit():
    engine = engine_with()
    before = engine.state
    engine.execute_sync(inc)
    assert engine.state is not before
    assert engine.state.version == before.version + 1


def test_state_identity_survives_a_rolled_back_transaction():
    engine = engine_with()
    before = engine.state
    with pytest.raises(ValueError):
        with engine.transaction() as tx:
            tx.update(data={"x": 1})
            raise ValueError
    assert engine.state is before


def test_state_view_repr_names_the_version():
    engine = engine_with()
    assert repr(engine.state) == "<StateView v1>"


def test_old_view_keeps_its_version_and_data():
    engine = engine_with()
    old = engine.state
    engine.execute_sync(inc)
    assert old.version == 1
    assert old.data["domain"]["n"] == 0
    assert engine.state.data["domain"]["n"] == 1


def test_dict_values_are_frozen_dicts_with_item_and_attribute_access():
    engine = engine_with(n=3, sub={"k": "v"})
    domain = engine.state.data["domain"]
    assert isinstance(domain, FrozenDict)
    assert domain["n"] == 3 and domain.n == 3
    assert isinstance(domain["sub"], FrozenDict)
    assert domain.sub.k == "v"


def test_list_values_are_frozen_lists():
    engine = engine_with(items=[1, 2, 3])
    items = engine.state.data["domain"]["items"]
    assert isinstance(items, FrozenList)
    assert not isinstance(items, list)
    assert items == [1, 2, 3]
    assert items[1:] == [2, 3]
    assert items.copy() == [1, 2, 3] and type(items.copy()) is list


def test_scalars_are_returned_as_is():
    engine = TheusEngine({"x": 5, "s": "txt"})
    assert engine.state.data["x"] == 5
    assert engine.state.data["s"] == "txt"


def test_missing_key_raises_key_error():
    engine = engine_with()
    with pytest.raises(KeyError):
        engine.state.data["nope"]


def test_frozen_dict_item_assignment_raises_context_error():
    engine = engine_with()
    with pytest.raises(ContextError, match=r"Context is Immutable. Use .update\(\)"):
        engine.state.data["domain"]["n"] = 5
    assert engine.state.data["domain"]["n"] == 0


def test_frozen_dict_missing_item_and_attribute():
    domain = engine_with().state.data["domain"]
    with pytest.raises(KeyError, match="Key not found"):
        domain["missing"]
    with pytest.raises(AttributeError, match="Attribute not found"):
        domain.missing


@pytest.mark.parametrize("mutate", [
    lambda lst: lst.append(4),
    lambda lst: lst.extend([4]),
    lambda lst: lst.insert(0, 4),
    lambda lst: lst.pop(),
    lambda lst: lst.remove(1),
    lambda lst: lst.clear(),
    lambda lst: lst.sort(),
    lambda lst: lst.reverse(),
    lambda lst: lst.__setitem__(0, 9),
])
def test_frozen_list_mutators_raise_context_error(mutate):
    engine = engine_with(items=[1, 2, 3])
    with pytest.raises(ContextError, match="Context is Immutable"):
        mutate(engine.state.data["domain"]["items"])
    assert list(engine.state.data["domain"]["items"]) == [1, 2, 3]


def test_data_view_mapping_reads():
    engine = TheusEngine({"domain": {"n": 1}, "x": 2})
    data = engine.state.data
    assert set(data.keys()) == {"domain", "x"}
    assert set(iter(data)) == {"domain", "x"}
    assert len(data) == 2
    assert "x" in data and "nope" not in data
    assert data.get("nope", "dflt") == "dflt"
    assert data.get("x") == 2
    assert dict(data.items())["x"] == 2
    assert 2 in list(data.values())


def test_data_view_to_dict_is_a_detached_plain_deep_copy():
    engine = engine_with(items=[1])
    plain = engine.state.data.to_dict()
    assert type(plain["domain"]) is dict and type(plain["domain"]["items"]) is list
    plain["domain"]["items"].append(2)
    assert list(engine.state.data["domain"]["items"]) == [1]


def test_data_is_a_new_view_per_access():
    engine = engine_with()
    assert engine.state.data is not engine.state.data


def test_pydantic_layer_reads_as_fresh_model_instances():
    class Dom(BaseModel):
        n: int = 0

    class App(BaseSystemContext):
        def __init__(self):
            self.domain = Dom(n=2)

    app = App()
    engine = TheusEngine(app)
    first = engine.state.data["domain"]
    assert isinstance(first, Dom) and first.n == 2
    assert first is not app.domain
    assert engine.state.data["domain"] is not first


def test_state_domain_is_a_read_only_proxy():
    engine = engine_with(n=1)
    proxy = engine.state.domain
    assert isinstance(proxy, theus_core.SupervisorProxy)
    assert proxy.n == 1
    with pytest.raises(PermissionError):
        proxy.n = 2
    assert engine.state.data["domain"]["n"] == 1


def test_state_global_and_domain_proxy_delegate_to_core_state():
    engine = TheusEngine({"domain": {"n": 1}, "global": {"g": 2}})
    assert getattr(engine.state, "global").g == 2
    assert engine.state.domain_proxy().n == 1


def test_state_view_has_no_local():
    engine = engine_with()
    with pytest.raises(AttributeError):
        engine.state.local


def test_state_signal_is_a_signal_hub_on_one_channel():
    engine = engine_with()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(inc)
    engine.state.signal.publish("hello")
    assert rx.recv() == "hello"
    assert isinstance(engine.state.signal, theus_core.SignalHub)


def test_state_meta_is_a_list_of_meta_log_entries():
    engine = engine_with()
    meta = engine.state.meta
    assert all(isinstance(m, theus_core.MetaLogEntry) for m in meta)
    assert meta[-1].key == "state_update"
    assert meta[-1].message == "State updated to version 1"


def test_meta_log_grows_one_entry_per_commit_oldest_first():
    engine = engine_with()
    engine.execute_sync(inc)
    engine.execute_sync(inc)
    messages = [m.message for m in engine.state.meta]
    assert messages[-3:] == [f"State updated to version {v}" for v in (1, 2, 3)]


def test_committed_values_are_not_the_users_objects_d7():
    orders = ["a"]
    engine = engine_with(orders=orders)
    assert engine.state.data["domain"]["orders"] is not orders


def test_frozen_dict_deepcopy_is_a_frozen_dict():
    engine = engine_with(sub={"k": [1]})
    dup = copy.deepcopy(engine.state.data["domain"])
    assert isinstance(dup, FrozenDict)
    assert dup == {"sub": {"k": [1]}}


def test_frozen_dict_equals_plain_dict_both_ways():
    engine = engine_with(n=1, s="x")
    domain = engine.state.data["domain"]
    assert domain == {"n": 1, "s": "x"}
    assert {"n": 1, "s": "x"} == domain
    assert domain != {"n": 2, "s": "x"}
