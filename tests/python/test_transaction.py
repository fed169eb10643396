"""engine.transaction() and the core Transaction (core.md §3.6, §7, §15 D)."""
import copy
import pickle
import time

import pytest

import theus_core
from theus import TheusEngine, process
from theus.structures import ContextError


def make_engine(**domain):
    return TheusEngine({"domain": domain or {"a": 0}})


# ---- engine.transaction() (§3.6) ----------------------------------------------------------------


def test_transaction_yields_a_core_transaction():
    engine = make_engine()
    with engine.transaction() as tx:
        assert isinstance(tx, theus_core.Transaction)


def test_transaction_default_timeout_is_5000_ms():
    engine = make_engine()
    with engine.transaction() as tx:
        assert tx.write_timeout_ms == 5000
    with engine.transaction(write_timeout_ms=123) as tx:
        assert tx.write_timeout_ms == 123


def test_transaction_commits_one_version_on_normal_exit():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={"domain": {"a": 1}})
        tx.update(data={"x": 2})
    assert engine.state.version == 2
    assert engine.state.data.to_dict() == {"domain": {"a": 1}, "x": 2}


def test_empty_transaction_still_bumps_the_version():
    engine = make_engine()
    with engine.transaction():
        pass
    assert engine.state.version == 2


def test_example_d_rollback_keeps_state_identity():
    engine = make_engine()
    v = engine.state
    try:
        with engine.transaction() as tx:
            tx.update({"x": 1})
            raise ValueError
    except ValueError:
        pass
    assert engine.state is v
    assert "x" not in engine.state.data
    assert engine._core.state.version == 1


def test_rollback_drops_pending_signals():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with pytest.raises(ValueError):
        with engine.transaction() as tx:
            tx.update(data={"x": 1}, signal={"lost": 1})
            raise ValueError
    engine.state.signal.publish("marker")
    assert rx.recv() == "marker"


def test_rollback_drops_pending_outbox_messages():
    engine = make_engine()
    with pytest.raises(ValueError):
        with engine.transaction() as tx:
            tx.outbox.add(theus_core.OutboxMsg("t", 1))
            raise ValueError
    assert engine.outbox.drain() == []


def test_timeout_raises_write_timeout_error_and_commits_nothing():
    engine = make_engine()
    before = engine.state
    with pytest.raises(theus_core.WriteTimeoutError, match=r"Transaction timed out after .*ms \(limit 0ms\)"):
        with engine.transaction(write_timeout_ms=0) as tx:
            tx.update(data={"x": 1})
            time.sleep(0.02)
    assert engine.state is before


def test_commit_conflict_propagates_without_retry():
    engine = make_engine()
    with pytest.raises(ContextError, match=r"CAS Version Mismatch \(Conflict Detected\): Expected 1, Found 2 \(Keys Changed\)"):
        with engine.transaction() as tx:
            engine.compare_and_swap(1, data={"domain": {"a": 5}})
            tx.update(data={"domain": {"a": 6}})
    assert engine.state.data["domain"]["a"] == 5
    assert engine.state.version == 2


# ---- update() (§7.2, §7.5) -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [[1], "x", 5])
def test_update_with_non_dict_data_raises_context_error(bad):
    engine = make_engine()
    before = engine.state
    with pytest.raises(ContextError, match="update data must be a dict"):
        with engine.transaction() as tx:
            tx.update(data=bad)
    assert engine.state is before


def test_update_with_non_dict_heavy_raises_context_error():
    engine = make_engine()
    with pytest.raises(ContextError, match="heavy update data must be a dict"):
        with engine.transaction() as tx:
            tx.update(heavy=[1])
    assert engine.state.version == 1


def test_updates_merge_in_call_order_and_keep_siblings():
    engine = make_engine(a=0, b=0, c=0)
    with engine.transaction() as tx:
        tx.update(data={"domain": {"a": 1}})
        tx.update(data={"domain": {"b": 2}})
        tx.update(data={"domain": {"a": 3}})
    assert engine.state.data["domain"].to_dict() == {"a": 3, "b": 2, "c": 0}


def test_update_never_deletes_keys():
    engine = make_engine(a=0, sub={"k": 1, "j": 2})
    with engine.transaction() as tx:
        tx.update(data={"domain": {"sub": {}}})
    assert engine.state.data["domain"]["sub"].to_dict() == {"k": 1, "j": 2}


