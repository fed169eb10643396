"""Core engine members (core.md §6.1-6.2), execute_process_async (§6.5), State (§11.1),
ProcessContext (§11.4), MetaLogEntry (§11.6)."""
import asyncio
import threading

import pytest

import theus_core
from theus import TheusEngine
from theus.structures import ContextError, FrozenDict, State


# ---- the core engine (§6.1, §6.2) ------------------------------------------------------------------


def test_core_engine_starts_at_version_zero_and_is_subclassable():
    class Mine(theus_core.TheusEngine):
        pass

    core = Mine()
    assert core.state.version == 0
    assert list(core.state.data.keys()) == []


def test_core_engine_state_is_the_same_object_until_the_next_commit():
    core = theus_core.TheusEngine()
    first = core.state
    assert core.state is first
    core.compare_and_swap(0, data={"x": 1})
    assert core.state is not first


def test_core_engine_outbox_is_a_new_collector_over_one_queue():
    core = theus_core.TheusEngine()
    a, b = core.outbox, core.outbox
    assert a is not b
    a.add(theus_core.OutboxMsg("t", 1))
    assert b.len() == 1


def test_core_engine_set_audit_system_accepts_any_object():
    core = theus_core.TheusEngine()
    core.set_audit_system(object())
    core.set_audit_system(None)


def test_core_transaction_factory_binds_to_the_engine():
    core = theus_core.TheusEngine()
    with core.transaction() as tx:
        tx.update(data={"x": 1})
    assert core.state.data["x"] == 1


def test_core_report_conflict_returns_retry_decision():
    core = theus_core.TheusEngine()
    decision = core.report_conflict("p")
    assert isinstance(decision, theus_core.RetryDecision)
    assert decision.should_retry is True


# ---- execute_process_async (§6.5) --------------------------------------------------------------------


async def test_execute_process_async_runs_sync_function_inline_on_awaiting_thread():
    engine = TheusEngine({"domain": {"n": 3}})
    threads = []

    def body(ctx):
        threads.append(threading.get_ident())
        return ctx.domain.n

    assert await engine.execute_process_async("p", body) == 3
    assert threads == [threading.get_ident()]


async def test_execute_process_async_awaits_coroutine_on_callers_loop():
    engine = TheusEngine({"domain": {"n": 3}})
    loops = []

    async def body(ctx):
        loops.append(asyncio.get_running_loop())
        return ctx.version

    assert await engine.execute_process_async("p", body) == 1
    assert loops == [asyncio.get_running_loop()]


async def test_execute_process_async_reads_the_tx_base_snapshot():
    engine = TheusEngine({"domain": {"n": 0}})
    tx = engine._core.transaction()
    tx.__enter__()
    engine.compare_and_swap(1, data={"domain": {"n": 5}})

    def body(ctx):
        return ctx.domain.n, ctx.version

    assert await engine.execute_process_async("p", body, tx) == (0, 1)


async def test_execute_process_async_without_tx_persists_nothing():
    engine = TheusEngine({"domain": {"n": 0}})

    def body(ctx):
        ctx.outbox.add(theus_core.OutboxMsg("t", 1))
        return ctx.domain.read_only

    assert await engine.execute_process_async("p", body) is True
    assert engine.state.version == 1
    assert engine.outbox.len() == 0


async def test_execute_process_async_outbox_shares_the_tx_buffer():
    engine = TheusEngine({"domain": {"n": 0}})
    tx = engine._core.transaction()
    tx.__enter__()

    def body(ctx):
        ctx.outbox.add(theus_core.OutboxMsg("t", 1))
        ctx.domain.n = 4

    await engine.execute_process_async("p", body, tx)
    assert tx.outbox.len() == 1
    assert engine.state.version == 1  # no commit by execute_process_async
    tx.__exit__(None, None, None)
    assert engine.state.data["domain"]["n"] == 4
    assert engine.outbox.len() == 1


# ---- ProcessContext (§11.4) ---------------------------------------------------------------------


