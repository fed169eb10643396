"""Bad input: each case raises the spec's exception, with a message naming what is wrong, and leaves
the engine state unchanged (core.md §3.4, §4.1, §5.7, §7.2-7.5, §14)."""
import pytest

from theus import TheusEngine, process
from theus.contracts import ContractViolationError, ProcessContract
from theus.structures import ContextError, StateUpdate


class Unclonable:
    def __deepcopy__(self, memo):
        raise ValueError("refuses to be copied")


ISOLATION = "Transaction isolation failure: cannot deepcopy object of type 'Unclonable"


@pytest.fixture
def engine():
    return TheusEngine({"domain": {"n": 0}})


def assert_unchanged(engine, before):
    assert engine.state is before
    assert engine.state.version == 1
    assert engine.state.data.to_dict() == {"domain": {"n": 0}}


# ---- unknown process / bad process argument --------------------------------------------------------


def test_unknown_process_name_raises_value_error_naming_it(engine):
    before = engine.state
    with pytest.raises(ValueError, match=r"^Process 'nope' not found in registry$"):
        engine.execute_sync("nope")
    assert_unchanged(engine, before)


async def test_unknown_process_name_raises_from_awaited_execute(engine):
    before = engine.state
    with pytest.raises(ValueError, match="Process 'ghost' not found in registry"):
        await engine.execute("ghost")
    assert_unchanged(engine, before)


@pytest.mark.parametrize("bad", [5, None])
def test_non_callable_process_argument_raises_type_error(engine, bad):
    before = engine.state
    with pytest.raises(TypeError, match=type(bad).__name__):
        engine.execute_sync(bad)
    assert_unchanged(engine, before)


# ---- bad contract paths ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["domain..x", "", "domain[", ".x", "domain.x."])
def test_malformed_contract_input_path_is_refused_naming_it(path):
    with pytest.raises((ValueError, ContractViolationError)) as info:
        process(inputs=[path], outputs=[])(lambda ctx: None)
    assert repr(path) in str(info.value) or f"'{path}'" in str(info.value)


def test_malformed_contract_output_path_is_refused_naming_it():
    with pytest.raises((ValueError, ContractViolationError), match=r"domain\.\.out"):
        process(inputs=["domain.n"], outputs=["domain..out"])(lambda ctx: None)


def test_non_string_contract_path_is_refused():
    with pytest.raises((TypeError, ValueError, ContractViolationError)):
        process(inputs=[5], outputs=[])(lambda ctx: None)


def test_manually_attached_bad_contract_fails_execute_and_keeps_state(engine):
    def raw(ctx):
        return 1

    raw._pop_contract = ProcessContract(["domain.n"], ["domain..n"], semantic="effect")
    before = engine.state
    with pytest.raises((ValueError, ContractViolationError), match=r"domain\.\.n"):
        engine.execute_sync(raw)
    assert_unchanged(engine, before)


def test_multi_output_scalar_return_names_process_and_type(engine):
    @process(inputs=["domain.n"], outputs=["domain.n", "domain.m"])
    def two(ctx):
        return 5

    before = engine.state
    with pytest.raises(ContractViolationError) as info:
        engine.execute_sync(two)
    message = str(info.value)
    assert "two" in message and "declares 2 outputs" in message and "returned a single" in message and "int" in message
    assert_unchanged(engine, before)


def test_undeclared_write_names_process_and_path(engine):
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def sneaky(ctx):
        ctx.domain.other = 1

    before = engine.state
    with pytest.raises(ContractViolationError, match=r"Process 'sneaky' modified 'domain.other' which is NOT declared in outputs."):
        engine.execute_sync(sneaky)
    assert_unchanged(engine, before)


# ---- non-dict updates ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [[1], "x", 3])
def test_non_dict_tx_update_raises_context_error(engine, bad):
    before = engine.state
    with pytest.raises(ContextError, match="^update data must be a dict"):
        with engine.transaction() as tx:
            tx.update(data=bad)
    assert_unchanged(engine, before)


def test_non_dict_heavy_update_raises_context_error(engine):
    before = engine.state
    with pytest.raises(ContextError, match="^heavy update data must be a dict"):
        with engine.transaction() as tx:
            tx.update(heavy="x")
    assert_unchanged(engine, before)


