// The Flux interpreter (spec workflow §1.2, §1.5, §1.9, §1.10): op counting and the safety trip,
// if/while/run semantics, resumability, debug trace lines, the FSM, legacy simulate, and workflows
// driving C++ processes on an Engine.
#include "theus/flux/interpreter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "theus/engine.hpp"
#include "theus/process_context.hpp"

namespace theus::flux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::shared_ptr<const Workflow> load(std::string_view text) {
  Result<Workflow> wf = Workflow::parse(text);
  EXPECT_TRUE(wf.is_ok()) << wf.status().message();
  return std::make_shared<const Workflow>(wf.is_ok() ? std::move(wf).value() : Workflow());
}

// A scope of named integers the "processes" below modify.
struct Vars {
  std::map<std::string, Value, std::less<>> values;
  NameLookup lookup() {
    return [this](std::string_view name) -> Result<Value> {
      auto it = values.find(name);
      if (it == values.end())
        return Status(ErrorCode::kNameError, "name '" + std::string(name) + "' is not defined");
      return it->second;
    };
  }
};

// Drives `run` to the end, calling `exec` for every process; returns the final status.
Status drive(flux::Run& run, Vars& vars, const std::function<void(std::string_view)>& exec = {}) {
  NameLookup names = vars.lookup();
  for (;;) {
    Result<std::optional<std::string_view>> step = run.next(names);
    if (!step.is_ok()) return step.status();
    if (!step.value()) return Status::ok();
    if (exec) exec(*step.value());
    run.completed();
  }
}

RunOptions opts(uint64_t max_ops, std::vector<std::string>* trace = nullptr) {
  RunOptions o;
  o.max_ops = max_ops;
  o.debug = trace != nullptr;
  o.trace = [trace](std::string_view line) {
    if (trace) trace->emplace_back(line);
  };
  return o;
}

TEST(InterpreterTest, RunsStepsInOrder) {
  flux::Run run(load("steps: [a, {process: b}, {flux: run, steps: [c, d]}, e]"), opts(100));
  Vars vars;
  ASSERT_TRUE(drive(run, vars).is_ok());
  EXPECT_THAT(run.executed(), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_EQ(run.ops(), 6u);  // 5 processes + the run block
  EXPECT_TRUE(run.finished());
}

TEST(InterpreterTest, EmptyWorkflowFinishesAtOnce) {
  flux::Run run(load(""), opts(1));
  Vars vars;
  ASSERT_TRUE(drive(run, vars).is_ok());
  EXPECT_THAT(run.executed(), IsEmpty());
  EXPECT_EQ(run.ops(), 0u);
}

TEST(InterpreterTest, IfTakesThenOrElse) {
  auto wf = load("steps:\n  - {flux: if, condition: 'x > 1', then: [big], else: [small]}\n");
  Vars vars;
  vars.values["x"] = Value(5);
  flux::Run a(wf, opts(100));
  ASSERT_TRUE(drive(a, vars).is_ok());
  EXPECT_THAT(a.executed(), ElementsAre("big"));
  vars.values["x"] = Value(0);
  flux::Run b(wf, opts(100));
  ASSERT_TRUE(drive(b, vars).is_ok());
  EXPECT_THAT(b.executed(), ElementsAre("small"));
}

TEST(InterpreterTest, WhileReevaluatesAfterEachIterationAgainstTheNewState) {
  flux::Run run(load("steps:\n  - {flux: while, condition: 'n > 0', do: [dec]}\n  - done\n"),
                opts(1000));
  Vars vars;
  vars.values["n"] = Value(3);
  ASSERT_TRUE(drive(run, vars, [&](std::string_view name) {
                if (name == "dec") vars.values["n"] = Value(vars.values["n"].as_int() - 1);
              }).is_ok());
  EXPECT_THAT(run.executed(), ElementsAre("dec", "dec", "dec", "done"));
  EXPECT_EQ(vars.values["n"], Value(0));
  // ops: while (1) + 3 x (iteration + dec) + done = 8
  EXPECT_EQ(run.ops(), 8u);
}

TEST(InterpreterTest, SafetyTripMatchesTheSpecExample) {
  // while True around one process with max_ops=10: the process runs 4 times, op 11 trips.
  flux::Run run(load("steps:\n  - {flux: while, condition: 'True', do: [p]}\n"), opts(10));
  Vars vars;
  Status st = drive(run, vars);
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "Flux Safety Trip: Exceeded 10 operations. Check for infinite loops.");
  EXPECT_EQ(run.executed().size(), 4u);
  EXPECT_TRUE(run.finished());
  // The error sticks.
  Result<std::optional<std::string_view>> again = run.next(vars.lookup());
  EXPECT_FALSE(again.is_ok());
  EXPECT_THAT(again.status().message(), HasSubstr("Safety Trip"));
}

