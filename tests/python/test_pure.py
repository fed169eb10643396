"""PURE processes: RestrictedStateProxy, FilteredDomainProxy, firewall (core.md §4.4, §4.5, §8.5)."""
import types

import pytest

import theus_core
from theus import TheusEngine, process
from theus.contracts import ContractViolationError, SemanticType
from theus.engine import FilteredDomainProxy, RestrictedStateProxy
from theus.guards import _current_tx

PURE = SemanticType.PURE


def make_engine(strict_guards=True):
    return TheusEngine(
        {
            "domain": {"a": 1, "b": 2, "lst": [1, [2, 3]], "cfg": {"k": {"z": 1}, "j": 0},
                       "user": {"name": "n", "age": 3}, "out": 0},
            "global": {"g": 10, "h": 20},
            "other": {"o": 1},
        },
        strict_guards=strict_guards,
    )


def run_pure(engine, inputs, body, outputs=()):
    box = []

    @process(inputs=list(inputs), outputs=list(outputs), semantic=PURE)
    def pure_proc(ctx):
        box.append(body(ctx))

    engine.execute_sync(pure_proc)
    return box[0]


def assert_pure_refused(inputs, body, exc_type, pattern):
    engine = make_engine()
    before = engine.state
    with pytest.raises(exc_type, match=pattern):
        run_pure(engine, inputs, body)
    assert engine.state is before
    assert engine.state.version == 1


# ---- the view --------------------------------------------------------------------------------


def test_pure_process_receives_restricted_state_proxy():
    assert isinstance(run_pure(make_engine(), ["domain.a"], lambda ctx: ctx), RestrictedStateProxy)


def test_version_is_base_version():
    assert run_pure(make_engine(), ["domain.a"], lambda ctx: ctx.version) == 1


def test_partially_declared_zone_is_filtered_domain_proxy():
    assert isinstance(run_pure(make_engine(), ["domain.a"], lambda ctx: ctx.domain), FilteredDomainProxy)


def test_declared_leaf_readable_by_attribute_item_and_get():
    result = run_pure(make_engine(), ["domain.a"], lambda ctx: (ctx.domain.a, ctx.domain["a"], ctx.domain.get("a")))
    assert result == (1, 1, 1)


def test_undeclared_attribute_read_raises_contract_violation():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain.b, ContractViolationError,
                        r"^Access denied: 'domain\.b' not declared in contract inputs\.$")


def test_undeclared_item_read_lists_allowed_paths():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain["b"], ContractViolationError,
                        r"Access denied: 'domain\.b' not declared in contract inputs\. Allowed: \['domain\.a'\]")


def test_undeclared_get_raises_contract_violation():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain.get("b", 0), ContractViolationError,
                        r"Access denied: 'domain\.b' not declared")


def test_ancestor_is_navigable_and_deep_undeclared_key_refused():
    assert run_pure(make_engine(), ["domain.user.name"], lambda ctx: ctx.domain.user.name) == "n"
    assert_pure_refused(["domain.user.name"], lambda ctx: ctx.domain.user.age, ContractViolationError,
                        r"Access denied: 'domain\.user\.age' not declared in contract inputs\.")


def test_undeclared_zone_read_refused():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.global_ctx.g, ContractViolationError,
                        r"Access denied: 'global\.g' not declared")


def test_allowed_list_becomes_tuple_recursively():
    assert run_pure(make_engine(), ["domain.lst"], lambda ctx: ctx.domain.lst) == (1, (2, 3))


def test_allowed_dict_becomes_mappingproxy_recursively():
    value = run_pure(make_engine(), ["domain.cfg"], lambda ctx: ctx.domain.cfg)
    assert isinstance(value, types.MappingProxyType)
    assert isinstance(value["k"], types.MappingProxyType)
    assert value["k"]["z"] == 1


def test_whole_zone_declared_gives_read_only_view():
    value = run_pure(make_engine(), ["domain"], lambda ctx: ctx.domain)
    assert value["a"] == 1
    assert value["lst"] == (1, (2, 3))
    with pytest.raises(TypeError):
        value["a"] = 2


@pytest.mark.parametrize("attr", ["global", "global_", "global_ctx"])
def test_global_aliases_expose_global_zone(attr):
    assert run_pure(make_engine(), ["global.g"], lambda ctx: getattr(ctx, attr).g) == 10


def test_data_is_filtered_by_inputs():
    assert run_pure(make_engine(), ["domain.a"], lambda ctx: ctx.data["domain"].a) == 1
    assert_pure_refused(["domain.a"], lambda ctx: ctx.data["other"], ContractViolationError,
                        r"Access denied: 'other' not declared in contract inputs\.")


def test_data_key_filter_applies_below_root():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.data["domain"].b, ContractViolationError,
                        r"Access denied: 'domain\.b'")


def test_heavy_is_available():
    assert run_pure(make_engine(), ["domain.a"], lambda ctx: len(ctx.heavy)) == 0