def test_update_non_dict_value_replaces():
    engine = make_engine(a={"k": 1})
    with engine.transaction() as tx:
        tx.update(data={"domain": {"a": [1, 2]}})
    assert engine.state.data["domain"]["a"] == [1, 2]


def test_dotted_update_keys_are_paths_creating_intermediates():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={"domain.user.name": "ann"})
    assert engine.state.data["domain"].to_dict() == {"a": 0, "user": {"name": "ann"}}


def test_list_index_update_extends_with_none():
    engine = make_engine(items=["a"])
    with engine.transaction() as tx:
        tx.update(data={"domain.items[2]": "c"})
    assert engine.state.data["domain"]["items"] == ["a", None, "c"]


@pytest.mark.parametrize("path", ["domain[k]", "domain['k']", 'domain["k"]'])
def test_bracket_name_update_keys_are_dict_keys(path):
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={path: 1})
    assert engine.state.data["domain"]["k"] == 1


def test_update_signals_are_kept_in_order_with_duplicates():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(signal={"a": 1})
        tx.update(signal={"b": 2})
        tx.update(signal={"a": 1})
        assert tx.pending_signal == [{"a": 1}, {"b": 2}, {"a": 1}]


def test_values_are_copied_in_at_commit_d7():
    payload = {"orders": ["a"]}
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={"domain": payload})
    payload["orders"].append("b")
    assert engine.state.data["domain"]["orders"] == ["a"]


# ---- introspection (§7.2) --------------------------------------------------------------------


def test_pending_data_materializes_writes_without_side_effects():
    engine = make_engine(a=0)
    with engine.transaction() as tx:
        tx.update(data={"domain": {"a": 1}})
        assert tx.pending_data == {"domain": {"a": 1}}
        assert tx.pending_data == tx.build_pending_from_deltas()
        tx.update(data={"x": 2})
        assert tx.pending_data == {"domain": {"a": 1}, "x": 2}
    assert engine.state.data.to_dict() == {"domain": {"a": 1}, "x": 2}


def test_delta_log_lists_paths_in_order():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={"x": 1})
        tx.log_delta("domain.a", None, 5)
        tx.update(data={"domain.b": 2})
        assert tx.get_delta_log() == ["x", "domain.a", "domain.b"]


def test_log_delta_sets_the_value_including_none():
    engine = make_engine(a=1, b=2)
    with engine.transaction() as tx:
        tx.log_delta("domain.a", 1, None)
        tx.log_delta("domain.b", old_val=2, new_val=3)
    assert engine.state.data["domain"].to_dict() == {"a": None, "b": 3}


def test_log_internal_is_accepted_and_has_no_effect():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.log_internal("domain.a", "set", 9, 0, None, "a")
        assert tx.get_delta_log() == []
    assert engine.state.data["domain"]["a"] == 0


def test_proxy_delta_log_records_sets_deletes_and_list_ops():
    logs = []

    @process(inputs=["transaction"], outputs=["domain"])
    def edit(ctx):
        ctx.domain.a = 1
        del ctx.domain["b"]
        ctx.domain.orders.append(1)
        logs.append(ctx.transaction.get_delta_log())

    engine = make_engine(a=0, b=1, orders=[])
    engine.execute_sync(edit)
    assert logs == [["domain.a", "domain[b]", "domain.orders"]]
    assert engine.state.data["domain"].to_dict() == {"a": 1, "orders": [1]}


def test_commit_method_publishes_nothing():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with engine.transaction() as tx:
        tx.update(data={"x": 1}, signal={"s": 1})
        tx.commit()
        assert engine.state.version == 1
        engine.state.signal.publish("first")
    assert rx.recv() == "first"
    assert rx.recv() == "s:1"


def test_get_shadow_updates_maps_touched_roots_to_their_result():
    engine = make_engine(a=0, b=0)
    with engine.transaction() as tx:
        tx.update(data={"domain": {"a": 1}})
        assert tx.get_shadow_updates() == {"domain": {"a": 1, "b": 0}}


def test_flush_outbox_moves_messages_even_if_the_tx_fails():
    engine = make_engine()
    with pytest.raises(ValueError):
        with engine.transaction() as tx:
            tx.outbox.add(theus_core.OutboxMsg("early", 1))
            tx.flush_outbox()
            tx.outbox.add(theus_core.OutboxMsg("late", 2))
            raise ValueError
    assert [m.topic for m in engine.outbox.drain()] == ["early"]


# ---- working copies (§7.3) -------------------------------------------------------------------


