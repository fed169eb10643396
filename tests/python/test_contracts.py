"""@process, ProcessContract, SemanticType, contract paths and matching (core.md §4.1-§4.3)."""
import inspect

import pytest

from theus import TheusEngine, process
from theus.contracts import ContractViolationError, ProcessContract, SemanticType
from theus.engine import RestrictedStateProxy


def make_engine(**kw):
    return TheusEngine({"domain": {"n": 0, "a": 1, "b": 2, "user": {"name": "x", "age": 3}},
                        "global": {"limit": 10}}, **kw)


# ---- decorator forms -------------------------------------------------------------------------


def test_decorator_attaches_contract_with_declared_paths():
    @process(inputs=["domain.a"], outputs=["domain.b"], errors=[ValueError], side_effects=["email"])
    def f(ctx):
        pass

    c = f._pop_contract
    assert isinstance(c, ProcessContract)
    assert c.inputs == ["domain.a"]
    assert c.outputs == ["domain.b"]
    assert c.errors == [ValueError]
    assert c.side_effects == ["email"]
    assert c.parallel is False


def test_decorator_default_semantic_is_effect():
    @process(inputs=["domain.a"])
    def f(ctx):
        pass

    assert f._pop_contract.semantic == SemanticType.EFFECT


def test_decorator_defaults_are_empty_lists():
    @process()
    def f(ctx):
        pass

    c = f._pop_contract
    assert (c.inputs, c.outputs, c.errors, c.side_effects) == ([], [], [], [])


def test_bare_decorator_gives_empty_effect_contract():
    @process
    def f(ctx):
        return 5

    c = f._pop_contract
    assert c.inputs == [] and c.outputs == []
    assert c.semantic == SemanticType.EFFECT
    assert f(object()) == 5


def test_contract_is_same_object_on_wrapper_and_original():
    @process(inputs=["domain.a"])
    def f(ctx):
        pass

    assert f.__wrapped__._pop_contract is f._pop_contract


def test_wrapper_keeps_function_metadata():
    @process(inputs=["domain.a"])
    def my_proc(ctx):
        """Docstring."""

    assert my_proc.__name__ == "my_proc"
    assert my_proc.__doc__ == "Docstring."
    assert my_proc.__qualname__.endswith("my_proc")


def test_wrapper_keeps_sync_nature():
    @process(inputs=["domain.a"])
    def f(ctx):
        pass

    assert not inspect.iscoroutinefunction(f)


def test_wrapper_keeps_async_nature():
    @process(inputs=["domain.a"])
    async def f(ctx):
        pass

    assert inspect.iscoroutinefunction(f)


def test_plain_function_with_manual_contract_is_a_process():
    def manual(ctx):
        return ctx.domain.n + 5

    manual._pop_contract = ProcessContract(["domain.n"], ["domain.n"], SemanticType.EFFECT)
    engine = make_engine()
    assert engine.execute_sync(manual) == 5
    assert engine.state.data["domain"]["n"] == 5


def test_registration_keys_on_function_name():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def bump(ctx):
        return ctx.domain.n + 1

    engine = make_engine()
    engine.register(bump)
    engine.execute_sync("bump")
    assert engine.state.data["domain"]["n"] == 1


def test_unknown_registered_name_raises_value_error():
    engine = make_engine()
    with pytest.raises(ValueError, match="Process 'nope' not found in registry"):
        engine.execute_sync("nope")


# ---- keyword filtering -----------------------------------------------------------------------


def test_unknown_kwargs_are_dropped_on_direct_call():
    @process()
    def f(ctx, a, b=2):
        return (a, b)

    assert f(None, a=1, zzz=9) == (1, 2)


def test_var_kwargs_function_receives_every_kwarg():
    @process()
    def f(ctx, **kw):
        return kw

    assert f(None, a=1, zzz=9) == {"a": 1, "zzz": 9}


def test_positionals_pass_through():
    @process()
    def f(ctx, *args):
        return args

    assert f(None, 1, 2, 3) == (1, 2, 3)