def test_process_context_without_tx_has_read_only_domain_proxy():
    ctx = theus_core.ProcessContext(State(data={"domain": {"n": 1}}), {}, None)
    assert isinstance(ctx.domain, theus_core.SupervisorProxy)
    assert ctx.domain.path() == "domain"
    assert ctx.domain.read_only is True
    assert ctx.domain.capabilities == 15
    assert ctx.domain.n == 1


def test_process_context_with_tx_has_writable_proxies_recorded_on_the_tx():
    engine = TheusEngine({"domain": {"n": 0}, "global": {"g": 1}})
    tx = engine._core.transaction()
    tx.__enter__()
    ctx = theus_core.ProcessContext(engine._core.state, {}, tx)
    assert ctx.domain.read_only is False
    assert getattr(ctx, "global").path() == "global"
    ctx.domain.n = 5
    tx.__exit__(None, None, None)
    assert engine.state.data["domain"]["n"] == 5


def test_process_context_tx_and_transaction_are_the_tx():
    engine = TheusEngine({"domain": {"n": 0}})
    tx = engine._core.transaction()
    ctx = theus_core.ProcessContext(engine._core.state, {"k": 1}, tx)
    assert ctx.tx is tx and ctx.transaction is tx
    assert ctx.local == {"k": 1}


def test_process_context_outbox_is_an_outbox():
    ctx = theus_core.ProcessContext(State(data={"x": 1}), {}, None)
    outbox = ctx.outbox
    outbox.add(theus_core.OutboxMsg("t", 1))
    assert [m.topic for m in outbox.messages] == ["t"]


def test_process_context_aliases_and_state_fallback():
    state = State(data={"domain": {"n": 1}, "global": {"g": 2}})
    ctx = theus_core.ProcessContext(state, {}, None)
    assert ctx.domain_ctx.n == 1
    assert ctx.global_ctx.g == 2
    assert ctx.version == state.version
    assert ctx.data["domain"]["n"] == 1


def test_process_context_missing_layer_is_none_and_missing_attribute_raises():
    ctx = theus_core.ProcessContext(State(data={"x": 1}), {}, None)
    assert ctx.domain is None
    with pytest.raises(AttributeError, match="'ProcessContext' object has no attribute 'nope'"):
        ctx.nope


# ---- State (§11.1) --------------------------------------------------------------------------------


def test_state_defaults_to_version_one():
    assert State().version == 1
    assert State(data={"x": 1}, version=7).version == 7


def test_state_rejects_non_dict_data_and_heavy():
    with pytest.raises(TypeError):
        State(data=[1])
    with pytest.raises(TypeError):
        State(heavy="x")


def test_state_copies_data_in_d7():
    source = {"k": [1]}
    state = State(data={"d": source})
    source["k"].append(2)
    assert state.data["d"]["k"] == [1]


def test_state_keeps_heavy_objects_by_reference():
    buf = bytearray(b"x")
    state = State(heavy={"b": buf})
    assert state.heavy["b"] is buf


def test_state_update_returns_new_version_and_leaves_self_unchanged():
    state = State(data={"x": 1, "d": {"a": 1}})
    new = state.update(data={"x": 2, "d": {"b": 2}})
    assert (state.version, new.version) == (1, 2)
    assert state.data.to_dict() == {"x": 1, "d": {"a": 1}}
    assert new.data.to_dict() == {"x": 2, "d": {"a": 1, "b": 2}}


def test_state_update_shares_heavy_values_between_versions():
    marker = object()
    buf = bytearray(b"x")
    state = State(heavy={"o": marker, "b": buf})
    new = state.update(data={"x": 1})
    assert new.heavy["o"] is marker
    assert new.heavy["b"] is buf


def test_state_heavy_list_is_shared_by_reference():
    payload = [1, 2]
    state = State(heavy={"m": payload})
    assert id(state.heavy["m"]) == id(state.update(data={"x": 1}).heavy["m"])


