"""Context shapes and hydration (core.md §5.4, §5.5, §5.7)."""
import warnings
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

import theus_core
from theus import BaseDomainContext, BaseGlobalContext, BaseSystemContext, TheusEngine, process
from theus.context import NamespacePolicy, NamespaceRegistry


class Unclonable:
    def __deepcopy__(self, memo):
        raise ValueError("refuses to be copied")


class Dom(BaseModel):
    n: int = 0
    tags: list = []


class Glob(BaseModel):
    limit: int = 5


@dataclass
class DomainDC(BaseDomainContext):
    n: int = 0
    orders: list = field(default_factory=list)


@dataclass
class GlobalDC(BaseGlobalContext):
    limit: int = 10


# ---- the key table of §5.7 --------------------------------------------------------------------


@pytest.mark.parametrize("context", [None, {}])
def test_empty_context_has_no_keys_and_version_zero(context):
    engine = TheusEngine(context)
    assert list(engine.state.data.keys()) == []
    assert engine.state.version == 0


def test_plain_top_level_key_is_hydrated_at_version_one():
    engine = TheusEngine({"x": 1})
    assert engine.state.data.to_dict() == {"x": 1}
    assert engine.state.version == 1


def test_domain_dict_is_hydrated():
    engine = TheusEngine({"domain": {"n": 1}})
    assert engine.state.data.to_dict() == {"domain": {"n": 1}}
    assert engine.state.version == 1


def test_domain_and_global_dicts_are_hydrated():
    engine = TheusEngine({"domain": {"n": 1}, "global": {"limit": 3}})
    assert engine.state.data.to_dict() == {"domain": {"n": 1}, "global": {"limit": 3}}


@pytest.mark.parametrize("dkey,gkey", [("domain_ctx", "global_ctx"), ("domain", "global_"), ("domain_ctx", "global")])
def test_layer_aliases_are_canonicalized(dkey, gkey):
    engine = TheusEngine({dkey: {"a": 1}, gkey: {"b": 2}})
    assert engine.state.data.to_dict() == {"domain": {"a": 1}, "global": {"b": 2}}


def test_dataclass_system_context_is_hydrated():
    ctx = BaseSystemContext(domain=DomainDC(n=2), global_ctx=GlobalDC(limit=4))
    engine = TheusEngine(ctx)
    assert engine.state.data.to_dict() == {"domain": {"n": 2, "orders": []}, "global": {"limit": 4}}
    assert engine.state.version == 1


def test_dataclass_system_context_without_global_has_only_domain():
    engine = TheusEngine(BaseSystemContext(domain=DomainDC()))
    assert list(engine.state.data.keys()) == ["domain"]


def test_plain_annotation_subclass_is_hydrated():
    class App(BaseSystemContext):
        domain: dict

        def __init__(self):
            self.domain = {"n": 1}
            self.global_ctx = {"limit": 2}

    engine = TheusEngine(App())
    assert engine.state.data.to_dict() == {"domain": {"n": 1}, "global": {"limit": 2}}


def test_pydantic_root_model_is_hydrated_as_plain_data():
    class Sys(BaseModel):
        domain: Dom = Dom(n=1)
        global_ctx: Glob = Glob()

    engine = TheusEngine(Sys())
    assert engine.state.data.to_dict() == {"domain": {"n": 1, "tags": []}, "global": {"limit": 5}}
    assert isinstance(engine._core.state.data["domain"], theus_core.FrozenDict)


def test_custom_system_context_with_pydantic_domain_stores_an_opaque_copy():
    model = Dom(n=3)

    class App(BaseSystemContext):
        def __init__(self):
            self.domain = model

    engine = TheusEngine(App())
    stored = engine._core.state.data["domain"]
    assert isinstance(stored, Dom) and stored.n == 3
    assert stored is not model


