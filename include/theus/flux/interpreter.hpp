// The Flux interpreter (spec: workflow §1.2, §1.5, §1.9, §1.10).
//
// A Run is resumable: next() walks the step tree until it reaches a Process step and hands its
// name back; the driver executes it however it likes (inline C++, a Python call, an awaited
// coroutine) and calls completed(). Conditions are evaluated inside next() with the NameLookup the
// driver passes, so they always see the state committed by the previous step. One op is counted
// per step entered and per while iteration; exceeding max_ops fails with
//   "Flux Safety Trip: Exceeded <max_ops> operations. Check for infinite loops."
//
// Fsm is the observable lifecycle of a WorkflowEngine: Pending -> Running -> (WaitingIO <->
// Running) -> Complete | Failed, with a never-reset history and observers called on every
// transition.
//
// Thread-safety: a Run and an Fsm belong to one driver at a time; the Workflow they share is
// immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theus/flux/workflow.hpp"
#include "theus/snapshot.hpp"
#include "theus/status.hpp"

namespace theus {
class Engine;
}

namespace theus::flux {

// Where debug lines ("[FLUX-DEBUG] ...") go; null = nowhere. The default writes to stderr.
using TraceSink = std::function<void(std::string_view line)>;
TraceSink stderr_trace();

struct RunOptions {
  uint64_t max_ops = 10000;
  bool debug = false;
  TraceSink trace = stderr_trace();  // used only when debug is on
};

class Run {
 public:
  Run(std::shared_ptr<const Workflow> workflow, RunOptions options);

  // Advances to the next Process step: its name, or nullopt when the workflow is finished.
  // Errors: the safety trip (kFailedPrecondition), condition errors (the evaluator's codes).
  // After an error the run is finished; calling next() again returns the same error.
  Result<std::optional<std::string_view>> next(const NameLookup& names);
  // The process handed out by next() ran successfully: it is appended to executed().
  void completed();

  const std::vector<std::string>& executed() const noexcept { return executed_; }
  std::vector<std::string> take_executed() noexcept { return std::move(executed_); }
  uint64_t ops() const noexcept { return ops_; }
  bool finished() const noexcept { return frames_.empty(); }

 private:
  struct Frame {
    const std::vector<Step>* steps;
    size_t index;
    const Step* loop;  // the While step whose body this frame runs, else null
  };
  Status count_op();
  Result<bool> test(const Step& step, const NameLookup& names);
  void trace(std::string_view line) const;

  std::shared_ptr<const Workflow> workflow_;
  RunOptions options_;
  std::vector<Frame> frames_;
  std::vector<std::string> executed_;
  const Step* pending_ = nullptr;
  uint64_t ops_ = 0;
  Status error_;
};

// Legacy simulate (spec §1.10): walks the graph (`nodes`) evaluating conditional `next` entries,
// or, without a graph, lists the Process names of `steps` (descending into `run` only). Graph
// nodes count one op each against max_ops. Missing `nodes.start`: kInvalidArgument
// "Missing 'start' node".
Result<std::vector<std::string>> simulate(const Workflow& workflow, const NameLookup& names,
                                          const RunOptions& options = {});

enum class FsmState : unsigned char {
  kPending = 0,
  kRunning = 1,
  kWaitingIO = 2,
  kComplete = 3,
  kFailed = 4
};
std::string_view fsm_state_name(FsmState state) noexcept;  // "Pending", "Running", ...

class Fsm {
 public:
  using Observer = std::function<void(FsmState old_state, FsmState new_state)>;

  FsmState state() const noexcept { return state_; }
  const std::vector<FsmState>& history() const noexcept { return history_; }
  void add_observer(Observer observer) { observers_.push_back(std::move(observer)); }
  // Sets the state, appends it to the history, writes the debug line and calls the observers in
  // registration order (over a copy of the list, so an observer may register another).
  void transition(FsmState next, const RunOptions& options);

 private:
  FsmState state_ = FsmState::kPending;
  std::vector<FsmState> history_{FsmState::kPending};
  std::vector<Observer> observers_;
};

// The names in scope for a workflow driven by an engine: `domain` and `global` (the committed
// layers, empty maps when absent) and `signal` / `cmd` (the latched signals of that version), read
// from `*snapshot` at evaluation time (drivers point it at the head before evaluating conditions
// and release it before running a step, so no old version is kept alive across a commit). Any
// other name: kNameError.
NameLookup snapshot_scope(const SnapshotPtr* snapshot);

// Runs `workflow` against a C++ engine: every Process step is `engine.execute(name)` (the full
// pipeline: contract, retries, commit); conditions see the head after each step. Returns the
// executed names. Unregistered names fail with kNotFound "Process '<name>' not found in registry".
// `fsm`, when given, records the Running / Complete / Failed transitions.
Result<std::vector<std::string>> run_workflow(Engine& engine,
                                              std::shared_ptr<const Workflow> workflow,
                                              const RunOptions& options = {}, Fsm* fsm = nullptr);

}  // namespace theus::flux
