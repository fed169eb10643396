"""Documentation vs behaviour (core.md §16), plus the invariants of §1 not covered elsewhere."""
import inspect

import pytest

import theus.context
from theus import TheusEngine, process
from theus.contracts import ProcessContract, SemanticType
from theus.engine import RestrictedStateProxy, StateView
from theus.structures import StateUpdate


def test_engine_state_is_a_state_view_not_a_restricted_proxy():
    engine = TheusEngine({"domain": {"n": 0}})
    assert isinstance(engine.state, StateView)
    assert not isinstance(engine.state, RestrictedStateProxy)


def test_execute_workflow_is_a_coroutine_function():
    assert inspect.iscoroutinefunction(TheusEngine.execute_workflow)


def test_state_update_heavy_is_written_to_the_heavy_zone_d8():
    blob = bytearray(b"payload")

    @process(outputs=["heavy.blob"])
    def publish(ctx):
        return StateUpdate(heavy={"blob": blob})

    engine = TheusEngine({"domain": {"n": 0}})
    engine.execute_sync(publish)
    assert engine.state.heavy["blob"] is blob
    assert "heavy" not in engine.state.data


def test_state_update_heavy_outside_outputs_is_refused():
    @process(outputs=["domain.n"])
    def publish(ctx):
        return StateUpdate(heavy={"blob": b"x"})

    engine = TheusEngine({"domain": {"n": 0}})
    with pytest.raises(PermissionError, match="Write permission denied for path 'heavy.blob'"):
        engine.execute_sync(publish)
    assert "blob" not in engine.state.heavy


def test_writing_an_input_only_path_is_a_permission_error_at_write_time():
    reached = []

    @process(inputs=["domain.n"], outputs=[])
    def writer(ctx):
        try:
            ctx.domain.n = 5
        finally:
            reached.append("after-write")

    engine = TheusEngine({"domain": {"n": 0}})
    with pytest.raises(PermissionError, match="PURE process cannot write to 'domain.n'"):
        engine.execute_sync(writer)
    assert reached == ["after-write"]
    assert engine.state.data["domain"]["n"] == 0


def test_there_is_no_context_locked_error():
    assert not hasattr(theus.context, "ContextLockedError")


def test_user_context_objects_stay_freely_mutable():
    ctx = theus.context.BaseSystemContext(domain={"n": 0})
    engine = TheusEngine(ctx)
    ctx.domain = {"n": 99}
    ctx.anything = 1
    assert engine.state.data["domain"]["n"] == 0


def test_global_layer_is_reachable_by_getattr_and_global_ctx():
    seen = []

    @process(inputs=["global.limit"], outputs=[])
    def read_global(ctx):
        seen.append((getattr(ctx, "global").limit, ctx.global_ctx.limit))

    engine = TheusEngine({"domain": {"n": 0}, "global": {"limit": 3}})
    engine.execute_sync(read_global)
    assert seen == [(3, 3)]


def test_errors_metadata_does_not_swallow_exceptions():
    @process(outputs=["domain.n"], errors=[ValueError])
    def failing(ctx):
        raise ValueError("still raised")

    engine = TheusEngine({"domain": {"n": 0}})
    with pytest.raises(ValueError, match="still raised"):
        engine.execute_sync(failing)
    assert failing._pop_contract.errors == [ValueError]


def test_process_contract_class_default_is_pure_but_decorator_default_is_effect():
    assert ProcessContract([], []).semantic == SemanticType.PURE

    @process(outputs=["domain.n"])
    def job(ctx):
        return 1

    assert job._pop_contract.semantic == SemanticType.EFFECT


# ---- §1 invariants ------------------------------------------------------------------------------


def test_process_reads_a_stable_snapshot_plus_its_own_writes_i8():
    engine = TheusEngine({"domain": {"n": 0, "m": 0}})
    seen = []

    @process(inputs=["domain.m"], outputs=["domain.n"])
    def observer(ctx):
        engine.compare_and_swap(engine.state.version, data={"domain": {"m": 7}})
        seen.append(ctx.domain.m)  # still the base version's value
        ctx.domain.n = 5
        seen.append(ctx.domain.n)  # own write

    engine.execute_sync(observer)
    assert seen == [0, 5]
    assert engine.state.data["domain"].to_dict() == {"n": 5, "m": 7}


def test_each_successful_commit_path_adds_exactly_one_version_i2_i3():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def inc(ctx):
        return ctx.domain.n + 1

    engine = TheusEngine({"domain": {"n": 0}})
    engine.execute_sync(inc)
    with engine.transaction() as tx:
        tx.update(data={"x": 1})
    engine.compare_and_swap(engine.state.version, data={"y": 2})
    with engine.edit():
        pass
    assert engine.state.version == 5


def test_failed_attempts_never_change_anything_i2():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def fails(ctx):
        ctx.domain.n = 10
        ctx.outbox.add(theus.contracts.OutboxMsg("t", 1))
        raise RuntimeError("x")

    engine = TheusEngine({"domain": {"n": 0}})
    before = engine.state
    stats = engine._core._stats()
    with pytest.raises(RuntimeError):
        engine.execute_sync(fails)
    assert engine.state is before
    assert engine.outbox.len() == 0
    assert engine._core._stats()["commits"] == stats["commits"]