def test_pydantic_domain_field_is_readable_with_key_level_input():
    class App(BaseSystemContext):
        def __init__(self):
            self.domain = Dom(n=3)

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def inc(ctx):
        return ctx.domain.n + 1

    engine = TheusEngine(App())
    assert engine.execute_sync(inc) == 4
    assert engine.state.data["domain"].n == 4


def test_non_data_zone_dict_keys_are_ignored_with_a_warning():
    with pytest.warns(Warning, match="sig_go"):
        engine = TheusEngine({"x": 1, "sig_go": True})
    assert engine.state.data.to_dict() == {"x": 1}


def test_extra_data_zone_dict_keys_become_top_level_keys():
    engine = TheusEngine({"domain": {"n": 0}, "counter": 5, "config": {"a": 1}})
    assert engine.state.data.to_dict() == {"domain": {"n": 0}, "counter": 5, "config": {"a": 1}}


# ---- field filtering ---------------------------------------------------------------------------


def test_signal_fields_of_dict_domain_are_not_hydrated():
    engine = TheusEngine({"domain": {"sig_go": True, "cmd_stop": 1, "n": 1}})
    assert engine.state.data["domain"].to_dict() == {"n": 1}


def test_dataclass_domain_keeps_meta_log_heavy_fields_but_drops_signal_fields():
    @dataclass
    class D(BaseDomainContext):
        n: int = 0
        sig_go: bool = True
        cmd_stop: bool = False
        meta_info: str = "m"
        log_ops: list = field(default_factory=list)

    engine = TheusEngine(BaseSystemContext(domain=D()))
    assert engine.state.data["domain"].to_dict() == {"n": 0, "meta_info": "m", "log_ops": []}


def test_dict_domain_keeps_meta_and_log_fields():
    engine = TheusEngine({"domain": {"meta_info": "m", "log_ops": [], "n": 0}})
    assert set(engine.state.data["domain"].keys()) == {"meta_info", "log_ops", "n"}


# ---- copy-in (D7) -----------------------------------------------------------------------------


def test_mutating_the_source_dict_after_construction_does_not_change_state():
    domain = {"n": 0, "orders": ["a"]}
    engine = TheusEngine({"domain": domain})
    domain["n"] = 99
    domain["orders"].append("b")
    assert engine.state.data["domain"].to_dict() == {"n": 0, "orders": ["a"]}


def test_mutating_the_source_dataclass_after_construction_does_not_change_state():
    dom = DomainDC(n=1)
    engine = TheusEngine(BaseSystemContext(domain=dom))
    dom.n = 50
    dom.orders.append("x")
    assert engine.state.data["domain"].to_dict() == {"n": 1, "orders": []}


def test_custom_instance_is_stored_as_an_opaque_deep_copy():
    class Box:
        def __init__(self):
            self.items = [1]

    box = Box()
    engine = TheusEngine({"domain": {"box": box}})
    box.items.append(2)
    stored = engine.state.data["domain"]["box"]
    assert stored is not box
    assert stored.items == [1]


def test_opaque_value_read_back_is_a_fresh_copy():
    class Box:
        def __init__(self):
            self.items = [1]

    engine = TheusEngine({"domain": {"box": Box()}})
    engine.state.data["domain"]["box"].items.append(2)
    assert engine.state.data["domain"]["box"].items == [1]


def test_unclonable_value_fails_hydration_naming_type_and_path():
    with pytest.raises(RuntimeError) as info:
        TheusEngine({"domain": {"bad": Unclonable()}})
    message = str(info.value)
    assert "Transaction isolation failure: cannot deepcopy object of type 'Unclonable'" in message
    assert "domain.bad" in message


def test_hydration_errors_propagate_from_the_constructor():
    class Broken(BaseSystemContext):
        def to_dict(self, exclude_zones=None):
            raise LookupError("broken context")

    with pytest.raises(LookupError, match="broken context"):
        TheusEngine(Broken())


# ---- _state and namespaces --------------------------------------------------------------------


