"""The deprecated orchestrator kept importable (workflow_signals_audit.md §1.11)."""
import threading

import pytest
import yaml

from theus import TheusEngine, process
from theus.interfaces import IEngine, IOrchestrator, IScheduler
from theus.orchestrator import SignalBus, StateMachine, ThreadExecutor, WorkflowManager


def test_thread_executor_names_its_threads_and_shuts_down():
    ex = ThreadExecutor(max_workers=2)
    assert isinstance(ex, IScheduler)
    name = ex.submit(lambda: threading.current_thread().name).result(timeout=10)
    assert name.startswith("TheusWorker")
    ex.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        ex.submit(lambda: 1)


def test_signal_bus_is_a_fifo_returning_none_when_empty():
    bus = SignalBus()
    assert bus.empty() and bus.qsize() == 0
    bus.emit("a")
    bus.emit({"b": 1})
    assert bus.qsize() == 2
    assert bus.get() == "a"
    assert bus.get(block=False) == {"b": 1}
    assert bus.get(block=False) is None
    assert bus.get(timeout=0.01) is None


DEFINITION = {
    "states": {
        "IDLE": {"events": {"start": "RUNNING"}},
        "RUNNING": {"entry": ["load", "work"], "on": {"stop": "IDLE", "pause": "PAUSED"}},
        "PAUSED": {"process": "checkpoint", "transitions": {"resume": "RUNNING"}},
    }
}


def test_state_machine_moves_on_events_and_returns_entry_processes():
    sm = StateMachine(DEFINITION)
    assert sm.current_state == "IDLE"
    assert sm.trigger("unknown") == [] and sm.current_state == "IDLE"
    assert sm.trigger("start") == ["load", "work"]
    assert sm.trigger("pause") == ["checkpoint"]
    assert sm.current_state == "PAUSED"
    assert sm.trigger("resume") == ["load", "work"]
    assert sm.trigger("stop") == [] and sm.current_state == "IDLE"


def test_yaml_boolean_on_key_is_warned_about_and_ignored():
    definition = yaml.safe_load("states:\n  IDLE:\n    on:\n      go: DONE\n  DONE: {}\n")
    with pytest.warns(UserWarning, match="'on' was read by YAML as the boolean True"):
        sm = StateMachine(definition)
    assert sm.trigger("go") == []
    assert sm.current_state == "IDLE"


def test_workflow_manager_runs_the_processes_a_signal_names():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def load(ctx):
        return ctx.domain.n + 1

    @process(inputs=["domain.n"], outputs=["domain.n"])
    def work(ctx):
        return ctx.domain.n * 10

    engine = TheusEngine({"domain": {"n": 0}})
    engine.register(load)
    engine.register(work)
    scheduler = ThreadExecutor(max_workers=1)  # one worker: the two processes run in order
    manager = WorkflowManager(engine, scheduler, SignalBus())
    assert isinstance(manager, IOrchestrator)
    with pytest.raises(RuntimeError, match="load_workflow"):
        manager.process_signal("start")
    manager.load_workflow(DEFINITION)
    assert manager.process_signal("start") == ["load", "work"]
    scheduler.shutdown(wait=True)
    assert engine.state.data["domain"]["n"] == 10


def test_workflow_manager_loop_consumes_the_bus_until_stopped():
    ran = []

    class Engine(IEngine):
        def execute_process(self, process_name, **kwargs):
            ran.append(process_name)

    bus = SignalBus()
    scheduler = ThreadExecutor(max_workers=1)
    manager = WorkflowManager(Engine(), scheduler, bus)
    manager.load_workflow(DEFINITION)
    loop = threading.Thread(target=manager.run_workflow, kwargs={"timeout": 0.01})
    loop.start()
    bus.emit("start")
    bus.emit("pause")
    deadline = threading.Event()
    for _ in range(1000):
        if bus.empty() and len(ran) == 3:
            break
        deadline.wait(0.01)
    manager.stop()
    loop.join(10)
    scheduler.shutdown(wait=True)
    assert not loop.is_alive()
    assert ran == ["load", "work", "checkpoint"]
