// The resumable Flux interpreter, the FSM, legacy simulate and the C++ engine driver.
#include "theus/flux/interpreter.hpp"

#include <cstdio>
#include <string>

#include "theus/engine.hpp"

namespace theus::flux {

TraceSink stderr_trace() {
  return [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

namespace {

Status safety_trip(uint64_t max_ops) {
  return Status(ErrorCode::kFailedPrecondition, "Flux Safety Trip: Exceeded " +
                                                    std::to_string(max_ops) +
                                                    " operations. Check for infinite loops.");
}

void debug_line(const RunOptions& options, std::string_view text) {
  if (!options.debug || !options.trace) return;
  std::string line = "[FLUX-DEBUG] ";
  line.append(text);
  options.trace(line);
}

}  // namespace

// ---- Run --------------------------------------------------------------------------------------

Run::Run(std::shared_ptr<const Workflow> workflow, RunOptions options)
    : workflow_(std::move(workflow)), options_(std::move(options)) {
  if (!workflow_->steps().empty()) frames_.push_back(Frame{&workflow_->steps(), 0, nullptr});
}

void Run::trace(std::string_view line) const { debug_line(options_, line); }

Status Run::count_op() {
  if (++ops_ > options_.max_ops) return safety_trip(options_.max_ops);
  return Status::ok();
}

Result<bool> Run::test(const Step& step, const NameLookup& names) {
  if (options_.debug) trace("Evaluating condition: '" + step.condition->text() + "'");
  Result<bool> r = step.condition->test(names);
  if (r.is_ok() && options_.debug)
    trace(std::string("Condition result: ") + (r.value() ? "true" : "false"));
  return r;
}

Result<std::optional<std::string_view>> Run::next(const NameLookup& names) {
  if (!error_.is_ok()) return error_;
  auto failed = [this](Status st) -> Result<std::optional<std::string_view>> {
    error_ = std::move(st);
    frames_.clear();
    pending_ = nullptr;
    return error_;
  };
  pending_ = nullptr;
  while (!frames_.empty()) {
    Frame& frame = frames_.back();
    if (frame.index >= frame.steps->size()) {
      const Step* loop = frame.loop;
      if (loop == nullptr) {
        frames_.pop_back();
        continue;
      }
      // End of a while body: the next iteration starts with the condition.
      Result<bool> again = test(*loop, names);
      if (!again.is_ok()) return failed(again.status());
      if (!again.value()) {
        frames_.pop_back();
        continue;
      }
      if (Status st = count_op(); !st) return failed(std::move(st));
      frames_.back().index = 0;
      continue;
    }
    const Step& step = (*frame.steps)[frame.index++];
    if (Status st = count_op(); !st) return failed(std::move(st));
    if (options_.debug) trace("Op #" + std::to_string(ops_) + ": " + step.describe());
    switch (step.kind) {
      case StepKind::kProcess:
        pending_ = &step;
        return std::optional<std::string_view>(step.process);
      case StepKind::kRun:
        if (!step.body.empty()) frames_.push_back(Frame{&step.body, 0, nullptr});
        break;
      case StepKind::kIf: {
        Result<bool> cond = test(step, names);
        if (!cond.is_ok()) return failed(cond.status());
        const std::vector<Step>& branch = cond.value() ? step.body : step.orelse;
        if (!branch.empty()) frames_.push_back(Frame{&branch, 0, nullptr});
        break;
      }
      case StepKind::kWhile: {
        Result<bool> cond = test(step, names);
        if (!cond.is_ok()) return failed(cond.status());
        if (!cond.value()) break;
        if (Status st = count_op(); !st) return failed(std::move(st));
        frames_.push_back(Frame{&step.body, 0, &step});
        break;
      }
    }
  }
  return std::optional<std::string_view>();
}

void Run::completed() {
  if (pending_ == nullptr) return;
  executed_.push_back(pending_->process);
  pending_ = nullptr;
}

// ---- simulate ---------------------------------------------------------------------------------

Result<std::vector<std::string>> simulate(const Workflow& workflow, const NameLookup& names,
                                          const RunOptions& options) {
  if (!workflow.has_graph()) return workflow.flattened_process_names();
  if (!workflow.graph_start()) return Status(ErrorCode::kInvalidArgument, "Missing 'start' node");
  std::vector<std::string> path;
  std::string current = *workflow.graph_start();
  uint64_t ops = 0;
  for (;;) {
    if (++ops > options.max_ops) return safety_trip(options.max_ops);
    if (options.debug)
      debug_line(options, "Op #" + std::to_string(ops) + ": node '" + current + "'");
    path.push_back(current);
    const GraphNode* node = workflow.graph_node(current);
    if (node == nullptr) break;
    if (node->next) {
      current = *node->next;
      continue;
    }
    const std::string* target = nullptr;
    for (const GraphBranch& b : node->branches) {
      if (!b.condition) {
        target = &b.target;
        break;
      }
      Result<bool> cond = b.condition->test(names);
      if (!cond.is_ok()) return cond.status();
      if (cond.value()) {
        target = &b.target;
        break;
      }
    }
    if (target == nullptr) break;
    current = *target;
  }
  return path;
}

// ---- FSM --------------------------------------------------------------------------------------

std::string_view fsm_state_name(FsmState state) noexcept {
  switch (state) {
    case FsmState::kPending:
      return "Pending";
    case FsmState::kRunning:
      return "Running";
    case FsmState::kWaitingIO:
      return "WaitingIO";
    case FsmState::kComplete:
      return "Complete";
    case FsmState::kFailed:
      return "Failed";
  }
  return "Unknown";
}

void Fsm::transition(FsmState next, const RunOptions& options) {
  FsmState old = state_;
  state_ = next;
  history_.push_back(next);
  if (options.debug) {
    debug_line(options, "FSM State: " + std::string(fsm_state_name(old)) + " -> " +
                            std::string(fsm_state_name(next)));
  }
  if (observers_.empty()) return;
  std::vector<Observer> observers = observers_;
  for (const Observer& observer : observers) observer(old, next);
}

// ---- engine driver ----------------------------------------------------------------------------

NameLookup snapshot_scope(const SnapshotPtr* snapshot) {
  return [snapshot](std::string_view name) -> Result<Value> {
    const Snapshot& snap = **snapshot;
    if (name == "domain" || name == "global") {
      const Value* v = snap.data.find(name);
      return v ? *v : Value(Map());
    }
    if (name == "signal" || name == "cmd") return Value(snap.signals);
    return Status(ErrorCode::kNameError, "name '" + std::string(name) + "' is not defined");
  };
}

Result<std::vector<std::string>> run_workflow(Engine& engine,
                                              std::shared_ptr<const Workflow> workflow,
                                              const RunOptions& options, Fsm* fsm) {
  if (fsm) fsm->transition(FsmState::kRunning, options);
  Run run(std::move(workflow), options);
  SnapshotPtr head;
  NameLookup scope = snapshot_scope(&head);
  for (;;) {
    // Conditions read the head as of now (after the previous step committed). The snapshot is let
    // go before the step runs: holding it would keep the old version alive across the commit.
    head = engine.snapshot();
    Result<std::optional<std::string_view>> step = run.next(scope);
    head.reset();
    Status st = step.is_ok() ? Status::ok() : step.status();
    if (st.is_ok()) {
      if (!step.value()) break;
      // Unregistered names fail inside execute: kNotFound "Process '<name>' not found in registry".
      if (Result<Value> out = engine.execute(*step.value()); !out.is_ok()) {
        st = out.status();
      } else {
        run.completed();
        continue;
      }
    }
    if (fsm) fsm->transition(FsmState::kFailed, options);
    return st;
  }
  if (fsm) fsm->transition(FsmState::kComplete, options);
  return run.take_executed();
}

}  // namespace theus::flux