TEST(InterpreterTest, EmptyLoopBodyStillTrips) {
  flux::Run run(load("steps:\n  - {flux: while, condition: 'True', do: []}\n"), opts(50));
  Vars vars;
  Status st = drive(run, vars);
  EXPECT_THAT(st.message(), StartsWith("Flux Safety Trip: Exceeded 50 operations"));
}

TEST(InterpreterTest, MaxOpsOneTripsBeforeTheSecondStep) {
  flux::Run one(load("steps: [a, b]"), opts(1));
  Vars vars;
  Status st = drive(one, vars);
  EXPECT_FALSE(st.is_ok());
  EXPECT_THAT(one.executed(), ElementsAre("a"));
  flux::Run loop(load("steps:\n  - {flux: while, condition: 'True', do: [p]}\n"), opts(1));
  EXPECT_FALSE(drive(loop, vars).is_ok());
  EXPECT_THAT(loop.executed(), IsEmpty());  // trips before any process
}

TEST(InterpreterTest, ExactBudgetDoesNotTrip) {
  flux::Run run(load("steps: [a, b, c]"), opts(3));
  Vars vars;
  EXPECT_TRUE(drive(run, vars).is_ok());
  EXPECT_EQ(run.executed().size(), 3u);
}

TEST(InterpreterTest, ConditionErrorsNameTheStepAndStopTheRun) {
  flux::Run run(load("steps:\n  - a\n  - {flux: if, condition: 'missing > 1', then: [b]}\n  - c\n"),
                opts(100));
  Vars vars;
  Status st = drive(run, vars);
  EXPECT_EQ(st.code(), ErrorCode::kNameError);
  EXPECT_THAT(st.message(), StartsWith("Flux condition error in steps[1]: 'missing > 1'"));
  EXPECT_THAT(run.executed(), ElementsAre("a"));
}

TEST(InterpreterTest, NextWithoutCompletedDoesNotRecordTheProcess) {
  // A process that failed is never completed(): it is not in executed().
  flux::Run run(load("steps: [a, b]"), opts(100));
  Vars vars;
  auto first = run.next(vars.lookup());
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(*first.value(), "a");
  auto second = run.next(vars.lookup());
  EXPECT_EQ(*second.value(), "b");
  run.completed();
  EXPECT_THAT(run.executed(), ElementsAre("b"));
}

TEST(InterpreterTest, DebugTraceLines) {
  std::vector<std::string> trace;
  flux::Run run(load("steps:\n  - {flux: if, condition: 'x == 1', then: [a]}\n"),
                opts(100, &trace));
  Vars vars;
  vars.values["x"] = Value(1);
  ASSERT_TRUE(drive(run, vars).is_ok());
  EXPECT_THAT(trace, ElementsAre("[FLUX-DEBUG] Op #1: steps[0] if 'x == 1'",
                                 "[FLUX-DEBUG] Evaluating condition: 'x == 1'",
                                 "[FLUX-DEBUG] Condition result: true",
                                 "[FLUX-DEBUG] Op #2: steps[0].then[0] process 'a'"));
}

TEST(InterpreterTest, NoTraceWhenDebugIsOff) {
  std::vector<std::string> trace;
  RunOptions o = opts(100, &trace);
  o.debug = false;
  flux::Run run(load("steps: [a]"), o);
  Vars vars;
  ASSERT_TRUE(drive(run, vars).is_ok());
  EXPECT_THAT(trace, IsEmpty());
}