def test_engine_execute_drops_unknown_kwargs():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def put(ctx, v):
        return v

    engine = make_engine()
    engine.execute_sync(put, v=7, junk="ignored")
    assert engine.state.data["domain"]["n"] == 7


async def test_async_process_drops_unknown_kwargs():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    async def put(ctx, v):
        return v

    engine = make_engine()
    await engine.execute(put, v=8, junk="ignored")
    assert engine.state.data["domain"]["n"] == 8


def test_retries_kwarg_is_never_passed_to_the_process():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def put(ctx, **kw):
        return 100 + len(kw)

    engine = make_engine()
    engine.execute_sync(put, retries=3)
    assert engine.state.data["domain"]["n"] == 100


# ---- multi-output return check --------------------------------------------------------------


def test_multi_output_scalar_return_raises_contract_violation():
    @process(inputs=["domain.a"], outputs=["domain.a", "domain.b"])
    def two(ctx):
        return 5

    engine = make_engine()
    before = engine.state
    with pytest.raises(ContractViolationError) as exc:
        engine.execute_sync(two)
    msg = str(exc.value)
    assert "two" in msg
    assert "declares 2 outputs" in msg
    assert "returned a single" in msg
    assert "int" in msg
    assert engine.state is before
    assert engine.state.version == 1


async def test_multi_output_scalar_return_raises_for_async_process():
    @process(inputs=["domain.a"], outputs=["domain.a", "domain.b"])
    async def two_async(ctx):
        return "s"

    engine = make_engine()
    before = engine.state
    with pytest.raises(ContractViolationError, match="returned a single"):
        await engine.execute(two_async)
    assert engine.state is before


def test_multi_output_scalar_return_raises_on_direct_call():
    @process(outputs=["domain.a", "domain.b"])
    def two(ctx):
        return 1.5

    with pytest.raises(ContractViolationError, match="declares 2 outputs"):
        two(None)


@pytest.mark.parametrize("value", [None, (1, 2), [1, 2], {"a": 1}])
def test_multi_output_accepts_none_tuple_list_dict(value):
    @process(outputs=["domain.a", "domain.b"])
    def two(ctx):
        return value

    assert two(None) == value


def test_single_output_may_return_any_value():
    @process(inputs=["domain.a"], outputs=["domain.a"])
    def one(ctx):
        return {1, 2}

    engine = make_engine()
    engine.execute_sync(one)
    assert engine.state.data["domain"]["a"] == {1, 2}


def test_process_exception_propagates_unchanged():
    err = KeyError("boom")

    @process(inputs=["domain.a"], outputs=["domain.a"])
    def bad(ctx):
        ctx.domain.a = 99
        raise err

    engine = make_engine()
    before = engine.state
    with pytest.raises(KeyError) as exc:
        engine.execute_sync(bad)
    assert exc.value is err
    assert engine.state is before
    assert engine.state.data["domain"]["a"] == 1


# ---- ProcessContract and SemanticType --------------------------------------------------------


def test_process_contract_class_default_is_pure():
    c = ProcessContract(["domain.a"], [])
    assert c.semantic == SemanticType.PURE
    assert c.errors == [] and c.side_effects == [] and c.parallel is False


def test_semantic_type_values_and_str_enum():
    assert SemanticType.PURE.value == "pure"
    assert SemanticType.EFFECT.value == "effect"
    assert SemanticType.GUIDE.value == "guide"
    assert isinstance(SemanticType.PURE, str)
    assert SemanticType.PURE == "pure"


def test_plain_string_pure_semantic_gives_restricted_view():
    seen = {}

    @process(inputs=["domain.a"], semantic="pure")
    def f(ctx):
        seen["ctx"] = ctx

    make_engine().execute_sync(f)
    assert isinstance(seen["ctx"], RestrictedStateProxy)


