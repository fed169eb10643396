"""Flux workflows from Python (workflow_signals_audit.md §1): theus_core.WorkflowEngine (parsing,
execute / execute_async / simulate, the FSM, debug output) and TheusEngine.execute_workflow."""
import asyncio
import threading
import warnings
from dataclasses import dataclass

import pytest

import theus_core
from theus import BaseDomainContext, BaseSystemContext, TheusEngine, process
from theus.structures import StateUpdate
from theus.workflow import FSMState, WorkflowEngine

S = FSMState


def recorder(ctx=None, effects=None):
    """An executor that records names and applies optional per-name effects to ctx."""
    calls = []

    def executor(name):
        calls.append(name)
        if effects and name in effects:
            effects[name](ctx)

    return calls, executor


# ---- construction and parsing -----------------------------------------------------------------------


def test_core_and_package_export_the_same_classes():
    assert WorkflowEngine is theus_core.WorkflowEngine
    assert FSMState is theus_core.FSMState


def test_new_engine_is_pending_with_history():
    wf = WorkflowEngine("steps: [a]")
    assert wf.fsm_state == S.Pending
    assert wf.state == S.Pending
    assert wf.state_history == [S.Pending]
    assert "1 steps" in repr(wf) and "Pending" in repr(wf)


def test_fsm_state_is_int_comparable():
    assert [int(s) for s in (S.Pending, S.Running, S.WaitingIO, S.Complete, S.Failed)] == [0, 1, 2, 3, 4]
    assert S.Running == 1
    assert S.Complete > S.Running
    assert S.Failed.name == "Failed"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("steps:\n  - flux: while\n    do: [a]\n", "'flux: while' requires 'condition' field"),
        ("steps:\n  - flux: while\n    condition: 'x'\n", "'flux: while' requires 'do' block"),
        ("steps:\n  - {flux: if, then: [a]}\n", "'flux: if' requires 'condition' field"),
        ("steps:\n  - {flux: run}\n", "'flux: run' requires 'steps' block"),
        ("steps:\n  - {flux: foreach, steps: [a]}\n", "Unknown flux type: 'foreach'"),
        ("steps:\n  - {flux: [x]}\n", "'flux' value must be a string"),
        ("steps:\n  - {process: {a: 1}}\n", "'process' value must be a string"),
        ("steps:\n  - {on_fail: x}\n", "Unknown step format"),
        ("steps:\n  - [a]\n", "Invalid step type"),
    ],
)
def test_parse_errors_are_value_errors_with_the_spec_message(text, fragment):
    with pytest.raises(ValueError) as info:
        WorkflowEngine(text)
    assert str(info.value).startswith("Parse error: ")
    assert fragment in str(info.value)
    assert "<string>:" in str(info.value)  # the position of the offending node


def test_invalid_yaml_is_a_value_error():
    with pytest.raises(ValueError, match=r"^Invalid YAML: "):
        WorkflowEngine("steps: [a, {b: ]\n")


def test_bad_condition_is_refused_at_construction_d11():
    with pytest.raises(ValueError) as info:
        WorkflowEngine("steps:\n  - a\n  - {flux: if, condition: 'x = 1', then: [b]}\n")
    assert str(info.value).startswith("Parse error: invalid condition at steps[1]: 'x = 1'")


@pytest.mark.parametrize(
    "cond",
    ["__import__('os').system('true')", "open('x')", "(lambda: 1)()", "[x for x in y]", "a if b else c",
     "x[1:2]", "domain.__class__", "(y := 1)", "print('hi')"],
)
def test_unsafe_or_unsupported_conditions_are_refused(cond):
    with pytest.raises(ValueError, match="invalid condition"):
        WorkflowEngine(f'steps:\n  - flux: if\n    condition: "{cond}"\n    then: [a]\n')


def test_source_name_appears_in_errors():
    with pytest.raises(ValueError, match=r"flows/main\.yaml:2:5"):
        WorkflowEngine("steps:\n  - {flux: run}\n", source="flows/main.yaml")


def test_documents_without_steps_are_empty_workflows():
    for text in ["", "name: x\n", "- a\n", "steps: 5\n"]:
        assert WorkflowEngine(text).execute({}, lambda n: None) == []