TEST(FsmTest, TransitionsHistoryAndObservers) {
  Fsm fsm;
  EXPECT_EQ(fsm.state(), FsmState::kPending);
  std::vector<std::pair<FsmState, FsmState>> seen;
  fsm.add_observer([&](FsmState a, FsmState b) { seen.emplace_back(a, b); });
  std::vector<std::string> trace;
  RunOptions o = opts(10, &trace);
  fsm.transition(FsmState::kRunning, o);
  fsm.transition(FsmState::kWaitingIO, o);
  fsm.transition(FsmState::kRunning, o);
  fsm.transition(FsmState::kComplete, o);
  EXPECT_THAT(fsm.history(),
              ElementsAre(FsmState::kPending, FsmState::kRunning, FsmState::kWaitingIO,
                          FsmState::kRunning, FsmState::kComplete));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1], std::make_pair(FsmState::kRunning, FsmState::kWaitingIO));
  EXPECT_EQ(trace[0], "[FLUX-DEBUG] FSM State: Pending -> Running");
  EXPECT_EQ(fsm_state_name(FsmState::kWaitingIO), "WaitingIO");
}

TEST(FsmTest, ObserverMayRegisterAnotherDuringNotification) {
  Fsm fsm;
  int late = 0;
  fsm.add_observer(
      [&](FsmState, FsmState) { fsm.add_observer([&](FsmState, FsmState) { ++late; }); });
  fsm.transition(FsmState::kRunning, RunOptions{});
  EXPECT_EQ(late, 0);  // registered during the call: notified from the next transition on
  fsm.transition(FsmState::kComplete, RunOptions{});
  EXPECT_EQ(late, 1);
}

TEST(SimulateTest, StepListFlattensRunBlocksOnly) {
  auto wf =
      load("steps: [a, {flux: run, steps: [b]}, {flux: if, condition: 'True', then: [c]}, d]");
  Vars vars;
  auto names = simulate(*wf, vars.lookup());
  ASSERT_TRUE(names.is_ok());
  EXPECT_THAT(names.value(), ElementsAre("a", "b", "d"));
}

TEST(SimulateTest, GraphFollowsGotosAndConditions) {
  auto wf = load(R"(
nodes:
  start: a
  a: {next: b}
  b:
    next:
      "if x > 1": big
      else: small
  big: {next: end}
  small: {}
)");
  Vars vars;
  vars.values["x"] = Value(5);
  EXPECT_THAT(simulate(*wf, vars.lookup()).value(), ElementsAre("a", "b", "big", "end"));
  vars.values["x"] = Value(0);
  EXPECT_THAT(simulate(*wf, vars.lookup()).value(), ElementsAre("a", "b", "small"));
}

TEST(SimulateTest, GraphWithoutMatchingBranchStops) {
  auto wf = load("nodes:\n  start: a\n  a:\n    next:\n      \"if x\": b\n");
  Vars vars;
  vars.values["x"] = Value(false);
  EXPECT_THAT(simulate(*wf, vars.lookup()).value(), ElementsAre("a"));
}

TEST(SimulateTest, GraphCycleTripsAndMissingStartFails) {
  auto cycle = load("nodes:\n  start: a\n  a: {next: b}\n  b: {next: a}\n");
  Vars vars;
  auto r = simulate(*cycle, vars.lookup(), opts(20));
  EXPECT_THAT(r.status().message(), StartsWith("Flux Safety Trip: Exceeded 20 operations"));
  auto nostart = load("nodes:\n  a: {next: b}\n");
  EXPECT_EQ(simulate(*nostart, vars.lookup()).status().message(), "Missing 'start' node");
}

// ---- workflows on an engine with C++ processes -------------------------------------------------

Engine counter_engine(int64_t start) {
  Engine engine;
  EXPECT_TRUE(
      engine.compare_and_swap(0, Map{{"domain", Map{{"n", start}, {"log", List{}}}}}).is_ok());
  auto contract = Contract::make({"domain.n"}, {"domain.n"}).value();
  EXPECT_TRUE(engine
                  .register_process({"dec", contract},
                                    [](ProcessContext& ctx) -> Result<Value> {
                                      THEUS_ASSIGN_OR_RETURN(Value n, ctx.get("domain.n"));
                                      return Value(n.as_int() - 1);
                                    })
                  .is_ok());
  auto log_contract = Contract::make({"domain.log"}, {"domain.log"}).value();
  EXPECT_TRUE(engine
                  .register_process({"note", log_contract},
                                    [](ProcessContext& ctx) -> Result<Value> {
                                      THEUS_RETURN_IF_ERROR(ctx.list_append(
                                          Path::parse("domain.log").value(), Value("x")));
                                      return Value();
                                    })
                  .is_ok());
  EXPECT_TRUE(engine
                  .register_process({"ping", Contract::make({}, {}).value()},
                                    [](ProcessContext& ctx) -> Result<Value> {
                                      ctx.emit_signal("cmd_go", Value(true));
                                      return Value();
                                    })
                  .is_ok());
  return engine;
}