def test_non_dict_update_inside_a_process_propagates_without_retry(engine):
    attempts = []

    @process(inputs=["transaction"], outputs=["domain.n"])
    def bad_update(ctx):
        attempts.append(1)
        ctx.transaction.update(data="x")

    before = engine.state
    with pytest.raises(ContextError, match="update data must be a dict"):
        engine.execute_sync(bad_update)
    assert attempts == [1]
    assert_unchanged(engine, before)


@pytest.mark.parametrize("kwargs", [{"data": [1]}, {"data": "x"}, {"heavy": [1]}])
def test_non_dict_cas_payload_is_refused_naming_the_argument(engine, kwargs):
    before = engine.state
    with pytest.raises((ContextError, TypeError)) as info:
        engine.compare_and_swap(1, **kwargs)
    assert next(iter(kwargs)) in str(info.value) and "dict" in str(info.value)
    assert_unchanged(engine, before)


def test_non_dict_state_update_data_is_refused(engine):
    @process(outputs=["domain.n"])
    def bad(ctx):
        return StateUpdate(data=[1])

    before = engine.state
    with pytest.raises((ContextError, TypeError), match="dict"):
        engine.execute_sync(bad)
    assert_unchanged(engine, before)


# ---- values that cannot be stored --------------------------------------------------------------


def test_unclonable_proxy_assignment_names_type_and_path(engine):
    @process(outputs=["domain.bad"])
    def store(ctx):
        ctx.domain.bad = Unclonable()

    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        engine.execute_sync(store)
    assert_unchanged(engine, before)


def test_unclonable_return_value_names_type_and_path(engine):
    @process(outputs=["domain.bad"])
    def store(ctx):
        return Unclonable()

    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        engine.execute_sync(store)
    assert_unchanged(engine, before)


def test_unclonable_state_update_value_names_type_and_path(engine):
    @process(outputs=["domain.bad"])
    def store(ctx):
        return StateUpdate(data={"domain.bad": Unclonable()})

    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        engine.execute_sync(store)
    assert_unchanged(engine, before)


def test_unclonable_nested_tx_update_names_type_and_path(engine):
    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        with engine.transaction() as tx:
            tx.update(data={"domain": {"bad": Unclonable()}})
    assert_unchanged(engine, before)


def test_unclonable_dotted_tx_update_names_type_and_path(engine):
    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        with engine.transaction() as tx:
            tx.update(data={"domain.bad": Unclonable()})
    assert_unchanged(engine, before)


def test_unclonable_cas_value_names_type_and_path(engine):
    before = engine.state
    with pytest.raises(RuntimeError, match=rf"{ISOLATION}' at path 'domain.bad'"):
        engine.compare_and_swap(1, data={"domain": {"bad": Unclonable()}})
    assert_unchanged(engine, before)


def test_isolation_failure_suggests_the_heavy_zone(engine):
    with pytest.raises(RuntimeError, match="heavy"):
        engine.compare_and_swap(1, data={"domain.bad": Unclonable()})


def test_unclonable_value_is_accepted_in_the_heavy_zone(engine):
    value = Unclonable()
    engine.compare_and_swap(1, heavy={"blob": value})
    assert engine.state.heavy["blob"] is value


def test_isolation_failure_is_not_retried(engine):
    attempts = []

    @process(outputs=["domain.bad"])
    def store(ctx):
        attempts.append(1)
        return Unclonable()

    with pytest.raises(RuntimeError):
        engine.execute_sync(store)
    assert attempts == [1]
    assert engine._core._stats()["retries"] == 0


# ---- engine arguments -----------------------------------------------------------------------------


def test_cas_signal_of_wrong_type_is_refused(engine):
    before = engine.state
    with pytest.raises(TypeError, match="signal"):
        engine.compare_and_swap(1, signal=5)
    assert_unchanged(engine, before)


def test_unknown_constructor_keyword_is_refused():
    with pytest.raises(TypeError, match="strict_mode"):
        TheusEngine({"domain": {}}, strict_mode=False)
