"""Signals latched at commit (core.md §12.1, D8), the SignalHub basics, and the transactional
outbox (§11.5; workflow_signals_audit.md §4.1, D10)."""
import threading

import pytest

import theus_core
from theus import SignalHub, TheusEngine, process
from theus.contracts import OutboxMsg
from theus.structures import ContextError, StateUpdate


def make_engine():
    return TheusEngine({"domain": {"n": 0}})


@process(inputs=["domain.n"], outputs=["domain.n"])
def inc(ctx):
    return ctx.domain.n + 1


# ---- signals at commit ----------------------------------------------------------------------------


def test_transaction_signal_is_latched_for_one_version():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.update(data={"x": 1}, signal={"cmd_stop": True})
    assert engine.state.signals.to_dict() == {"cmd_stop": "True"}
    engine.execute_sync(inc)
    assert engine.state.signals.to_dict() == {}


def test_signal_published_as_topic_colon_str_payload():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with engine.transaction() as tx:
        tx.update(signal={"cmd_stop": True})
        tx.update(signal={"progress": 0.5})
    assert [rx.recv(), rx.recv()] == ["cmd_stop:True", "progress:0.5"]


def test_state_update_signal_is_published_d8():
    @process(outputs=["domain.n"])
    def finish(ctx):
        return StateUpdate(key="domain.n", val=1, signal={"done": "yes"})

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(finish)
    assert rx.recv() == "done:yes"
    assert engine.state.signals.to_dict() == {"done": "yes"}


def test_state_update_signal_list_is_published_in_order_d8():
    @process(outputs=["domain.n"])
    def finish(ctx):
        return StateUpdate(signal=[{"a": 1}, {"b": 2}])

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(finish)
    assert [rx.recv(), rx.recv()] == ["a:1", "b:2"]


def test_signal_output_path_becomes_a_pending_signal():
    @process(inputs=["domain.n"], outputs=["domain.n", "signal.done"])
    def work(ctx):
        return ctx.domain.n + 1, "ok"

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(work)
    assert rx.recv() == "done:ok"
    assert "signal" not in engine.state.data


def test_process_transaction_update_signal_is_published():
    @process(inputs=["transaction"], outputs=["domain.n"])
    def emit(ctx):
        ctx.transaction.update(signal={"ping": 1})

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(emit)
    assert rx.recv() == "ping:1"


def test_signal_is_published_after_the_new_version_is_installed():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    observed = []

    def listen():
        observed.append(rx.recv())
        observed.append(engine._core.state.version)

    listener = threading.Thread(target=listen)
    listener.start()
    with engine.transaction() as tx:
        tx.update(data={"x": 1}, signal={"go": 1})
    listener.join(timeout=30)
    assert observed == ["go:1", 2]


def test_failed_commit_publishes_nothing():
    @process(outputs=["domain.n"])
    def failing(ctx):
        return StateUpdate(signal={"lost": 1}, data={"domain.secret": 1})

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with pytest.raises(PermissionError):
        engine.execute_sync(failing)
    engine.state.signal.publish("marker")
    assert rx.recv() == "marker"
    assert engine.state.signals.to_dict() == {}


def test_conflicting_commit_publishes_nothing():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with pytest.raises(ContextError):
        with engine.transaction() as tx:
            engine.compare_and_swap(1, data={"domain": {"n": 5}})
            tx.update(data={"domain": {"n": 6}}, signal={"lost": 1})
    engine.state.signal.publish("marker")
    assert rx.recv() == "marker"


def test_retried_execution_publishes_once():
    attempts = []

    @process(inputs=["domain.n", "transaction"], outputs=["domain.n"])
    def flaky(ctx):
        attempts.append(1)
        ctx.transaction.update(signal={"attempt": len(attempts)})
        if len(attempts) < 3:
            raise ContextError("CAS Version Mismatch (Conflict Detected): injected")
        return ctx.domain.n + 1

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(flaky)
    engine.state.signal.publish("marker")
    assert [rx.recv(), rx.recv()] == ["attempt:3", "marker"]


def test_all_versions_share_one_hub():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(inc)
    engine.execute_sync(inc)
    engine.state.signal.publish("late")
    assert rx.recv() == "late"


def test_ctx_signal_publish_is_immediate_and_not_transactional():
    @process(outputs=["domain.n", "signal"])
    def shout(ctx):
        ctx.signal.publish("now")
        raise RuntimeError("abort after publishing")

    engine = make_engine()
    rx = engine.state.signal.subscribe()
    with pytest.raises(RuntimeError):
        engine.execute_sync(shout)
    assert rx.recv() == "now"
    assert engine.state.version == 1


# ---- SignalHub basics -----------------------------------------------------------------------------


def test_hub_publish_returns_number_of_receivers():
    hub = SignalHub()
    assert hub.publish("nobody") == 0
    rx1, rx2 = hub.subscribe(), hub.subscribe()
    assert hub.publish("m") == 2
    assert (rx1.recv(), rx2.recv()) == ("m", "m")


def test_receiver_sees_only_messages_after_subscribe():
    hub = SignalHub()
    hub.publish("before")
    rx = hub.subscribe()
    hub.publish("after")
    assert rx.recv() == "after"


def test_hub_publish_rejects_non_strings():
    with pytest.raises(TypeError):
        SignalHub().publish(42)


