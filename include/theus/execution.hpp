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
#include <string>

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
};

class Execution {
 public:
  // `min_attempts` can only raise the policy's budget (the `retries=` kwarg of execute()).
  Execution(Engine& engine, std::string process_name, uint32_t min_attempts = 0);
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;
  ~Execution();

  // A fresh transaction on the current head, with the process name as VIP requester.
  Transaction begin_attempt();
  // Classifies the attempt's final status (body error, preparation error or commit result).
  AttemptOutcome conclude(const Status& attempt_status);
  // Blocks until the VIP gate lets this process through or `wait` elapses (C++ callers).
  void wait_for_turn(std::chrono::milliseconds wait) const;

  const std::string& process_name() const noexcept { return name_; }
  uint32_t attempts() const noexcept { return attempts_; }    // attempts begun
  uint32_t conflicts() const noexcept { return conflicts_; }  // retryable failures seen

 private:
  Engine* engine_;
  std::string name_;
  uint32_t budget_;
  std::chrono::steady_clock::time_point start_;
  uint32_t attempts_ = 0;
  uint32_t charged_ = 0;  // attempts counted against the budget (VIP refusals are free)
  uint32_t conflicts_ = 0;
  bool finished_ = false;
};

}  // namespace theus
