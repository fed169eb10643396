"""The TheusEngine wrapper: constructor, flags (D12), registry, execute() (core.md §3, §15 A/E)."""
import asyncio
import threading

import pytest

import theus_core
from theus import RetryPolicy, TheusEngine, process
from theus.contracts import ContractViolationError, SemanticType
from theus.structures import ContextError, StateUpdate


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


def counter_engine(n=0, **kw):
    return TheusEngine({"domain": {"n": n}}, **kw)


# ---- constructor and flags (§3.1, §3.2) ---------------------------------------------------------


def test_constructor_rejects_strict_mode_keyword():
    with pytest.raises(TypeError):
        TheusEngine({"domain": {}}, strict_mode=True)


def test_context_is_the_first_positional_parameter():
    engine = TheusEngine({"domain": {"n": 3}})
    assert engine.state.data["domain"]["n"] == 3


def test_default_flags_are_strict_guards_on_strict_cas_off():
    engine = TheusEngine()
    assert engine.strict_guards is True
    assert engine.strict_cas is False


def test_raw_core_engine_defaults_to_non_strict_guards():
    core = theus_core.TheusEngine()
    assert core.strict_guards is False
    assert core.strict_cas is False
    assert core.state.version == 0


def test_constructor_flags_reach_the_core():
    engine = TheusEngine(strict_guards=False, strict_cas=True)
    assert engine._core.strict_guards is False
    assert engine._core.strict_cas is True


def test_property_setter_changes_wrapper_core_and_private_flags():
    engine = TheusEngine()
    engine.strict_cas = True
    engine.strict_guards = False
    assert (engine.strict_cas, engine._strict_cas, engine._core.strict_cas) == (True, True, True)
    assert (engine.strict_guards, engine._strict_guards, engine._core.strict_guards) == (False, False, False)


def test_delegated_setters_keep_properties_in_sync_d12():
    engine = TheusEngine()
    engine.set_strict_cas(True)
    engine.set_strict_guards(False)
    assert engine.strict_cas is True and engine._strict_cas is True
    assert engine.strict_guards is False and engine._strict_guards is False


def test_delegated_strict_guards_setter_changes_effective_policy_d12():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def sneaky(ctx):
        ctx.domain.other = 1

    engine = counter_engine()
    engine.set_strict_guards(False)
    engine.execute_sync(sneaky)  # rule C skipped: undeclared write committed
    assert engine.state.data["domain"]["other"] == 1


def test_write_timeout_ms_argument_limits_execute():
    import time

    @process(outputs=["domain.n"])
    def slow(ctx):
        time.sleep(0.02)
        return 5

    engine = counter_engine(write_timeout_ms=0)
    before = engine.state
    with pytest.raises(theus_core.WriteTimeoutError, match="Transaction timed out after"):
        engine.execute_sync(slow)
    assert engine.state is before


def test_write_timeout_env_variable_is_read_by_constructor(monkeypatch):
    import time

    @process(outputs=["domain.n"])
    def slow(ctx):
        time.sleep(0.02)
        return 5

    monkeypatch.setenv("THEUS_WRITE_TIMEOUT_MS", "0")
    engine = counter_engine()
    with pytest.raises(theus_core.WriteTimeoutError):
        engine.execute_sync(slow)
    assert engine.state.data["domain"]["n"] == 0


def test_parallel_pool_is_none_after_construction():
    engine = TheusEngine()
    assert engine._parallel_pool is None


def test_getattr_delegates_missing_attributes_to_core():
    engine = TheusEngine()
    for name in ("report_conflict", "report_success", "execute_process_async", "set_audit_system", "outbox"):
        assert hasattr(engine, name), name
    assert isinstance(engine.outbox, theus_core.OutboxCollector)


def test_log_prints_to_stderr(capsys):
    TheusEngine().log("hello", 42)
    captured = capsys.readouterr()
    assert "hello 42" in captured.err
    assert captured.out == ""


# ---- registry (§3.3, §3.4 step 1) -------------------------------------------------------------


def test_execute_by_registered_name():
    engine = counter_engine()
    engine.register(inc)
    assert engine.execute_sync("inc") == 1
    assert engine.state.data["domain"]["n"] == 1


def test_register_overwrites_by_function_name():
    @process(outputs=["domain.n"])
    def job(ctx):
        return 1

    first = job

    @process(outputs=["domain.n"])
    def job(ctx):  # noqa: F811 - same __name__ on purpose
        return 2

    engine = counter_engine()
    engine.register(first)
    engine.register(job)
    engine.execute_sync("job")
    assert engine.state.data["domain"]["n"] == 2