TEST(EngineWorkflowTest, ConditionsSeeEachCommittedStep) {
  Engine engine = counter_engine(3);
  auto wf = load("steps:\n  - {flux: while, condition: 'domain.n > 0', do: [dec]}\n  - note\n");
  Fsm fsm;
  auto r = run_workflow(engine, wf, RunOptions{}, &fsm);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_THAT(r.value(), ElementsAre("dec", "dec", "dec", "note"));
  EXPECT_EQ(engine.snapshot()->get("domain.n").value(), Value(0));
  EXPECT_EQ(engine.snapshot()->get("domain.log").value(), Value(List{Value("x")}));
  EXPECT_THAT(fsm.history(),
              ElementsAre(FsmState::kPending, FsmState::kRunning, FsmState::kComplete));
}

TEST(EngineWorkflowTest, GlobalIsAUsableNameAndAbsentLayersAreEmpty) {
  Engine engine = counter_engine(2);
  auto wf = load(
      "steps:\n  - {flux: if, condition: \"len(global) == 0 and global.get('limit', 7) == 7\", "
      "then: [dec]}\n");
  auto r = run_workflow(engine, wf);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_THAT(r.value(), ElementsAre("dec"));
}

TEST(EngineWorkflowTest, SignalsLatchedByAStepAreVisibleToTheNextCondition) {
  Engine engine = counter_engine(0);
  auto wf = load(R"(
steps:
  - {flux: if, condition: "signal.get('cmd_go') == 'True'", then: [dec]}
  - ping
  - {flux: if, condition: "cmd.get('cmd_go') == 'True'", then: [note]}
  - dec
  - {flux: if, condition: "'cmd_go' in signal", then: [note]}
)");
  auto r = run_workflow(engine, wf);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  // The latch lives for one version: after `dec` commits, cmd_go is gone.
  EXPECT_THAT(r.value(), ElementsAre("ping", "note", "dec"));
}

TEST(EngineWorkflowTest, UnknownProcessAndProcessErrorsFailTheFsm) {
  Engine engine = counter_engine(1);
  Fsm fsm;
  auto r = run_workflow(engine, load("steps: [dec, nope, dec]"), RunOptions{}, &fsm);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "Process 'nope' not found in registry");
  EXPECT_EQ(fsm.state(), FsmState::kFailed);
  EXPECT_EQ(engine.snapshot()->get("domain.n").value(), Value(0));  // the first dec committed

  auto bad = Contract::make({"domain.n"}, {"domain.n"}).value();
  ASSERT_TRUE(engine
                  .register_process({"boom", bad},
                                    [](ProcessContext&) -> Result<Value> {
                                      return Status(ErrorCode::kInvalidArgument, "boom failed");
                                    })
                  .is_ok());
  uint64_t before = engine.version();
  auto r2 = run_workflow(engine, load("steps: [boom, dec]"));
  EXPECT_EQ(r2.status().message(), "boom failed");
  EXPECT_EQ(engine.version(), before);  // nothing committed, later steps did not run
}

TEST(EngineWorkflowTest, SafetyTripThroughTheEngine) {
  Engine engine = counter_engine(0);
  RunOptions o;
  o.max_ops = 7;
  auto r =
      run_workflow(engine, load("steps:\n  - {flux: while, condition: 'True', do: [note]}\n"), o);
  EXPECT_THAT(r.status().message(), HasSubstr("Safety Trip"));
  EXPECT_EQ(engine.snapshot()->get("domain.log").value().as_list().size(), 3u);
}

}  // namespace
}  // namespace theus::flux
