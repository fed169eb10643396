// The execution driver behind TheusEngine.execute / execute_sync. A PyProcess is the per-function
// handle (compiled contract, how to call it); a ProcessRun is one execute() call: it opens each
// attempt (transaction, scope, guard), finishes it (unwrap, untracked changes, compliance, result
// mapping, commit) and asks the core's Execution what to do next (done / retry / fail).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "theus_py.hpp"

namespace theus::py {

struct PyProcess {
  pyb::object callable;  // what is called (the inner function of our own @process wrapper)
  pyb::object accepted;  // frozenset of accepted keyword names, or None (takes **kwargs / not ours)
  std::string name;
  std::shared_ptr<const Contract> contract;
  bool has_contract = true;
  bool is_coroutine = false;
  bool parallel = false;
  // The strict-guards refusal of Signal/Meta inputs, computed once per contract (OK when none).
  Status input_zones;

  // callable(ctx, *args, **kwargs) with the keyword filtering of @process.
  pyb::object invoke(const pyb::handle& ctx, const pyb::args& args,
                     const pyb::kwargs& kwargs) const;
};

struct ProcessRun {
  std::shared_ptr<PyEngine> eng;
  std::shared_ptr<const PyProcess> proc;
  bool strict = true;
  std::unique_ptr<Execution> exec;
  pyb::object txobj;
  PyTx* ptx = nullptr;  // the C++ object behind txobj
  Scope* scope = nullptr;

  ProcessRun(std::shared_ptr<PyEngine> engine, std::shared_ptr<const PyProcess> process,
             uint32_t min_attempts);
  ~ProcessRun();

  pyb::object attempt();
  pyb::object invoke(const pyb::handle& ctx, const pyb::args& args,
                     const pyb::kwargs& kwargs) const {
    return proc->invoke(ctx, args, kwargs);
  }
  // (0, result) committed; (1, wait_seconds) retry. Raises for failures (attempt concluded).
  pyb::tuple complete(const pyb::object& raw_result);
  // A body exception: the wait in seconds when it is a retryable conflict, else None (re-raise).
  pyb::object fail(const pyb::object& exc);
  // Attempts of a synchronous function: done (value = result), or without `block` a backoff to
  // wait (value = seconds), or an awaitable the function returned (value = the awaitable).
  enum class Step : unsigned char { kDone, kWait, kAwait };
  struct StepResult {
    Step step;
    pyb::object value;
  };
  StepResult run_steps(bool block, const pyb::args& args, const pyb::kwargs& kwargs);
  // The same for Python: ("done" | "wait" | "await", value).
  pyb::tuple run_sync(bool block, const pyb::args& args, const pyb::kwargs& kwargs);
  void wait(double seconds);
  // The audit input gate over the call's keyword arguments (raises the audit's refusal).
  void check_inputs(const pyb::dict& kwargs);

 private:
  void end_attempt();
  // After a final failure: emits audit warnings; when the audit replaced the error, raises its
  // refusal chained to `original` (or to the replaced status); else raises out.error, or returns
  // when `original` is given (the caller re-raises it).
  void raise_failure(const AttemptOutcome& out, PyObject* original);
  pyb::object unwrap(const pyb::handle& obj);
  Status prepare_and_commit(const pyb::object& result);
  void apply_state_update(Transaction& tx, const pyb::object& su);
  void map_outputs(Transaction& tx, const pyb::object& result, const std::vector<Path>& written);
};

// Registrations made by the theus package.
PyObject*& state_update_class_ref();
PyObject*& restricted_factory_ref();
PyObject*& current_tx_var_ref();

// Signal payloads of CAS / StateUpdate: a dict of topic -> payload, or a list of dicts.
std::vector<Map> signal_maps(const pyb::object& signal);

// Brings the user's context objects up to date with the committed state (§5.8): only the paths
// written since the last sync are copied out when the engine still has their history.
void sync_back(PyEngine& e);

}  // namespace theus::py