async def test_recv_async_on_running_loop():
    hub = SignalHub()
    rx = hub.subscribe()
    hub.publish("a")
    assert await rx.recv_async() == "a"


# ---- outbox ---------------------------------------------------------------------------------------


def test_outbox_message_is_queued_only_after_commit():
    @process(outputs=["domain.n"])
    def send(ctx):
        ctx.outbox.add(OutboxMsg("mail", {"to": "x"}))
        assert engine.outbox.len() == 0
        return 1

    engine = make_engine()
    engine.execute_sync(send)
    messages = engine.outbox.drain()
    assert [(m.topic, m.payload) for m in messages] == [("mail", {"to": "x"})]
    assert engine.outbox.len() == 0


def test_ctx_outbox_messages_is_a_copy_of_the_buffer():
    seen = []

    @process(outputs=["domain.n"])
    def send(ctx):
        ctx.outbox.add(OutboxMsg("a", 1))
        snapshot = ctx.outbox.messages
        snapshot.clear()
        seen.append([m.topic for m in ctx.outbox.messages])

    engine = make_engine()
    engine.execute_sync(send)
    assert seen == [["a"]]


def test_failed_execution_releases_no_outbox_message():
    @process(outputs=["domain.n"])
    def send_then_fail(ctx):
        ctx.outbox.add(OutboxMsg("phantom", 1))
        raise RuntimeError("fail")

    engine = make_engine()
    with pytest.raises(RuntimeError):
        engine.execute_sync(send_then_fail)
    assert engine.outbox.drain() == []


def test_retried_execution_releases_only_the_committing_attempts_messages():
    attempts = []

    @process(outputs=["domain.n"])
    def send(ctx):
        attempts.append(1)
        ctx.outbox.add(OutboxMsg("attempt", len(attempts)))
        if len(attempts) < 3:
            raise ContextError("CAS Version Mismatch (Conflict Detected): injected")
        return 1

    engine = make_engine()
    engine.execute_sync(send)
    assert [m.payload for m in engine.outbox.drain()] == [3]


def test_outbox_messages_queue_in_commit_order():
    engine = make_engine()
    for i in range(3):
        with engine.transaction() as tx:
            tx.outbox.add(OutboxMsg("t", i))
    assert [m.payload for m in engine.outbox.drain()] == [0, 1, 2]


def test_tx_outbox_is_a_collector_over_pending_messages():
    engine = make_engine()
    with engine.transaction() as tx:
        tx.outbox.add(OutboxMsg("t", 1))
        assert isinstance(tx.outbox, theus_core.OutboxCollector)
        assert tx.outbox.len() == 1
    assert engine.outbox.len() == 1


def test_outbox_msg_is_read_only_and_keeps_payload_by_reference():
    payload = {"k": [1]}
    msg = OutboxMsg("topic", payload)
    assert msg.topic == "topic"
    assert msg.payload is payload
    with pytest.raises(AttributeError):
        msg.topic = "other"


# ---- delivery (D10) -------------------------------------------------------------------------------


def queue(engine, *topics):
    for t in topics:
        engine.outbox.add(OutboxMsg(t, None))


def test_process_outbox_without_worker_keeps_messages_d10():
    engine = make_engine()
    queue(engine, "a", "b")
    engine.process_outbox()
    assert engine.outbox.len() == 2


def test_process_outbox_delivers_in_fifo_order_and_empties_queue():
    engine = make_engine()
    delivered = []
    engine.attach_worker(lambda m: delivered.append(m.topic))
    queue(engine, "a", "b", "c")
    engine.process_outbox()
    assert delivered == ["a", "b", "c"]
    assert engine.outbox.len() == 0


def test_worker_failure_keeps_failed_and_later_messages_d10():
    engine = make_engine()
    calls = []

    def worker(msg):
        calls.append(msg.topic)
        if msg.topic == "b":
            raise ValueError("relay down")

    engine.attach_worker(worker)
    queue(engine, "a", "b", "c")
    with pytest.raises(ValueError, match="relay down"):
        engine.process_outbox()
    assert calls == ["a", "b"]
    assert engine.outbox.len() == 2


def test_failed_message_is_delivered_again_at_least_once_d10():
    engine = make_engine()
    calls = []
    broken = [True]

    def worker(msg):
        calls.append(msg.topic)
        if msg.topic == "b" and broken[0]:
            broken[0] = False
            raise ValueError("transient")

    engine.attach_worker(worker)
    queue(engine, "a", "b", "c")
    with pytest.raises(ValueError):
        engine.process_outbox()
    engine.process_outbox()
    assert calls == ["a", "b", "b", "c"]
    assert engine.outbox.len() == 0


def test_attach_worker_keeps_a_reference_on_the_wrapper():
    engine = make_engine()

    def worker(msg):
        pass

    engine.attach_worker(worker)
    assert engine._worker_ref is worker


def test_committed_process_messages_reach_the_worker():
    @process(outputs=["domain.n"])
    def send(ctx):
        ctx.outbox.add(OutboxMsg("mail", 7))

    engine = make_engine()
    got = []
    engine.attach_worker(lambda m: got.append((m.topic, m.payload)))
    engine.execute_sync(send)
    engine.process_outbox()
    assert got == [("mail", 7)]
