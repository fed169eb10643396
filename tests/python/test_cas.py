"""compare_and_swap, smart vs strict CAS (core.md §3.9, §6.3, §15 C)."""
import pytest

import theus_core
from theus import TheusEngine, process
from theus.structures import ContextError


def ab_engine(**kw):
    return TheusEngine({"domain": {"a": 0, "b": 0}}, **kw)


# ---- smart CAS (default) ---------------------------------------------------------------------------


def test_example_c_smart_cas_sequence():
    e = ab_engine()
    assert e.state.version == 1
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    assert e.state.version == 2
    e.compare_and_swap(1, data={"domain": {"b": 1}})
    assert e.state.version == 3
    with pytest.raises(ContextError, match=r"CAS Version Mismatch \(Conflict Detected\): Expected 1, Found 3 \(Keys Changed\)"):
        e.compare_and_swap(1, data={"domain": {"a": 2}})
    assert e.state.data["domain"].to_dict() == {"a": 1, "b": 1}
    assert e.state.version == 3


def test_cas_returns_none():
    e = ab_engine()
    assert e.compare_and_swap(1, data={"domain": {"a": 1}}) is None
    assert e._core.compare_and_swap(2, data={"domain": {"a": 2}}) is None


def test_cas_without_expected_version_raises_type_error():
    e = ab_engine()
    with pytest.raises(TypeError):
        e._core.compare_and_swap(data={"x": 1})
    assert e.state.version == 1


def test_cas_with_future_version_is_a_mismatch_even_with_clean_keys():
    e = ab_engine()
    with pytest.raises(ContextError, match=r"CAS Version Mismatch \(Conflict Detected\): Expected 5, Found 1 \(Keys Changed\)"):
        e.compare_and_swap(5, data={"x": 1})
    assert e.state.version == 1


def test_cas_failure_leaves_state_identical():
    e = ab_engine()
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    before = e.state
    with pytest.raises(ContextError):
        e.compare_and_swap(1, data={"domain": {"a": 5}})
    assert e.state is before


def test_smart_cas_detects_ancestor_writes():
    e = ab_engine()
    e.compare_and_swap(1, data={"domain": 5})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        e.compare_and_swap(1, data={"domain": {"a": 1}})


def test_smart_cas_detects_descendant_writes():
    e = TheusEngine({"domain": {"a": {"x": 0}}})
    e.compare_and_swap(1, data={"domain.a.x": 1})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        e.compare_and_swap(1, data={"domain": {"a": 7}})


def test_unchanged_value_still_counts_as_written():
    e = ab_engine()
    e.compare_and_swap(1, data={"domain": {"a": 0}})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        e.compare_and_swap(1, data={"domain": {"a": 9}})


def test_heavy_keys_take_part_in_cas_conflicts():
    e = ab_engine()
    e.compare_and_swap(1, heavy={"m": [1]})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        e.compare_and_swap(1, heavy={"m": [2]})
    e.compare_and_swap(1, heavy={"n": [3]})
    assert e.state.version == 3


# ---- strict CAS -------------------------------------------------------------------------------


def test_strict_cas_rejects_any_stale_version():
    e = ab_engine(strict_cas=True)
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    with pytest.raises(ContextError, match=r"^Strict CAS Mismatch: Expected 1, Found 2 \(Strict CAS Enabled\)"):
        e.compare_and_swap(1, data={"domain": {"b": 1}})
    assert e.state.version == 2


def test_strict_cas_accepts_the_current_version():
    e = ab_engine(strict_cas=True)
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    e.compare_and_swap(2, data={"domain": {"b": 1}})
    assert e.state.data["domain"].to_dict() == {"a": 1, "b": 1}


def test_set_strict_cas_switches_cas_behaviour_at_runtime():
    e = ab_engine()
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    e.set_strict_cas(True)
    with pytest.raises(ContextError, match="Strict CAS Mismatch"):
        e.compare_and_swap(1, data={"domain": {"b": 1}})
    e.strict_cas = False
    e.compare_and_swap(1, data={"domain": {"b": 1}})
    assert e.state.version == 3


def test_strict_cas_applies_to_manual_transactions_d2():
    e = ab_engine(strict_cas=True)
    with pytest.raises(ContextError, match=r"Strict CAS Mismatch: Expected 1, Found 2 \(Strict CAS Enabled\)"):
        with e.transaction() as tx:
            e.compare_and_swap(1, data={"domain": {"a": 1}})
            tx.update(data={"domain": {"b": 1}})
    assert e.state.data["domain"]["b"] == 0


def test_smart_cas_lets_disjoint_manual_transactions_commit():
    e = ab_engine()
    with e.transaction() as tx:
        e.compare_and_swap(1, data={"domain": {"a": 1}})
        tx.update(data={"domain": {"b": 1}})
    assert e.state.data["domain"].to_dict() == {"a": 1, "b": 1}
    assert e.state.version == 3