def test_empty_blocks_warn_on_stderr_even_without_debug(capsys):
    WorkflowEngine("steps:\n  - {flux: while, condition: 'False', do: []}\n  - {flux: run, steps: []}\n"
                   "  - {flux: if, condition: 'True'}\n")
    err = capsys.readouterr().err
    assert "[FLUX-WARN] 'flux: while' has empty 'do' block" in err
    assert "[FLUX-WARN] 'flux: run' has empty 'steps' block." in err
    assert "[FLUX-WARN] 'flux: if' has empty 'then' and 'else' blocks." in err
    assert "[FLUX-DEBUG]" not in err


def test_subclassable():
    class Mine(WorkflowEngine):
        def names(self):
            return self.process_names()

    wf = Mine("steps: [a, {flux: if, condition: 'True', then: [b], else: [a]}]")
    assert wf.names() == ["a", "b"]
    assert wf.execute({}, lambda n: None) == ["a", "b"]


# ---- execute ------------------------------------------------------------------------------------------


def test_execute_runs_steps_and_returns_the_names():
    calls, ex = recorder()
    wf = WorkflowEngine("steps: [a, {process: b, name: second}, {flux: run, steps: [c]}]")
    assert wf.execute({}, ex) == ["a", "b", "c"]
    assert calls == ["a", "b", "c"]
    assert wf.state_history == [S.Pending, S.Running, S.Complete]


def test_if_else_and_while_see_ctx_changes_between_steps():
    ctx = {"domain": {"n": 3, "big": False}}

    def dec(c):
        c["domain"]["n"] -= 1

    calls, ex = recorder(ctx, {"dec": dec})
    wf = WorkflowEngine(
        """
steps:
  - flux: while
    condition: "domain.n > 0"
    do:
      - dec
      - flux: if
        condition: "domain['n'] % 2 == 0"
        then: [even]
        else: [odd]
  - done
"""
    )
    assert wf.execute(ctx, ex) == ["dec", "even", "dec", "odd", "dec", "even", "done"]


def test_top_level_rebinding_of_ctx_is_visible_to_later_conditions():
    ctx = {"flag": False}

    def flip(c):
        c["flag"] = True

    calls, ex = recorder(ctx, {"flip": flip})
    wf = WorkflowEngine("steps:\n  - flip\n  - {flux: if, condition: 'flag', then: [yes], else: [no]}\n")
    assert wf.execute(ctx, ex) == ["flip", "yes"]


def test_nested_blocks_and_python_semantics_of_conditions():
    ctx = {
        "domain": {"user": {"name": "ann", "roles": ["admin"]}, "items": [1, 2, 3]},
        "global": {"limit": 2},
        "signal": {"cmd_go": "True"},
    }
    wf = WorkflowEngine(
        """
steps:
  - flux: if
    condition: "domain.user.name == 'ann' and 'admin' in domain.user.roles"
    then:
      - flux: if
        condition: "len(domain['items']) > global.limit and global['limit'] < 10"
        then:
          - flux: run
            steps: [deep]
  - flux: if
    condition: "signal.get('cmd_go') == 'True' and signal.get('nope') is None"
    then: [signalled]
  - flux: if
    condition: "sum(domain.items) == 6 and max(domain.items) == 3 and 0 < min(domain.items) <= 1"
    then: [maths]
"""
    )
    assert wf.execute(ctx, lambda n: None) == ["deep", "signalled", "maths"]


def test_conditions_compare_python_objects_with_their_own_operators():
    from datetime import date
    from decimal import Decimal

    class Empty:
        def __len__(self):
            return 0

    ctx = {"domain": {"price": Decimal("150.50"), "day": date(2026, 11, 21), "box": Empty()}}
    wf = WorkflowEngine(
        """
steps:
  - {flux: if, condition: "domain.price > 100 and 150.5 == domain.price", then: [dearer]}
  - {flux: if, condition: "domain.price in [1, 150.5]", then: [listed]}
  - {flux: if, condition: "not domain.box", then: [empty]}
  - {flux: if, condition: "domain.day < domain.price", then: [never]}
"""
    )
    with pytest.raises(TypeError, match="not supported between instances of 'datetime.date' and 'decimal.Decimal'"):
        wf.execute(ctx, lambda name: None)
    assert wf.state_history[-1] == S.Failed


def test_safety_trip_matches_the_spec_example():
    calls, ex = recorder()
    wf = WorkflowEngine("steps:\n  - {flux: while, condition: 'True', do: [p]}\n", max_ops=10)
    with pytest.raises(RuntimeError) as info:
        wf.execute({}, ex)
    assert str(info.value) == "Flux Safety Trip: Exceeded 10 operations. Check for infinite loops."
    assert calls == ["p"] * 4
    assert wf.fsm_state == S.Failed