def test_unregistered_callable_runs_directly():
    engine = counter_engine()
    assert engine.execute_sync(inc) == 1
    assert "inc" not in engine._registry


def test_register_refuses_pure_process_with_signal_input():
    @process(inputs=["signal.ping"], outputs=[], semantic=SemanticType.PURE)
    def listener(ctx):
        return None

    engine = TheusEngine()
    with pytest.raises(ContractViolationError, match=r"Pure process cannot take inputs from Zone: Signal/Meta \(Found: signal.ping\)"):
        engine.register(listener)
    assert "listener" not in engine._registry


def test_pure_firewall_applies_to_unregistered_callables():
    @process(inputs=["domain.meta_info"], outputs=[], semantic=SemanticType.PURE)
    def peek(ctx):
        return None

    engine = TheusEngine({"domain": {"meta_info": 1}})
    with pytest.raises(ContractViolationError, match="Pure process cannot take inputs from Zone"):
        engine.execute_sync(peek)


def test_scan_and_register_ignores_non_directory(tmp_path):
    engine = TheusEngine()
    engine.scan_and_register(str(tmp_path / "missing"))
    assert engine._registry == {}


def test_scan_and_register_registers_contract_carrying_functions(tmp_path):
    (tmp_path / "procs_mod_a.py").write_text(
        "from theus import process\n"
        "@process(inputs=['domain.n'], outputs=['domain.n'])\n"
        "def bump(ctx):\n    return ctx.domain.n + 10\n"
        "def helper(ctx):\n    return 0\n"
    )
    (tmp_path / "__init__.py").write_text("raise RuntimeError('must be skipped')\n")
    engine = counter_engine()
    engine.scan_and_register(str(tmp_path))
    assert set(engine._registry) == {"bump"}
    assert engine.execute_sync("bump") == 10


# ---- execute() (§3.4, §3.5) -------------------------------------------------------------------


def test_execute_sync_and_await_execute_commit_the_same_way(run):
    engine = counter_engine()
    assert engine.execute_sync(inc) == 1
    assert run(engine.execute(inc)) == 2
    assert engine.state.version == 3


def test_retries_keyword_is_never_passed_to_the_process():
    seen = {}

    @process(outputs=["domain.n"])
    def capture(ctx, **kwargs):
        seen.update(kwargs)
        return 1

    engine = counter_engine()
    engine.execute_sync(capture, retries=3, a=1)
    assert seen == {"a": 1}


def test_positional_and_keyword_arguments_reach_the_process():
    @process(outputs=["domain.n"])
    def put(ctx, a, b=0):
        return a * 10 + b

    engine = counter_engine()
    assert engine.execute_sync(put, 4, b=2) == 42
    assert engine.state.data["domain"]["n"] == 42


def test_sync_process_runs_inline_on_calling_thread_d14():
    threads = []

    @process(outputs=["domain.n"])
    def where(ctx):
        threads.append(threading.get_ident())
        return 1

    engine = counter_engine()
    engine.execute_sync(where)
    assert threads == [threading.get_ident()]


async def test_awaited_sync_process_runs_inline_on_loop_thread_d14():
    threads = []

    @process(outputs=["domain.n"])
    def where(ctx):
        threads.append(threading.get_ident())
        return 1

    engine = counter_engine()
    await engine.execute(where)
    assert threads == [threading.get_ident()]


async def test_async_process_runs_on_callers_event_loop():
    loops = []

    @process(outputs=["domain.n"])
    async def where(ctx):
        loops.append(asyncio.get_running_loop())
        return 1

    engine = counter_engine()
    await engine.execute(where)
    assert loops == [asyncio.get_running_loop()]


def test_execute_sync_runs_async_process_outside_an_event_loop():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    async def ainc(ctx):
        await asyncio.sleep(0)
        return ctx.domain.n + 1

    engine = counter_engine(5)
    assert engine.execute_sync(ainc) == 6
    assert engine.state.data["domain"]["n"] == 6


def test_run_process_sync_runs_a_registered_process():
    engine = counter_engine()
    engine.register(inc)
    assert engine._run_process_sync("inc") == 1


async def test_run_process_sync_refuses_inside_a_running_loop():
    engine = counter_engine()
    engine.register(inc)
    with pytest.raises(RuntimeError):
        engine._run_process_sync("inc")
    assert engine.state.data["domain"]["n"] == 0