@pytest.mark.parametrize("name", ["signal", "meta", "local", "outbox", "transaction", "log"])
def test_non_state_attributes_raise_attribute_error(name):
    assert_pure_refused(["domain.a"], lambda ctx: getattr(ctx, name), AttributeError,
                        rf"^'RestrictedStateProxy' object has no attribute '{name}'$")


# ---- mutation --------------------------------------------------------------------------------


def test_attribute_assignment_refused():
    assert_pure_refused(["domain.a"], lambda ctx: setattr(ctx.domain, "a", 5), ContractViolationError,
                        r"PURE Process cannot mutate state: 'domain\.a'")


def test_item_assignment_refused():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain.__setitem__("a", 5), ContractViolationError,
                        r"PURE Process cannot mutate state: 'domain\.a'")


def test_nested_filtered_assignment_names_full_path():
    assert_pure_refused(["domain.user.name"], lambda ctx: setattr(ctx.domain.user, "name", "z"),
                        ContractViolationError, r"PURE Process cannot mutate state: 'domain\.user\.name'")


def test_delete_refused():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain.__delitem__("a"), ContractViolationError,
                        r"PURE Process cannot delete state: ")


def test_attribute_delete_refused():
    assert_pure_refused(["domain.a"], lambda ctx: ctx.domain.__delattr__("a"), ContractViolationError,
                        r"PURE Process cannot delete state: ")


def test_pure_side_effect_through_transaction_refused_at_commit():
    def body(ctx):
        _current_tx.get().update(data={"domain": {"out": 5}})

    assert_pure_refused(["domain.a"], body, ContractViolationError,
                        r"Process 'pure_proc' is PURE but produced side-effects: \[")


def test_pure_restrictions_apply_with_strict_guards_off():
    engine = make_engine(strict_guards=False)
    with pytest.raises(ContractViolationError, match="Access denied: 'domain.b'"):
        run_pure(engine, ["domain.a"], lambda ctx: ctx.domain.b)


# ---- return values still commit --------------------------------------------------------------


def test_pure_return_value_is_output_mapped():
    engine = make_engine()

    @process(inputs=["domain.a", "domain.b"], outputs=["domain.out"], semantic=PURE)
    def add(ctx):
        return ctx.domain.a + ctx.domain.b

    assert engine.execute_sync(add) == 3
    assert engine.state.data["domain"]["out"] == 3
    assert engine.state.version == 2


async def test_async_pure_process_gets_restricted_view():
    engine = make_engine()

    @process(inputs=["domain.a"], outputs=["domain.out"], semantic=PURE)
    async def add(ctx):
        assert isinstance(ctx, RestrictedStateProxy)
        return ctx.domain.a + 100

    await engine.execute(add)
    assert engine.state.data["domain"]["out"] == 101


# ---- registration firewall -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["signal.x", "domain.meta_x", "domain.sig_x", "domain.cmd_go", "meta.k"])
def test_firewall_refuses_control_zone_inputs_at_register(path):
    @process(inputs=[path], semantic=PURE)
    def bad(ctx):
        pass

    engine = make_engine()
    with pytest.raises(ContractViolationError, match=rf"Pure process cannot take inputs from Zone: Signal/Meta \(Found: {path}\)"):
        engine.register(bad)
    with pytest.raises(ValueError):
        engine.execute_sync("bad")


def test_firewall_applies_to_unregistered_execute():
    called = []

    @process(inputs=["domain.meta_x"], semantic=PURE)
    def bad(ctx):
        called.append(1)

    engine = make_engine()
    before = engine.state
    with pytest.raises(ContractViolationError, match="Pure process cannot take inputs from Zone: Signal/Meta"):
        engine.execute_sync(bad)
    assert called == [] and engine.state is before


def test_firewall_does_not_apply_to_effect_processes():
    @process(inputs=["domain.meta_x"])
    def ok(ctx):
        pass

    make_engine().register(ok)


# ---- direct construction ---------------------------------------------------------------------


def test_filtered_domain_proxy_direct_construction():
    fp = FilteredDomainProxy({"a": 1, "b": {"c": [1]}}, ["domain.a", "domain.b.c"], "domain")
    assert fp.a == 1
    assert fp.b.c == (1,)
    with pytest.raises(ContractViolationError, match=r"Access denied: 'domain\.x'"):
        fp.x
    with pytest.raises(ContractViolationError, match=r"PURE Process cannot mutate state: 'domain\.a'"):
        fp.a = 3


def test_restricted_state_proxy_over_state_snapshot():
    engine = make_engine()
    view = RestrictedStateProxy(engine._core.state.restrict_view(), ["domain.a"])
    assert view.domain.a == 1 and view.version == 1
    with pytest.raises(AttributeError, match="'RestrictedStateProxy' object has no attribute 'signal'"):
        view.signal
    assert isinstance(engine._core.state, theus_core.State)