def test_empty_loop_trips_and_max_ops_one_trips_before_any_process(capsys):
    wf = WorkflowEngine("steps:\n  - {flux: while, condition: 'True', do: []}\n", max_ops=100)
    with pytest.raises(RuntimeError, match="Safety Trip"):
        wf.execute({}, lambda n: None)
    calls, ex = recorder()
    wf = WorkflowEngine("steps:\n  - {flux: while, condition: 'True', do: [p]}\n", max_ops=1)
    with pytest.raises(RuntimeError, match="Safety Trip"):
        wf.execute({}, ex)
    assert calls == []


def test_executor_exception_aborts_and_propagates_unchanged():
    class Boom(Exception):
        pass

    calls = []

    def ex(name):
        calls.append(name)
        if name == "b":
            raise Boom("b failed")

    wf = WorkflowEngine("steps: [a, b, c]")
    with pytest.raises(Boom, match="b failed"):
        wf.execute({}, ex)
    assert calls == ["a", "b"]
    assert wf.state_history == [S.Pending, S.Running, S.Failed]
    # A re-run appends to the history.
    wf2 = WorkflowEngine("steps: [a]")
    wf2.execute({}, lambda n: None)
    wf2.execute({}, lambda n: None)
    assert wf2.state_history == [S.Pending, S.Running, S.Complete, S.Running, S.Complete]


@pytest.mark.parametrize(
    "cond, exc",
    [
        ("missing > 1", NameError),
        ("domain['nope'] == 1", KeyError),
        ("domain.items[10] == 1", IndexError),
        ("domain.n / 0 > 1", ZeroDivisionError),
        ("domain.n < 'a'", TypeError),
        ("domain.items.nope", AttributeError),
    ],
)
def test_condition_errors_raise_builtin_classes_naming_step_and_expression(cond, exc):
    wf = WorkflowEngine(f'steps:\n  - a\n  - flux: if\n    condition: "{cond}"\n    then: [b]\n')
    calls, ex = recorder()
    with pytest.raises(exc) as info:
        wf.execute({"domain": {"n": 1, "items": [1]}}, ex)
    assert f"Flux condition error in steps[1]: '{cond}'" in str(info.value)
    assert calls == ["a"]
    assert wf.fsm_state == S.Failed


def test_ctx_must_be_a_dict():
    with pytest.raises(TypeError, match="ctx must be a dict"):
        WorkflowEngine("steps: [a]").execute([1], lambda n: None)


def test_observers_are_called_in_order_and_their_errors_are_warnings():
    wf = WorkflowEngine("steps: [a]")
    seen = []
    wf.add_state_observer(lambda old, new: seen.append(("first", old, new)))

    def broken(old, new):
        raise ValueError("observer bug")

    wf.add_state_observer(broken)
    wf.add_state_observer(lambda old, new: seen.append(("third", old, new)))
    with pytest.warns(RuntimeWarning, match="observer bug"):
        assert wf.execute({}, lambda n: None) == ["a"]
    assert seen == [
        ("first", S.Pending, S.Running),
        ("third", S.Pending, S.Running),
        ("first", S.Running, S.Complete),
        ("third", S.Running, S.Complete),
    ]
    with pytest.raises(TypeError):
        wf.add_state_observer(42)


def test_observer_sees_the_new_state_already_set():
    wf = WorkflowEngine("steps: [a]")
    states = []
    wf.add_state_observer(lambda old, new: states.append(wf.fsm_state == new))
    wf.execute({}, lambda n: None)
    assert states == [True, True]


def test_second_run_on_the_same_instance_while_running_is_refused():
    wf = WorkflowEngine("steps: [a, b]")
    errors = []

    def ex(name):
        if name == "a":
            with pytest.raises(RuntimeError, match="already running") as info:
                wf.execute({}, lambda n: None)
            errors.append(info.value)

    assert wf.execute({}, ex) == ["a", "b"]
    assert len(errors) == 1
    assert wf.state_history == [S.Pending, S.Running, S.Complete]
    assert wf.execute({}, lambda n: None) == ["a", "b"]  # usable again afterwards