def test_state_update_latches_signals_as_strings_without_publishing():
    state = State()
    rx = state.signal.subscribe()
    new = state.update(signal=[{"a": 1}, {"a": 2, "b": None}])
    assert new.signals.to_dict() == {"a": "2", "b": "None"}
    assert state.signals.to_dict() == {}
    state.signal.publish("marker")
    assert rx.recv() == "marker"


def test_state_update_rejects_non_dict_signal_elements():
    with pytest.raises(TypeError):
        State().update(signal=[{"a": 1}, 5])


def test_state_update_shares_hub_with_parent():
    state = State()
    rx = state.signal.subscribe()
    state.update(data={"x": 1}).signal.publish("shared")
    assert rx.recv() == "shared"


def test_directly_constructed_states_get_disconnected_hubs():
    a, b = State(), State()
    rx = a.signal.subscribe()
    assert b.signal.publish("elsewhere") == 0
    a.signal.publish("here")
    assert rx.recv() == "here"


def test_restrict_view_keeps_data_but_has_a_new_hub():
    state = State(data={"x": 1})
    view = state.restrict_view()
    rx = state.signal.subscribe()
    assert view.data["x"] == 1 and view.version == state.version
    assert view.signal.publish("isolated") == 0
    state.signal.publish("origin")
    assert rx.recv() == "origin"


def test_state_publish_signals_publishes_topic_payload():
    state = State()
    rx = state.signal.subscribe()
    state.publish_signals({"t": 1})
    state.publish_signals([{"u": "x"}])
    assert [rx.recv(), rx.recv()] == ["t:1", "u:x"]


def test_state_attribute_assignment_raises_context_error():
    state = State()
    with pytest.raises(ContextError, match=r"State is Immutable. Use .update\(\) to create a new version."):
        state.version = 5


def test_state_has_no_local_and_no_clear_meta_logs():
    state = State()
    for name in ("local", "clear_meta_logs"):
        with pytest.raises(AttributeError):
            getattr(state, name)


def test_state_domain_proxy_is_read_only_with_read_caps():
    state = State(data={"domain": {"n": 1}})
    for proxy in (state.domain, state.domain_proxy(), state.domain_proxy(read_only=False)):
        assert proxy.capabilities == 1
        with pytest.raises(PermissionError):
            proxy.n = 2
    assert State().domain is None


def test_state_data_is_a_new_frozen_dict_per_access():
    state = State(data={"x": 1})
    assert isinstance(state.data, FrozenDict)
    assert state.data is not state.data


def test_state_is_subclassable():
    class Mine(State):
        pass

    assert Mine(data={"x": 1}).data["x"] == 1


# ---- meta log (§11.6) -----------------------------------------------------------------------------


def test_meta_log_entry_fields_and_repr():
    state = State().update(data={"x": 1})
    entry = state.meta[-1]
    assert isinstance(entry, theus_core.MetaLogEntry)
    assert (entry.key, entry.message) == ("state_update", "State updated to version 2")
    assert isinstance(entry.timestamp, float)
    assert repr(entry).startswith("MetaLogEntry(time=")
    assert "key='state_update'" in repr(entry) or "key=state_update" in repr(entry)


def test_meta_log_is_shared_by_versions_and_drops_oldest_when_full():
    state = State(meta_capacity=3)
    for i in range(5):
        state.log_meta("k", f"m{i}")
    assert [m.message for m in state.get_meta_logs()] == ["m2", "m3", "m4"]
    new = state.update(data={"x": 1})
    assert [m.message for m in state.meta] == ["m3", "m4", "State updated to version 2"]
    assert [m.message for m in new.meta] == [m.message for m in state.meta]


def test_meta_capacity_zero_disables_the_log():
    state = State(meta_capacity=0)
    state.log_meta("k", "m")
    assert state.get_meta_logs() == []


def test_meta_log_entry_is_read_only():
    entry = State().update().meta[-1]
    with pytest.raises(AttributeError):
        entry.key = "x"