def test_strict_cas_makes_execute_retry_on_unrelated_commits_d2():
    attempts = []
    e = ab_engine(strict_cas=True)

    @process(inputs=["domain.b"], outputs=["domain.b"])
    def set_b(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            e.compare_and_swap(e.state.version, data={"domain": {"a": 1}})
        return 2

    e.execute_sync(set_b)
    assert len(attempts) == 2
    assert e.state.data["domain"].to_dict() == {"a": 1, "b": 2}
    assert e._core._stats()["conflicts"] == 1


def test_smart_cas_execute_does_not_retry_on_unrelated_commits():
    attempts = []
    e = ab_engine()

    @process(inputs=["domain.b"], outputs=["domain.b"])
    def set_b(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            e.compare_and_swap(e.state.version, data={"domain": {"a": 1}})
        return 2

    e.execute_sync(set_b)
    assert len(attempts) == 1
    assert e._core._stats()["conflicts"] == 0


# ---- building the new version (§6.3 step 3) --------------------------------------------------------


def test_cas_deep_merges_dicts_and_never_deletes():
    e = TheusEngine({"domain": {"a": {"x": 1, "y": 2}, "b": 0}})
    e.compare_and_swap(1, data={"domain": {"a": {"x": 5}}})
    assert e.state.data["domain"].to_dict() == {"a": {"x": 5, "y": 2}, "b": 0}


def test_cas_non_dict_value_replaces():
    e = TheusEngine({"domain": {"a": {"x": 1}}})
    e.compare_and_swap(1, data={"domain": {"a": [1]}})
    assert e.state.data["domain"]["a"] == [1]


def test_cas_dotted_top_level_keys_are_paths():
    e = ab_engine()
    e.compare_and_swap(1, data={"domain.c.d": 4})
    assert e.state.data["domain"].to_dict() == {"a": 0, "b": 0, "c": {"d": 4}}
    assert "domain.c.d" not in e.state.data


def test_cas_with_empty_payload_bumps_the_version():
    e = ab_engine()
    e.compare_and_swap(1)
    e.compare_and_swap(2, data={})
    assert e.state.version == 3
    assert e.state.data.to_dict() == {"domain": {"a": 0, "b": 0}}


def test_cas_at_version_zero_on_a_fresh_core_engine():
    core = theus_core.TheusEngine()
    core.compare_and_swap(0, data={"x": 1})
    assert core.state.version == 1
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        core.compare_and_swap(0, data={"x": 2})


def test_conflict_check_runs_at_base_version_zero_d2():
    core = theus_core.TheusEngine()
    tx = core.transaction()
    with pytest.raises(ContextError, match=r"CAS Version Mismatch \(Conflict Detected\): Expected 0, Found 1"):
        with tx:
            core.compare_and_swap(0, data={"x": 1})
            tx.update(data={"x": 2})
    assert core.state.data["x"] == 1


def test_cas_heavy_values_are_stored_by_reference():
    e = ab_engine()
    buf = bytearray(b"zero-copy")
    e.compare_and_swap(1, heavy={"buf": buf})
    assert e.state.heavy["buf"] is buf
    assert "buf" not in e.state.data


def test_cas_data_values_are_copied_in_d7():
    e = ab_engine()
    payload = {"orders": ["a"]}
    e.compare_and_swap(1, data={"domain": payload})
    payload["orders"].append("b")
    assert e.state.data["domain"]["orders"] == ["a"]


def test_cas_signal_is_latched_and_published_after_install():
    import threading

    e = ab_engine()
    rx = e.state.signal.subscribe()
    seen = []

    def listen():
        seen.append(rx.recv())
        seen.append(e._core.state.version)

    listener = threading.Thread(target=listen)
    listener.start()
    e.compare_and_swap(1, data={"x": 1}, signal={"cmd_stop": True})
    listener.join(timeout=30)
    assert seen == ["cmd_stop:True", 2]
    assert e.state.signals.to_dict() == {"cmd_stop": "True"}


def test_cas_accepts_list_of_signal_dicts_in_order():
    e = ab_engine()
    rx = e.state.signal.subscribe()
    e.compare_and_swap(1, signal=[{"a": 1}, {"b": 2}])
    assert [rx.recv(), rx.recv()] == ["a:1", "b:2"]


def test_cas_requester_holding_vip_passes_the_gate():
    e = ab_engine()
    for _ in range(6):
        e.report_conflict("vip")
    with pytest.raises(ContextError, match=r"^System Busy \(VIP Access Only\)"):
        e.compare_and_swap(1, data={"x": 1})
    with pytest.raises(ContextError, match="System Busy"):
        e.compare_and_swap(1, data={"x": 1}, requester="someone-else")
    e.compare_and_swap(1, data={"x": 2}, requester="vip")
    assert e.state.data["x"] == 2


def test_vip_gate_runs_before_the_version_check():
    e = ab_engine()
    for _ in range(6):
        e.report_conflict("vip")
    with pytest.raises(ContextError, match="System Busy"):
        e.compare_and_swap(99, data={"x": 1})