def test_debug_output_goes_to_stderr_with_the_prefix(capsys):
    wf = WorkflowEngine("steps:\n  - {flux: if, condition: 'x == 1', then: [a]}\n", debug=True)
    wf.execute({"x": 1}, lambda n: None)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[FLUX-DEBUG] Parsed 1 top-level steps"
    assert "[FLUX-DEBUG] FSM State: Pending -> Running" in err
    assert "[FLUX-DEBUG] Op #1: steps[0] if 'x == 1'" in err
    assert "[FLUX-DEBUG] Evaluating condition: 'x == 1'" in err
    assert "[FLUX-DEBUG] Condition result: true" in err
    assert "[FLUX-DEBUG] Op #2: steps[0].then[0] process 'a'" in err
    assert err[-1] == "[FLUX-DEBUG] FSM State: Running -> Complete"
    assert all(line.startswith("[FLUX-DEBUG] ") for line in err)


def test_no_debug_output_when_off(capsys):
    WorkflowEngine("steps: [a]").execute({}, lambda n: None)
    assert "[FLUX-DEBUG]" not in capsys.readouterr().err


def test_coroutine_in_sync_execute_without_loop_fails():
    async def job():
        return 1

    wf = WorkflowEngine("steps: [a, b]")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coroutine is closed, not left un-awaited
        with pytest.raises(RuntimeError, match="'_loop' missing in context"):
            wf.execute({}, lambda n: job())
    assert wf.fsm_state == S.Failed


