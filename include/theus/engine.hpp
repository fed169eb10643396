// Engine: the transactional state engine. Holds the head snapshot (published atomically; readers
// never wait for a committer), the commit pipeline (VIP gate -> per-path conflict check -> replay
// -> pre-install hooks -> install -> observers -> outbox), the conflict manager, the process
// registry and execute() with the retry policy. Thread-safety: every method may be called from any
// thread; commits are serialised internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theus/access_policy.hpp"
#include "theus/audit.hpp"
#include "theus/conflict_manager.hpp"
#include "theus/contract.hpp"
#include "theus/signal_hub.hpp"
#include "theus/snapshot.hpp"
#include "theus/status.hpp"
#include "theus/transaction.hpp"
#include "theus/value.hpp"
#include "theus/zone.hpp"

namespace theus {

class ProcessContext;

struct EngineOptions {
  bool strict_guards = true;  // key-level read checks (D6) and output compliance for processes
  bool strict_cas = false;    // whole-state version equality instead of per-path conflicts
  // Write timeout of the transactions execute() opens (manual transactions default to 5000 ms).
  std::chrono::milliseconds write_timeout{300000};
  RetryPolicy retry;  // attempts, deadline, backoff and VIP threshold of execute()
};

// A C++ process: reads and writes through its context, returns a value for output mapping.
// Returning an error Status aborts the attempt (nothing is committed).
using ProcessFn = std::function<Result<Value>(ProcessContext& ctx)>;

struct ProcessSpec {
  std::string name;
  Contract contract;
};

// Runs under the commit lock after a version is installed (e.g. signal publishing).
using CommitObserver = std::function<void(const Snapshot& installed, const CommitView& view)>;

struct EngineStats {
  uint64_t commits = 0;        // versions installed
  uint64_t conflicts = 0;      // commits refused by the per-path / strict check
  uint64_t busy = 0;           // commits refused by the VIP gate
  uint64_t hook_refusals = 0;  // commits refused by a pre-install hook
  uint64_t retries = 0;        // execute() attempts retried after a conflict
  uint64_t gave_up = 0;        // execute() calls that exhausted the retry policy
  uint64_t vip_grants = 0;     // times a VIP ticket was handed out
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  Engine(Engine&& other) noexcept;
  Engine& operator=(Engine&& other) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  // ---- state ---------------------------------------------------------------------------------
  SnapshotPtr snapshot() const;  // O(1); never blocks on a committer
  uint64_t version() const;

  // ---- writing -------------------------------------------------------------------------------
  // A new transaction on the current head (RAII: destroyed uncommitted = aborted).
  Transaction transaction(TransactionOptions options = {});
  // Deep-merges `data` / `heavy` as one new version if nothing they write changed since
  // `expected_version` (or, with strict CAS, nothing at all). Keys containing '.' or '[' are
  // paths. Errors: kBusy, kConflict, kStrictConflict, hook refusals.
  Status compare_and_swap(uint64_t expected_version, const Map& data, const Map& heavy = {},
                          std::vector<Map> signals = {},
                          std::optional<std::string> requester = std::nullopt);

  // ---- processes -----------------------------------------------------------------------------
  // Registers (or replaces) a process. Errors: kInvalidArgument for an empty name,
  // kContractViolation for a PURE process with Signal/Meta inputs.
  Status register_process(ProcessSpec spec, ProcessFn fn);
  bool has_process(std::string_view name) const;
  // Runs a process in a transaction with contract checks, output mapping, audit and the retry
  // policy; returns the process's result. kNotFound: "Process '<name>' not found in registry";
  // kAuditStop / kAuditAbort / kAuditBlock when the audit refuses.
  Result<Value> execute(std::string_view name, Map args = {});

  // ---- configuration -------------------------------------------------------------------------
  bool strict_cas() const;
  void set_strict_cas(bool enabled);
  bool strict_guards() const;
  void set_strict_guards(bool enabled);
  const EngineOptions& options() const;
  ConflictManager& conflicts();
  PhysicsOverrides& physics_overrides();
  // Hooks run in registration order before every install, after the transaction's own hooks;
  // replacing a name replaces its hook.
  void set_pre_install_hook(const std::string& name, CommitHook hook);
  void remove_pre_install_hook(const std::string& name);
  void add_commit_observer(CommitObserver observer);
  // Audit of execute() (spec: workflow §3.5): input gate before the first attempt, output gate on
  // the final delta at commit, log_fail on every failure, log_success after the commit. Null
  // disables audit. Executions already running keep the auditor they started with.
  void set_auditor(std::shared_ptr<const audit::Auditor> auditor);
  std::shared_ptr<const audit::Auditor> auditor() const;
  // Called around every wait the engine may block in (the commit lock when it is contended, the
  // VIP gate): an embedder holding a global lock (Python's GIL) releases it in `before` and takes
  // it back in `after`, so hooks that need that lock cannot deadlock against a waiting thread.
  void set_blocking_hooks(std::function<void()> before, std::function<void()> after);

  // ---- signals -------------------------------------------------------------------------------
  // The engine's hub: after each install the commit publishes "<topic>:<payload>" for every signal
  // it latched (in commit order, strictly after the new version is visible).
  SignalHub& signal_hub();

  // ---- outbox --------------------------------------------------------------------------------
  // Messages released by committed transactions, in commit order.
  std::vector<OutboxMessage> drain_outbox();
  size_t outbox_size() const;
  // Queue access for at-least-once delivery: look at the oldest message, remove it once delivered.
  void push_outbox(OutboxMessage message);
  std::optional<OutboxMessage> peek_outbox() const;
  bool pop_outbox();

  EngineStats stats() const;

  // The write sets of the commits after `version`, oldest first, appended to `out`; `*up_to` is
  // the newest version included. False when the engine no longer retains them (it keeps the last
  // kWriteHistory commits). Used to refresh mirrors of the state (user objects) incrementally.
  static constexpr size_t kWriteHistory = 256;
  bool writes_since(uint64_t version, std::vector<WriteRecord>* out,
                    uint64_t* up_to = nullptr) const;
  // The same without copying: `fn(const WriteRecord&)` for each write, oldest commit first.
  bool for_each_write_since(uint64_t version, const std::function<void(const WriteRecord&)>& fn,
                            uint64_t* up_to = nullptr) const;

  // Shared internals (for Transaction and the language bindings).
  const std::shared_ptr<detail::EngineImpl>& impl() const noexcept { return impl_; }

 private:
  std::shared_ptr<detail::EngineImpl> impl_;
};

}  // namespace theus
