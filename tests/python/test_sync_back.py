"""Sync-back of context objects after commits (core.md §5.8)."""
import warnings
from dataclasses import dataclass, field
from typing import Optional

import pytest
from pydantic import BaseModel

from theus import BaseDomainContext, BaseGlobalContext, BaseSystemContext, TheusEngine, process
from theus.context import NamespaceRegistry
from theus.structures import ContextError


@dataclass
class DomainDC(BaseDomainContext):
    n: int = 0
    orders: list = field(default_factory=list)
    cfg: Optional[dict] = field(default_factory=lambda: {"a": 1})


@dataclass
class GlobalDC(BaseGlobalContext):
    limit: int = 10


class Dom(BaseModel):
    n: int = 0
    orders: list = []


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


@process(inputs=["domain.orders"], outputs=["domain.orders"])
def add_order(ctx, item):
    ctx.domain.orders.append(item)


def pydantic_app(n=0):
    class App(BaseSystemContext):
        def __init__(self):
            self.domain = Dom(n=n)

    return App()


# ---- dataclass contexts ------------------------------------------------------------------------


def test_dataclass_domain_is_updated_in_place():
    dom = DomainDC()
    ctx = BaseSystemContext(domain=dom)
    engine = TheusEngine(ctx)
    engine.execute_sync(inc)
    assert ctx.domain is dom
    assert dom.n == 1


def test_dataclass_list_field_reflects_proxy_mutations():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.execute_sync(add_order, item="apple")
    assert dom.orders == ["apple"]


def test_dataclass_field_is_overwritten_with_none():
    @process(inputs=["domain.cfg"], outputs=["domain.cfg"])
    def drop_cfg(ctx):
        ctx.domain.cfg = None

    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.execute_sync(drop_cfg)
    assert engine.state.data["domain"]["cfg"] is None
    assert dom.cfg is None


def test_synced_dataclass_values_are_detached_copies():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.execute_sync(add_order, item="a")
    dom.orders.append("local-only")
    assert list(engine.state.data["domain"]["orders"]) == ["a"]


def test_global_dataclass_layer_is_synced():
    @process(inputs=["global.limit"], outputs=["global.limit"])
    def raise_limit(ctx):
        return getattr(ctx, "global").limit + 1

    glob = GlobalDC()
    engine = TheusEngine(BaseSystemContext(domain=DomainDC(), global_ctx=glob))
    engine.execute_sync(raise_limit)
    assert glob.limit == 11


# ---- pydantic and dict contexts ------------------------------------------------------------------


def test_pydantic_domain_attribute_is_replaced_by_a_validated_model():
    app = pydantic_app()
    original = app.domain
    engine = TheusEngine(app)
    engine.compare_and_swap(engine.state.version, data={"domain": {"n": 5}})
    assert isinstance(app.domain, Dom)
    assert app.domain is not original
    assert app.domain.n == 5


def test_pydantic_domain_is_synced_after_execute():
    app = pydantic_app()

    @process(inputs=["domain"], outputs=["domain"])
    def bump(ctx):
        ctx.domain.n = ctx.domain.n + 1

    engine = TheusEngine(app)
    engine.execute_sync(bump)
    assert app.domain.n == 1


def test_pydantic_root_model_context_is_synced():
    class Sys(BaseModel):
        domain: Dom = Dom()

    sys_ctx = Sys()
    engine = TheusEngine(sys_ctx)
    engine.execute_sync(add_order, item="x")
    assert isinstance(sys_ctx.domain, Dom)
    assert sys_ctx.domain.orders == ["x"]


def test_dict_domain_attribute_is_replaced_by_a_plain_copy():
    engine = TheusEngine({"domain": {"n": 0}})
    engine.execute_sync(inc)
    assert type(engine._context.domain) is dict
    assert engine._context.domain == {"n": 1}


def test_dict_domain_sync_copy_is_detached():
    engine = TheusEngine({"domain": {"n": 0, "orders": []}})
    engine.execute_sync(add_order, item="a")
    engine._context.domain["orders"].append("local")
    assert list(engine.state.data["domain"]["orders"]) == ["a"]


def test_underscore_keys_are_not_synced_back():
    engine = TheusEngine({"domain": {"n": 0}})
    engine.compare_and_swap(engine.state.version, data={"domain": {"_hidden": 1, "shown": 2}})
    assert engine.state.data["domain"]["_hidden"] == 1
    assert engine._context.domain == {"n": 0, "shown": 2}


def test_legacy_domain_ctx_attribute_is_synced():
    class Legacy(BaseSystemContext):
        def __init__(self):
            self.domain_ctx = {"n": 0}

    ctx = Legacy()
    engine = TheusEngine(ctx)
    engine.execute_sync(inc)
    assert ctx.domain_ctx == {"n": 1}


# ---- every wrapper commit path syncs ----------------------------------------------------------


def test_transaction_commit_syncs_context():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    with engine.transaction() as tx:
        tx.update(data={"domain": {"n": 7}})
    assert dom.n == 7


def test_compare_and_swap_syncs_context():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.compare_and_swap(1, data={"domain": {"n": 8}})
    assert dom.n == 8


def test_edit_pushes_context_changes_as_one_version():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    with engine.edit() as ctx:
        ctx.domain.n = 42
        ctx.domain.orders.append("manual")
    assert engine.state.version == 2
    assert engine.state.data["domain"].to_dict()["n"] == 42
    assert list(engine.state.data["domain"]["orders"]) == ["manual"]


def test_edit_exception_skips_the_push():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    before = engine.state
    with pytest.raises(ValueError):
        with engine.edit() as ctx:
            ctx.domain.n = 42
            raise ValueError("abort edit")
    assert engine.state is before
    assert engine.state.data["domain"]["n"] == 0


def test_edit_push_errors_propagate():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    for _ in range(6):
        engine.report_conflict("other")
    with pytest.raises(ContextError, match="System Busy"):
        with engine.edit() as ctx:
            ctx.domain.n = 1
    assert engine.state.data["domain"]["n"] == 0


def test_failed_commit_does_not_sync():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def fail(ctx):
        ctx.domain.n = 100
        raise RuntimeError("no")

    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    with pytest.raises(RuntimeError):
        engine.execute_sync(fail)
    assert dom.n == 0


def test_failing_layer_warns_and_commit_stands():
    app = pydantic_app()
    engine = TheusEngine(app)
    with pytest.warns(RuntimeWarning):
        engine.compare_and_swap(engine.state.version, data={"domain": {"n": "not-an-int"}})
    assert engine.state.version == 2
    assert engine._core.state.version == 2


def test_namespace_registry_data_follows_commits():
    engine = TheusEngine(namespaces=[{"name": "shop", "data": {"stock": 1}}])
    engine.compare_and_swap(engine.state.version, data={"shop": {"stock": 2}})
    assert NamespaceRegistry().get_all_data()["shop"] == {"stock": 2}


def test_namespace_registry_default_gets_non_namespace_keys():
    engine = TheusEngine({"domain": {"n": 0}}, namespaces=[{"name": "shop", "data": {}}])
    engine.execute_sync(inc)
    data = NamespaceRegistry().get_all_data()
    assert data["default"] == {"domain": {"n": 1}}


def test_context_state_attribute_tracks_the_latest_version():
    class StatefulContext(BaseSystemContext):
        _state = None

    ctx = StatefulContext(domain=DomainDC())
    engine = TheusEngine(ctx)
    engine.execute_sync(inc)
    assert ctx._state.version == 2


def test_sync_back_emits_no_warning_on_success():
    dom = DomainDC()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.execute_sync(inc)