def test_guide_semantic_behaves_like_effect():
    @process(inputs=["domain.n"], outputs=["domain.n"], semantic=SemanticType.GUIDE)
    def g(ctx):
        ctx.domain.n = 3

    engine = make_engine()
    engine.execute_sync(g)
    assert engine.state.data["domain"]["n"] == 3


def test_errors_metadata_does_not_filter_exceptions():
    @process(inputs=["domain.a"], errors=[ValueError])
    def f(ctx):
        raise RuntimeError("not declared")

    with pytest.raises(RuntimeError, match="not declared"):
        make_engine().execute_sync(f)


# ---- contract path validation ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["domain..x", "", ".x", "domain.a["])
def test_malformed_contract_path_rejected_at_decoration(bad):
    with pytest.raises(ValueError) as exc:
        @process(inputs=["domain.ok", bad])
        def f(ctx):
            pass
    assert repr(bad)[1:-1] in str(exc.value) or bad in str(exc.value)


def test_malformed_output_path_rejected_at_decoration():
    with pytest.raises(ValueError, match=r"domain\.\.y"):
        @process(outputs=["domain..y"])
        def f(ctx):
            pass


# ---- paths and matching (§4.3) ---------------------------------------------------------------


def test_function_without_contract_cannot_read_any_root():
    def raw(ctx):
        return ctx.domain

    engine = make_engine()
    with pytest.raises(PermissionError, match="Illegal Read: 'domain'"):
        engine.execute_sync(raw)


def test_domain_ctx_alias_in_contract_covers_domain():
    @process(inputs=["domain_ctx.n"], outputs=["domain_ctx.n"])
    def f(ctx):
        ctx.domain.n = ctx.domain.n + 4

    engine = make_engine()
    engine.execute_sync(f)
    assert engine.state.data["domain"]["n"] == 4


def test_domain_ctx_attribute_is_alias_of_domain():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def f(ctx):
        ctx.domain_ctx.n = 6

    engine = make_engine()
    engine.execute_sync(f)
    assert engine.state.data["domain"]["n"] == 6
    assert "domain_ctx" not in engine.state.data


@pytest.mark.parametrize("alias", ["global_ctx", "global_", "global"])
def test_global_aliases_in_contract_cover_global(alias):
    @process(inputs=[f"{alias}.limit"], outputs=[f"{alias}.limit"])
    def f(ctx):
        g = ctx.global_ctx
        g.limit = g.limit + 1

    engine = make_engine()
    engine.execute_sync(f)
    assert engine.state.data["global"]["limit"] == 11
    assert "global_ctx" not in engine.state.data


def test_getattr_global_reads_global_zone():
    @process(inputs=["global.limit"])
    def f(ctx):
        return getattr(ctx, "global").limit

    assert make_engine().execute_sync(f) == 10


def test_bracket_form_in_contract_is_normalized():
    @process(inputs=["domain[user][name]"])
    def f(ctx):
        return ctx.domain.user.name

    assert make_engine().execute_sync(f) == "x"


def test_wildcard_pattern_covers_matching_keys():
    @process(inputs=["domain.use*"], outputs=["domain.user.n?me"])
    def f(ctx):
        ctx.domain.user.name = ctx.domain.user.name + "!"

    engine = make_engine()
    engine.execute_sync(f)
    assert engine.state.data["domain"]["user"]["name"] == "x!"


def test_star_spans_segments():
    @process(inputs=["domain*name"])
    def f(ctx):
        return ctx.domain.user.name

    assert make_engine().execute_sync(f) == "x"


def test_wildcard_does_not_cover_non_matching_key():
    @process(inputs=["domain.u*"])
    def f(ctx):
        return ctx.domain.a

    with pytest.raises(PermissionError, match="Illegal Read: Path 'domain.a' is restricted by Process Contract."):
        make_engine().execute_sync(f)


def test_outputs_also_grant_read():
    @process(outputs=["domain.n"])
    def g(ctx):
        ctx.domain.n = ctx.domain.n + 2

    engine = make_engine()
    engine.execute_sync(g)
    assert engine.state.data["domain"]["n"] == 2