def test_process_exception_propagates_unchanged_and_commits_nothing():
    boom = KeyError("boom")

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def failing(ctx):
        ctx.domain.n = 99
        raise boom

    engine = counter_engine()
    before = engine.state
    with pytest.raises(KeyError) as info:
        engine.execute_sync(failing)
    assert info.value is boom
    assert engine.state is before
    assert engine.state.data["domain"]["n"] == 0


def test_return_value_is_deep_unwrapped_and_detached():
    @process(inputs=["domain.orders"], outputs=["domain.orders"])
    def add(ctx):
        ctx.domain.orders.append("x")
        return {"copy": ctx.domain.orders}

    engine = TheusEngine({"domain": {"orders": []}})
    result = engine.execute_sync(add)
    assert type(result["copy"]) is list
    assert result["copy"] == ["x"]
    result["copy"].append("mutated")
    assert list(engine.state.data["domain"]["orders"]) == ["x"]


def test_every_successful_execute_adds_exactly_one_version():
    engine = counter_engine()
    for _ in range(5):
        engine.execute_sync(inc)
    assert engine.state.version == 6


def test_process_writing_nothing_still_commits_one_version():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def reader(ctx):
        assert ctx.domain.n == 0

    engine = counter_engine()
    engine.execute_sync(reader)
    assert engine.state.version == 2
    assert engine.state.data["domain"]["n"] == 0


def test_local_scratch_is_never_committed():
    @process(inputs=["local"], outputs=["domain.n", "local"])
    def scratch(ctx):
        ctx.local["tmp"] = 1
        return None

    engine = counter_engine()
    engine.execute_sync(scratch)
    assert "local" not in engine.state.data
    assert "local" not in engine.state.data.to_dict()


def test_state_update_return_sets_key_and_data():
    @process(outputs=["domain.n", "domain.label"])
    def upd(ctx):
        return StateUpdate(key="domain.n", val=7, data={"domain.label": "x"})

    engine = counter_engine()
    engine.execute_sync(upd)
    assert engine.state.data["domain"].to_dict() == {"n": 7, "label": "x"}


def test_state_update_outside_outputs_is_refused():
    @process(outputs=["domain.n"])
    def upd(ctx):
        return StateUpdate(data={"domain.secret": 1})

    engine = counter_engine()
    with pytest.raises(PermissionError, match="Write permission denied for path 'domain.secret'"):
        engine.execute_sync(upd)
    assert engine.state.version == 1


def test_state_update_assert_version_mismatch_is_a_conflict():
    @process(outputs=["domain.n"])
    def upd(ctx):
        return StateUpdate(key="domain.n", val=1, assert_version=99)

    engine = counter_engine(retry_policy=RetryPolicy(max_attempts=2))
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        engine.execute_sync(upd)
    assert engine.state.version == 1


# ---- worked examples A and E (§15) ------------------------------------------------------------


@process(inputs=["domain.n"], outputs=["domain.n"])
def put(ctx, v):
    return v


@process(inputs=["domain.n"], outputs=["domain.n"])
def put_proxy(ctx, v):
    ctx.domain.n = v
    return "ack"


def test_example_a_return_value_sets_the_output():
    engine = counter_engine()
    engine.execute_sync(put, v=5)
    assert engine.state.data["domain"]["n"] == 5


def test_example_a_proxy_write_wins_over_return_value():
    engine = counter_engine()
    assert engine.execute_sync(put_proxy, v=6) == "ack"
    assert engine.state.data["domain"]["n"] == 6


def test_example_e_deletes_persist_d5():
    @process(inputs=["domain.cache"], outputs=["domain.cache"])
    def evict(ctx):
        ctx.domain.cache.pop("old", None)

    engine = TheusEngine({"domain": {"cache": {"old": 1, "new": 2}}})
    engine.execute_sync(evict)
    assert engine.state.data["domain"]["cache"].to_dict() == {"new": 2}


def test_example_e_undeclared_read_is_refused_d6():
    @process(inputs=["domain.cache"], outputs=["domain.cache"])
    def peek(ctx):
        return ctx.domain.secret

    engine = TheusEngine({"domain": {"cache": {}, "secret": "s"}})
    with pytest.raises(PermissionError, match=r"Illegal Read: Path 'domain.secret' is restricted by Process Contract."):
        engine.execute_sync(peek)
    assert engine.state.version == 1
