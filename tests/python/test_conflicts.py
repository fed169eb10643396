"""Path-level conflict detection (core.md §6.4), ConflictManager / RetryPolicy (§9), and how
execute() retries, escalates to VIP and gives up (§3.4)."""
import dataclasses

import pytest

import theus_core
from theus import RetryPolicy, TheusEngine, process
from theus.structures import ContextError


def engine_at_version_5_with_a_x_written():
    """Base 5, and commit 6 wrote domain.a.x (the example of §6.4)."""
    e = TheusEngine({"domain": {"a": {"x": {"z": 0}, "y": 0}}})
    for v in range(1, 5):
        e.compare_and_swap(v, data={"other": v})
    assert e.state.version == 5
    tx = e._core.transaction()
    tx.__enter__()
    e.compare_and_swap(5, data={"domain.a.x": 1})
    return e, tx


# ---- §6.4 -----------------------------------------------------------------------------------


def test_sibling_path_does_not_conflict():
    e, tx = engine_at_version_5_with_a_x_written()
    tx.update(data={"domain.a.y": 2})
    tx.__exit__(None, None, None)
    assert e.state.data["domain"]["a"].to_dict() == {"x": 1, "y": 2}
    assert e.state.version == 7


def test_ancestor_path_conflicts():
    e, tx = engine_at_version_5_with_a_x_written()
    tx.update(data={"domain": {"a": 5}})
    with pytest.raises(ContextError, match=r"CAS Version Mismatch \(Conflict Detected\): Expected 5, Found 6 \(Keys Changed\)"):
        tx.__exit__(None, None, None)
    assert e.state.version == 6


def test_descendant_path_conflicts():
    e, tx = engine_at_version_5_with_a_x_written()
    tx.update(data={"domain.a.x.z": 1})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        tx.__exit__(None, None, None)
    assert e.state.version == 6


def test_equal_path_conflicts():
    e, tx = engine_at_version_5_with_a_x_written()
    tx.log_delta("domain.a.x", None, 9)
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        tx.__exit__(None, None, None)
    assert e.state.data["domain"]["a"]["x"] == 1


def test_third_level_siblings_do_not_conflict_d2():
    e = TheusEngine({"domain": {"user": {"name": "a", "age": 1}}})
    with e.transaction() as tx:
        e.compare_and_swap(1, data={"domain": {"user": {"name": "b"}}})
        tx.update(data={"domain": {"user": {"age": 2}}})
    assert e.state.data["domain"]["user"].to_dict() == {"name": "b", "age": 2}


def test_commit_older_than_base_does_not_conflict():
    e = TheusEngine({"domain": {"a": 0}})
    e.compare_and_swap(1, data={"domain": {"a": 1}})
    with e.transaction() as tx:
        tx.update(data={"domain": {"a": 2}})
    assert e.state.data["domain"]["a"] == 2


def test_heavy_writes_conflict_in_transactions():
    e = TheusEngine({"domain": {"a": 0}})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        with e.transaction() as tx:
            e.compare_and_swap(1, heavy={"m": 1})
            tx.update(heavy={"m": 2})
    assert e.state.heavy["m"] == 1