def test_coroutine_in_sync_execute_runs_on_the_loop_of_another_thread():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ran_on = []

    async def job(name):
        ran_on.append((name, threading.current_thread() is thread))

    try:
        wf = WorkflowEngine("steps: [a, b]")
        assert wf.execute({"_loop": loop}, job) == ["a", "b"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert ran_on == [("a", True), ("b", True)]
    assert wf.state_history == [S.Pending, S.Running, S.WaitingIO, S.Running, S.WaitingIO, S.Running, S.Complete]


# ---- execute_async ----------------------------------------------------------------------------------


async def test_execute_async_calls_sync_executors_inline():
    calls, ex = recorder()
    wf = WorkflowEngine("steps: [a, {flux: if, condition: 'True', then: [b]}]")
    assert await wf.execute_async({}, ex) == ["a", "b"]
    assert wf.state_history == [S.Pending, S.Running, S.Complete]


async def test_execute_async_awaits_awaitables_on_the_callers_loop():
    loop = asyncio.get_running_loop()
    ctx = {"n": 0}
    seen_loops = []

    async def ex(name):
        seen_loops.append(asyncio.get_running_loop() is loop)
        await asyncio.sleep(0)
        ctx["n"] += 1

    wf = WorkflowEngine("steps:\n  - {flux: while, condition: 'n < 3', do: [inc]}\n")
    assert await wf.execute_async(ctx, ex) == ["inc", "inc", "inc"]
    assert seen_loops == [True, True, True]
    assert wf.state_history.count(S.WaitingIO) == 3
    assert wf.state_history[-1] == S.Complete


async def test_execute_async_failure_and_cancellation_mark_failed():
    async def boom(name):
        raise KeyError("bad step")

    wf = WorkflowEngine("steps: [a, b]")
    with pytest.raises(KeyError, match="bad step"):
        await wf.execute_async({}, boom)
    assert wf.fsm_state == S.Failed

    started = asyncio.Event()

    async def slow(name):
        started.set()
        await asyncio.sleep(3600)

    wf2 = WorkflowEngine("steps: [a, b]")
    task = asyncio.ensure_future(wf2.execute_async({}, slow))
    await started.wait()
    assert wf2.fsm_state == S.WaitingIO
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wf2.fsm_state == S.Failed
    assert await wf2.execute_async({}, lambda n: None) == ["a", "b"]  # not stuck "running"


async def test_execute_async_refuses_a_concurrent_run():
    gate = asyncio.Event()

    async def wait(name):
        await gate.wait()

    wf = WorkflowEngine("steps: [a]")
    first = asyncio.ensure_future(wf.execute_async({}, wait))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        await wf.execute_async({}, wait)
    gate.set()
    assert await first == ["a"]


# ---- simulate ---------------------------------------------------------------------------------------


def test_simulate_lists_process_steps_and_walks_graphs():
    wf = WorkflowEngine("steps: [a, {flux: run, steps: [b]}, {flux: while, condition: 'True', do: [c]}]")
    assert wf.simulate({}) == ["a", "b"]
    graph = WorkflowEngine(
        """
nodes:
  start: check
  check:
    next:
      "if domain.x > 1": big
      else: small
  big: {next: done}
"""
    )
    assert graph.simulate({"domain": {"x": 5}}) == ["check", "big", "done"]
    assert graph.simulate({"domain": {"x": 0}}) == ["check", "small"]
    with pytest.raises(ValueError, match="Missing 'start' node"):
        WorkflowEngine("nodes:\n  a: {next: b}\n").simulate({})
    with pytest.raises(RuntimeError, match="Safety Trip"):
        WorkflowEngine("nodes:\n  start: a\n  a: {next: a}\n", max_ops=50).simulate({})


# ---- TheusEngine.execute_workflow ---------------------------------------------------------------------


@process(inputs=["domain.n"], outputs=["domain.n"])
def dec(ctx):
    return ctx.domain.n - 1


@process(inputs=["domain.log"], outputs=["domain.log"])
def note(ctx):
    ctx.domain.log.append(len(ctx.domain.log))


@process(outputs=["domain.seen"])
def ping(ctx):
    return StateUpdate(signal={"cmd_go": True})


@process(inputs=["domain.n"], outputs=["domain.n"])
async def adec(ctx):
    await asyncio.sleep(0)
    return ctx.domain.n - 1


def make_engine(n=3):
    engine = TheusEngine({"domain": {"n": n, "log": []}, "global": {"limit": 2}})
    for p in (dec, note, ping, adec):
        engine.register(p)
    return engine


LOOP = """
steps:
  - flux: while
    condition: "domain.n > 0"
    do:
      - dec
      - flux: if
        condition: "domain.n < global.limit"
        then: [note]
"""


def test_execute_workflow_is_awaitable_and_runs_the_full_pipeline(run, tmp_path, monkeypatch):
    (tmp_path / "flow.yaml").write_text(LOOP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    engine = make_engine(3)
    v0 = engine.state.version
    result = run(engine.execute_workflow("flow.yaml"))
    assert result == ["dec", "dec", "note", "dec", "note"]
    assert engine.state.data["domain"]["n"] == 0
    assert engine.state.data["domain"]["log"] == [0, 1]
    assert engine.state.version == v0 + 5  # one commit per process step


def test_execute_workflow_accepts_yaml_text_and_pathlike(run, tmp_path):
    engine = make_engine(1)
    assert run(engine.execute_workflow("steps:\n  - dec\n")) == ["dec"]
    path = tmp_path / "w.yaml"
    path.write_text("steps: [note]\n", encoding="utf-8")
    assert run(engine.execute_workflow(path)) == ["note"]


def test_execute_workflow_missing_file(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        run(make_engine().execute_workflow("nope.yaml"))


def test_unregistered_process_is_a_value_error_and_earlier_steps_stay_committed(run):
    engine = make_engine(3)
    with pytest.raises(ValueError, match=r"^Process 'ghost' not found in registry$"):
        run(engine.execute_workflow("steps:\n  - dec\n  - ghost\n  - dec\n"))
    assert engine.state.data["domain"]["n"] == 2


def test_process_failure_stops_the_workflow_and_commits_nothing_of_it(run):
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def explode(ctx):
        ctx.domain.n = 100
        raise RuntimeError("explode")

    engine = make_engine(3)
    engine.register(explode)
    with pytest.raises(RuntimeError, match="explode"):
        run(engine.execute_workflow("steps:\n  - dec\n  - explode\n  - dec\n"))
    assert engine.state.data["domain"]["n"] == 2


def test_contract_violation_inside_a_workflow_propagates(run):
    @process(inputs=["domain.n"], outputs=[])
    def sneaky(ctx):
        ctx.domain.n = 5

    engine = make_engine(3)
    engine.register(sneaky)
    with pytest.raises(PermissionError):
        run(engine.execute_workflow("steps:\n  - sneaky\n"))
    assert engine.state.data["domain"]["n"] == 3


def test_global_and_signals_in_conditions(run):
    engine = make_engine(5)
    with engine.transaction() as tx:
        tx.update(signal={"cmd_start": True})
    flow = """
steps:
  - flux: if
    condition: "signal.get('cmd_start') == 'True' and global['limit'] == 2 and global.limit == 2"
    then: [dec]
  - flux: if
    condition: "signal.get('cmd_start') == 'True'"
    then: [dec]
  - ping
  - flux: if
    condition: "cmd.get('cmd_go') == 'True'"
    then: [note]
"""
    # The injected signal is latched only until the first process commits; ping's signal (D8) is
    # visible to the condition right after it.
    assert run(engine.execute_workflow(flow)) == ["dec", "ping", "note"]


def test_async_processes_are_awaited_on_the_callers_loop(run):
    engine = make_engine(2)
    flow = "steps:\n  - {flux: while, condition: 'domain.n > 0', do: [adec]}\n"
    assert run(engine.execute_workflow(flow)) == ["adec", "adec"]
    assert engine.state.data["domain"]["n"] == 0


def test_tasks_spawned_by_a_process_progress_on_the_callers_loop(run):
    progressed = []

    @process(outputs=[])
    async def spawner(ctx):
        asyncio.get_running_loop().call_soon(progressed.append, "tick")

    @process(outputs=[])
    async def waiter(ctx):
        await asyncio.sleep(0)
        progressed.append("waited")

    engine = make_engine()
    engine.register(spawner)
    engine.register(waiter)
    run(engine.execute_workflow("steps: [spawner, waiter]\n"))
    assert progressed == ["tick", "waited"]


def test_max_ops_kwarg_and_environment(run, monkeypatch):
    engine = make_engine(100)
    loop = "steps:\n  - {flux: while, condition: 'domain.n > 0', do: [dec]}\n"
    with pytest.raises(RuntimeError, match="Exceeded 5 operations"):
        run(engine.execute_workflow(loop, max_ops=5))
    assert engine.state.data["domain"]["n"] == 98
    monkeypatch.setenv("THEUS_MAX_LOOPS", "9")
    with pytest.raises(RuntimeError, match="Exceeded 9 operations"):
        run(engine.execute_workflow(loop))
    assert run(engine.execute_workflow("steps: [dec]\n", unknown_kwarg=1)) == ["dec"]


def test_debug_from_kwarg_and_environment(run, monkeypatch, capsys):
    engine = make_engine(1)
    run(engine.execute_workflow("steps: [dec]\n", debug=True))
    err = capsys.readouterr().err
    assert "[FLUX-DEBUG] Op #1: steps[0] process 'dec'" in err
    monkeypatch.setenv("THEUS_FLUX_DEBUG", "yes")
    run(engine.execute_workflow("steps: [note]\n"))
    assert "[FLUX-DEBUG] Parsed 1 top-level steps" in capsys.readouterr().err
    monkeypatch.setenv("THEUS_FLUX_DEBUG", "0")
    run(engine.execute_workflow("steps: [note]\n"))
    assert "[FLUX-DEBUG]" not in capsys.readouterr().err


def test_committed_python_objects_in_conditions(run):
    from decimal import Decimal

    @process(inputs=["domain.balance"], outputs=["domain.balance"])
    def spend(ctx):
        ctx.domain.balance -= Decimal("0.10")

    engine = TheusEngine({"domain": {"balance": Decimal("0.30")}})
    engine.register(spend)
    flow = "steps:\n  - {flux: while, condition: 'domain.balance > 0', do: [spend]}\n"
    assert run(engine.execute_workflow(flow)) == ["spend"] * 3  # exact decimal arithmetic
    assert engine.state.data["domain"]["balance"] == Decimal("0.00")


def test_execute_workflow_sync_entry_point():
    engine = make_engine(2)
    assert engine.execute_workflow_sync("steps:\n  - {flux: while, condition: 'domain.n > 0', do: [dec]}\n") == [
        "dec",
        "dec",
    ]


async def test_execute_workflow_sync_refuses_a_running_loop():
    engine = make_engine(2)
    with pytest.raises(RuntimeError, match="event loop is running"):
        engine.execute_workflow_sync("steps: [dec]\n")


def test_concurrent_workflows_lose_no_update():
    @process(inputs=["domain.total"], outputs=["domain.total"])
    def bump(ctx):
        return ctx.domain.total + 1

    engine = TheusEngine({"domain": {"total": 0}})
    engine.register(bump)
    flow = "steps:\n" + "  - bump\n" * 50
    errors = []

    def worker():
        try:
            assert asyncio.run(engine.execute_workflow(flow)) == ["bump"] * 50
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert engine.state.data["domain"]["total"] == 200


def test_native_steps_refresh_the_users_context_object(run):
    @dataclass
    class Dom(BaseDomainContext):
        n: int = 3

    app = BaseSystemContext(domain=Dom())
    engine = TheusEngine(app)
    engine.register(dec)
    seen = []

    @process(inputs=["domain.n"], outputs=[])
    def peek(ctx):
        seen.append(app.domain.n)  # the user's object, refreshed after every committed step

    engine.register(peek)
    run(engine.execute_workflow("steps: [dec, peek, dec, peek]\n"))
    assert seen == [2, 1]
    assert app.domain.n == 1