def test_get_shadow_is_cached_by_identity_and_isolated():
    engine = make_engine()
    original = {"k": [1]}
    with engine.transaction() as tx:
        shadow = tx.get_shadow(original, "domain.obj")
        assert tx.get_shadow(original, "domain.obj") is shadow
        assert shadow is not original
        shadow["k"].append(2)
    assert original == {"k": [1]}


def test_get_shadow_in_heavy_zone_returns_the_object_itself():
    engine = make_engine()
    buf = bytearray(b"abc")
    with engine.transaction() as tx:
        assert tx.get_shadow(buf, "heavy.buf") is buf
        assert tx.is_known_shadow(buf)


def test_is_known_shadow_is_true_only_for_originals():
    engine = make_engine()
    original = [1, 2]
    with engine.transaction() as tx:
        assert not tx.is_known_shadow(original)
        shadow = tx.get_shadow(original, "domain.l")
        assert tx.is_known_shadow(original)
        assert not tx.is_known_shadow(shadow)


def test_get_shadow_of_unclonable_value_raises_isolation_failure():
    class Unclonable:
        def __deepcopy__(self, memo):
            raise ValueError("no copies")

    engine = make_engine()
    with engine.transaction() as tx:
        with pytest.raises(RuntimeError, match=r"Transaction isolation failure: cannot deepcopy object of type 'Unclonable' at path 'domain.u'"):
            tx.get_shadow(Unclonable(), "domain.u")


def test_get_shadow_clears_lock_manager_on_the_copy():
    class Manager:
        pass

    class Ctx:
        def __init__(self):
            self._lock_manager = Manager()
            self.v = 1

    engine = make_engine()
    with engine.transaction() as tx:
        shadow = tx.get_shadow(Ctx(), "domain.c")
        assert shadow._lock_manager is None


def test_untracked_change_of_a_shadow_yields_a_set_at_its_path():
    engine = make_engine()
    engine.compare_and_swap(1, data={"domain": {"tags": {1, 2}}})
    original = engine._core.state.data["domain"]["tags"]
    with engine.transaction() as tx:
        shadow = tx.get_shadow(original, "domain.tags")
        shadow.add(3)
        tx.infer_shadow_deltas()
        assert tx.get_delta_log() == ["domain.tags"]
    assert engine.state.data["domain"]["tags"] == {1, 2, 3}


def test_unchanged_shadow_yields_no_delta():
    engine = make_engine()
    engine.compare_and_swap(1, data={"domain": {"tags": {1, 2}}})
    with engine.transaction() as tx:
        tx.get_shadow(engine._core.state.data["domain"]["tags"], "domain.tags")
        tx.infer_shadow_deltas()
        tx.infer_shadow_deltas()
        assert tx.get_delta_log() == []


# ---- the Transaction object itself (§7.1, §7.6) ------------------------------------------------


def test_transaction_cannot_be_pickled():
    tx = make_engine()._core.transaction()
    with pytest.raises(RuntimeError, match="pickled"):
        pickle.dumps(tx)


def test_transaction_cannot_be_deep_copied():
    tx = make_engine()._core.transaction()
    with pytest.raises(RuntimeError, match="deep-copied"):
        copy.deepcopy(tx)


def test_transaction_without_engine_uses_a_private_engine():
    tx = theus_core.Transaction()
    assert tx.write_timeout_ms == 5000
    with tx as entered:
        assert entered is tx
        tx.update(data={"x": 1})


def test_core_transaction_is_not_entered_by_engine_transaction_factory():
    engine = make_engine()
    tx = engine._core.transaction(write_timeout_ms=77)
    assert tx.write_timeout_ms == 77
    assert engine.state.version == 1


def test_enter_refreshes_the_base_version():
    engine = make_engine()
    tx = engine._core.transaction()
    engine.compare_and_swap(1, data={"domain": {"a": 1}})
    with tx:
        tx.update(data={"domain": {"a": 2}})
    assert engine.state.data["domain"]["a"] == 2


def test_never_entered_transaction_still_gets_the_conflict_check():
    engine = make_engine()
    tx = engine._core.transaction()
    engine.compare_and_swap(1, data={"domain": {"a": 1}})
    tx.update(data={"domain": {"a": 2}})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        tx.__exit__(None, None, None)
    assert engine.state.data["domain"]["a"] == 1


def test_exit_with_exception_type_commits_nothing():
    engine = make_engine()
    tx = engine._core.transaction()
    tx.__enter__()
    tx.update(data={"x": 1})
    assert not tx.__exit__(ValueError, ValueError("x"), None)
    assert engine.state.version == 1