def test_proxy_delete_counts_as_a_write():
    e = TheusEngine({"domain": {"cache": {"old": 1}}})
    attempts = []

    @process(inputs=["domain.cache"], outputs=["domain.cache"])
    def evict(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            e.compare_and_swap(e.state.version, data={"domain.cache.old": 2})
        ctx.domain.cache.pop("old", None)

    e.execute_sync(evict)
    assert len(attempts) == 2
    assert e.state.data["domain"]["cache"].to_dict() == {}


def test_list_append_conflicts_with_concurrent_element_change():
    e = TheusEngine({"domain": {"orders": [{"id": 1}]}})
    attempts = []

    @process(inputs=["domain.orders"], outputs=["domain.orders"])
    def add(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            e.compare_and_swap(e.state.version, data={"domain.orders[0].id": 7})
        ctx.domain.orders.append({"id": 2})

    e.execute_sync(add)
    assert len(attempts) == 2
    assert e.state.data.to_dict()["domain"]["orders"] == [{"id": 7}, {"id": 2}]


# ---- ConflictManager (§9.1) -------------------------------------------------------------------


EXPECTED_RANGES = [(1, 2), (3, 4), (6, 9), (12, 19), (25, 38)]


def test_backoff_ranges_of_the_first_five_conflicts():
    for _ in range(40):
        cm = theus_core.ConflictManager()
        waits = [cm.report_conflict("k").wait_ms for _ in range(5)]
        for wait, (low, high) in zip(waits, EXPECTED_RANGES):
            assert low <= wait <= high, waits


def test_sixth_conflict_grants_vip_with_one_ms():
    cm = theus_core.ConflictManager()
    for _ in range(5):
        cm.report_conflict("k")
    assert not cm.is_blocked("other")
    decision = cm.report_conflict("k")
    assert (decision.should_retry, decision.wait_ms) == (True, 1)
    assert cm.is_blocked("other") and not cm.is_blocked("k")


def test_vip_holder_keeps_one_ms_and_counter_stops():
    cm = theus_core.ConflictManager()
    for _ in range(8):
        last = cm.report_conflict("k")
    assert last.wait_ms == 1
    assert cm.get_failure_count("k") == 5


def test_other_key_waits_fifty_ms_while_vip_is_held_without_counting():
    cm = theus_core.ConflictManager()
    for _ in range(6):
        cm.report_conflict("vip")
    decision = cm.report_conflict("other")
    assert (decision.should_retry, decision.wait_ms) == (True, 50)
    assert cm.get_failure_count("other") == 0


def test_report_success_drops_counter_and_releases_vip():
    cm = theus_core.ConflictManager()
    for _ in range(6):
        cm.report_conflict("k")
    cm.report_success("k")
    assert cm.get_failure_count("k") == 0
    assert not cm.is_blocked()
    assert cm.report_conflict("k").wait_ms in (1, 2)


def test_report_success_of_unknown_key_is_a_noop():
    cm = theus_core.ConflictManager()
    for _ in range(6):
        cm.report_conflict("k")
    cm.report_success("stranger")
    assert cm.is_blocked()
    assert cm.get_failure_count("stranger") == 0


def test_is_blocked_semantics():
    cm = theus_core.ConflictManager()
    assert cm.is_blocked() is False
    for _ in range(6):
        cm.report_conflict("k")
    assert cm.is_blocked() is True
    assert cm.is_blocked(None) is True
    assert cm.is_blocked("k") is False
    assert cm.is_blocked("j") is True


def test_custom_max_retries_and_base_backoff():
    cm = theus_core.ConflictManager(max_retries=2, base_backoff_ms=10)
    assert 8 <= cm.report_conflict("k").wait_ms <= 11
    assert 16 <= cm.report_conflict("k").wait_ms <= 23
    assert cm.report_conflict("k").wait_ms == 1
    assert cm.is_blocked("x")


def test_backoff_exponent_is_capped_at_ten():
    cm = theus_core.ConflictManager(max_retries=20, base_backoff_ms=1)
    waits = [cm.report_conflict("k").wait_ms for _ in range(13)]
    for wait in waits[10:]:
        assert 819 <= wait <= 1228, waits


def test_retry_decision_is_read_only_and_has_repr():
    decision = theus_core.ConflictManager().report_conflict("k")
    assert repr(decision) == f"RetryDecision(retry=True, wait={decision.wait_ms}ms)"
    with pytest.raises(AttributeError):
        decision.wait_ms = 5


# ---- RetryPolicy (§9.2) --------------------------------------------------------------------------


def test_retry_policy_defaults():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.deadline_ms, policy.vip_after, policy.base_backoff_ms, policy.max_backoff_ms) == (
        64, 30000, 5, 2, 1000,
    )


def test_retry_policy_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RetryPolicy().max_attempts = 3


# ---- execute() retry loop (§3.4, §9.3) ----------------------------------------------------------


def conflicting_process(fail_times, log):
    """A process whose body raises a conflict error on its first ``fail_times`` attempts."""

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def flaky(ctx):
        log.append(1)
        if len(log) <= fail_times:
            raise ContextError("CAS Version Mismatch (Conflict Detected): injected")
        return ctx.domain.n + 1

    return flaky


def test_conflict_raised_by_the_body_is_retried():
    log = []
    e = TheusEngine({"domain": {"n": 0}})
    assert e.execute_sync(conflicting_process(2, log)) == 1
    assert len(log) == 3
    assert e.state.version == 2


@pytest.mark.parametrize("fragment", ["Strict CAS Mismatch", "System Busy"])
def test_every_conflict_fragment_is_retried(fragment):
    log = []

    @process(outputs=["domain.n"])
    def flaky(ctx):
        log.append(1)
        if len(log) == 1:
            raise ContextError(f"{fragment}: injected")
        return 5

    e = TheusEngine({"domain": {"n": 0}})
    e.execute_sync(flaky)
    assert len(log) == 2


def test_discarded_attempt_commits_nothing_d4():
    log = []

    @process(inputs=["domain.n"], outputs=["domain.n", "domain.trail"])
    def flaky(ctx):
        log.append(1)
        ctx.domain.trail = len(log)
        if len(log) == 1:
            raise ContextError("CAS Version Mismatch (Conflict Detected): injected")

    e = TheusEngine({"domain": {"n": 0, "trail": 0}})
    e.execute_sync(flaky)
    assert e.state.version == 2
    assert e.state.data["domain"]["trail"] == 2


def test_attempt_budget_exhausted_reraises_the_conflict():
    log = []
    e = TheusEngine({"domain": {"n": 0}}, retry_policy=RetryPolicy(max_attempts=3))
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        e.execute_sync(conflicting_process(100, log))
    assert len(log) == 3
    assert e.state.version == 1
    assert e._core._stats()["gave_up"] == 1


def test_retries_keyword_raises_the_attempt_budget():
    log = []
    e = TheusEngine({"domain": {"n": 0}}, retry_policy=RetryPolicy(max_attempts=1))
    assert e.execute_sync(conflicting_process(3, log), retries=3) == 1
    assert len(log) == 4


def test_retries_keyword_cannot_lower_the_attempt_budget():
    log = []
    e = TheusEngine({"domain": {"n": 0}}, retry_policy=RetryPolicy(max_attempts=4))
    assert e.execute_sync(conflicting_process(3, log), retries=0) == 1
    assert len(log) == 4


async def test_awaited_execute_retries_conflicts_too():
    log = []
    e = TheusEngine({"domain": {"n": 0}})
    assert await e.execute(conflicting_process(2, log)) == 1
    assert len(log) == 3


def test_non_conflict_error_is_not_retried():
    log = []

    @process(outputs=["domain.n"])
    def broken(ctx):
        log.append(1)
        raise ContextError("something else entirely")

    e = TheusEngine({"domain": {"n": 0}})
    with pytest.raises(ContextError, match="something else entirely"):
        e.execute_sync(broken)
    assert len(log) == 1


def test_success_resets_the_conflict_counter():
    log = []
    e = TheusEngine({"domain": {"n": 0}})
    e.execute_sync(conflicting_process(3, log))
    assert e.report_conflict("flaky").wait_ms in (1, 2)


def test_vip_ticket_is_granted_after_repeated_conflicts():
    log = []
    e = TheusEngine({"domain": {"n": 0}})
    e.execute_sync(conflicting_process(6, log))
    assert len(log) == 7
    assert e._core._stats()["vip_grants"] == 1
    e.compare_and_swap(e.state.version, data={"x": 1})  # ticket released after the commit


def test_give_up_releases_the_vip_ticket():
    log = []
    e = TheusEngine({"domain": {"n": 0}}, retry_policy=RetryPolicy(max_attempts=8))
    with pytest.raises(ContextError):
        e.execute_sync(conflicting_process(100, log))
    assert len(log) == 8
    e.compare_and_swap(e.state.version, data={"x": 1})
    assert e.state.data["x"] == 1


def test_other_error_releases_the_vip_ticket_held_by_the_process():
    @process(outputs=["domain.n"])
    def crash(ctx):
        raise ValueError("crash")

    e = TheusEngine({"domain": {"n": 0}})
    for _ in range(6):
        e.report_conflict("crash")
    with pytest.raises(ValueError):
        e.execute_sync(crash)
    e.compare_and_swap(e.state.version, data={"x": 1})
    assert e.state.data["x"] == 1


def test_vip_holder_process_commits_through_the_gate():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def holder(ctx):
        return ctx.domain.n + 1

    e = TheusEngine({"domain": {"n": 0}})
    for _ in range(6):
        e.report_conflict("holder")
    assert e.execute_sync(holder) == 1
    e.compare_and_swap(e.state.version, data={"x": 1})  # released by the success


def test_manual_transaction_is_refused_while_another_requester_is_vip():
    e = TheusEngine({"domain": {"n": 0}})
    for _ in range(6):
        e.report_conflict("x")
    with pytest.raises(ContextError, match=r"System Busy \(VIP Access Only\)"):
        with e.transaction() as tx:
            tx.update(data={"k": 1})
    e.report_success("x")
    with e.transaction() as tx:
        tx.update(data={"k": 1})
    assert e.state.data["k"] == 1


def test_execute_is_refused_until_deadline_while_another_requester_is_vip():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def inc(ctx):
        return ctx.domain.n + 1

    e = TheusEngine({"domain": {"n": 0}}, retry_policy=RetryPolicy(max_attempts=1, deadline_ms=30))
    for _ in range(6):
        e.report_conflict("x")
    with pytest.raises(ContextError, match=r"System Busy \(VIP Access Only\)"):
        e.execute_sync(inc)
    assert e.state.data["domain"]["n"] == 0
    assert e._core._stats()["busy"] >= 1
