// Execution: the attempt loop of one execute() call, driven step by step so that the same policy
// serves C++ processes (Engine::execute) and Python coroutines (which await between attempts).
// It opens each attempt's transaction, and after the attempt decides from its status: done,
// retry after a backoff (conflicts, VIP refusals), or fail. It reports success only after the
// commit, grants/releases the VIP ticket through the conflict manager, and releases a ticket still
// held when the execution ends in any other way.
// Thread-safety: one Execution is driven by one thread (or one coroutine) at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "theus/engine.hpp"
#include "theus/status.hpp"
#include "theus/transaction.hpp"

namespace theus {

enum class AttemptAction : unsigned char {
  kDone,   // committed: return the result
  kRetry,  // wait `wait`, then begin another attempt
  kFail,   // give up: `error` is the status to report
};

struct AttemptOutcome {
  AttemptAction action = AttemptAction::kDone;
  std::chrono::milliseconds wait{0};
  Status error;
  // kFail only: set when the audit refused the failure report (log_fail over its threshold); then
  // `error` is the audit's refusal and this is the failure it replaced (chain it).
  std::optional<Status> replaced;
};

class Execution {
 public:
  // `min_attempts` can only raise the policy's budget (the `retries=` kwarg of execute()).
  Execution(Engine& engine, std::string process_name, uint32_t min_attempts = 0);
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;
  ~Execution();

  // The audit input gate (once, before the first attempt): `arg(field)` is the call's argument
  // or empty when absent. A refusal is the audit's Status; nothing has run.
  Status check_inputs(const std::function<std::optional<Value>(const std::string&)>& arg);
  // A fresh transaction on the current head, with the process name as VIP requester (and the
  // audit output gate as a pre-install hook when the process has output rules).
  Transaction begin_attempt();
  // Classifies the attempt's final status (body error, preparation error or commit result) and
  // reports it to the audit: success after a commit, log_fail(process) for a final failure
  // (kAborted, a cancelled execution, is not reported).
  AttemptOutcome conclude(const Status& attempt_status);
  // Audit warnings ("WARNING: Approaching threshold (c/t)") raised since the last call.
  std::vector<std::string> take_warnings();
  // Blocks until the VIP gate lets this process through or `wait` elapses (C++ callers).
  void wait_for_turn(std::chrono::milliseconds wait) const;

  const std::string& process_name() const noexcept { return name_; }
  bool audited() const noexcept { return auditor_ != nullptr; }
  uint32_t attempts() const noexcept { return attempts_; }    // attempts begun
  uint32_t conflicts() const noexcept { return conflicts_; }  // retryable failures seen

 private:
  AttemptOutcome fail(const Status& st);  // final failure: reported to the audit

  Engine* engine_;
  std::shared_ptr<const audit::Auditor> auditor_;       // null: no audit
  const audit::ProcessRules* rules_ = nullptr;          // this process's rules in auditor_, if any
  std::shared_ptr<std::vector<std::string>> warnings_;  // shared with the output-gate hook
  std::string name_;
  uint32_t budget_;
  std::chrono::steady_clock::time_point start_;
  uint32_t attempts_ = 0;
  uint32_t charged_ = 0;  // attempts counted against the budget (VIP refusals are free)
  uint32_t conflicts_ = 0;
  bool finished_ = false;
};

}  // namespace theus