class StatefulContext(BaseSystemContext):
    """A context declaring ``_state``: the engine fills it (§5.7 step 6)."""

    _state = None


def test_context_state_attribute_is_set_to_the_core_state():
    ctx = StatefulContext(domain=DomainDC())
    engine = TheusEngine(ctx)
    assert isinstance(ctx._state, theus_core.State)
    assert ctx._state.version == engine.state.version


def test_namespaces_argument_accepts_dicts_and_tuples():
    engine = TheusEngine(
        {"domain": {"n": 0}},
        namespaces=[{"name": "shop", "data": {"k": 1}}, ("inv",), ("cfg", NamespacePolicy(), {"z": 2})],
    )
    assert engine.state.data.to_dict() == {"domain": {"n": 0}, "shop": {"k": 1}, "inv": {}, "cfg": {"z": 2}}
    assert {"shop", "inv", "cfg"} <= set(NamespaceRegistry().names())


def test_namespace_policy_is_registered():
    policy = NamespacePolicy(allow_delete=True)
    TheusEngine(namespaces=[{"name": "shop", "policy": policy}])
    assert NamespaceRegistry().get_policy("shop") is policy


def test_namespace_registry_is_a_singleton():
    assert NamespaceRegistry() is NamespaceRegistry()


def test_namespace_policy_caps_use_core_layout():
    assert NamespacePolicy().to_caps() == 1 | 2 | 4
    assert NamespacePolicy(allow_read=False, allow_update=False, allow_append=False, allow_delete=True).to_caps() == 8


def test_namespace_descriptor_registers_at_class_creation():
    from theus.context import Namespace

    @dataclass
    class Shop(BaseDomainContext):
        stock: int = 3

    class App(BaseSystemContext):
        shop = Namespace(Shop)

    assert "shop" in NamespaceRegistry().names()
    app = App()
    assert app.shop is app.shop
    assert isinstance(App.shop, Namespace)


def test_namespace_descriptor_data_is_hydrated():
    from theus.context import Namespace

    @dataclass
    class Shop(BaseDomainContext):
        stock: int = 3

    class App(BaseSystemContext):
        shop = Namespace(Shop)

    engine = TheusEngine(App(domain={"n": 0}))
    assert engine.state.data.to_dict() == {"domain": {"n": 0}, "shop": {"stock": 3}}


def test_missing_attribute_of_system_context_names_the_class():
    with pytest.raises(AttributeError, match="'BaseSystemContext' object has no attribute 'nope'"):
        BaseSystemContext().nope


def test_locked_mixin_to_dict_excludes_non_data_zones_by_default():
    @dataclass
    class D(BaseDomainContext):
        n: int = 0
        sig_x: int = 1
        meta_y: int = 2
        heavy_z: int = 3
        log_w: int = 4

    assert D().to_dict() == {"n": 0}
    from theus.zones import ContextZone

    assert D().to_dict(exclude_zones=[ContextZone.SIGNAL]) == {"n": 0, "meta_y": 2, "heavy_z": 3, "log_w": 4}


def test_hydration_emits_no_warning_for_plain_contexts():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TheusEngine({"domain": {"n": 0}, "global": {"g": 1}})


def test_namespaces_are_snapshotted_at_engine_construction():
    @process(inputs=["shop.a"], outputs=[])
    def peek(ctx):
        return ctx.shop.b

    snapshot_engine = TheusEngine({"shop": {"a": 1, "b": 2}}, strict_guards=False)
    NamespaceRegistry().register("shop")  # registered after the first engine was built
    namespaced_engine = TheusEngine({"shop": {"a": 1, "b": 2}}, strict_guards=False)
    assert snapshot_engine.execute_sync(peek) == 2  # not a namespace for this engine: root rule only
    with pytest.raises(PermissionError, match="Illegal Read"):
        namespaced_engine.execute_sync(peek)  # namespaces are checked per key even when not strict
