// Execution: retry policy of execute() (bounded attempts and deadline, backoff, VIP hand-off).
#include "theus/execution.hpp"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "engine/engine_impl.hpp"

namespace theus {

Execution::Execution(Engine& engine, std::string process_name, uint32_t min_attempts)
    : engine_(&engine),
      auditor_(engine.auditor()),
      warnings_(std::make_shared<std::vector<std::string>>()),
      name_(std::move(process_name)),
      budget_(std::max(engine.options().retry.max_attempts, min_attempts)),
      start_(std::chrono::steady_clock::now()) {
  if (auditor_ && auditor_->rules) rules_ = auditor_->rules->rules_for(name_);
}

Status Execution::check_inputs(const std::function<std::optional<Value>(const std::string&)>& arg) {
  if (!rules_ || rules_->inputs.empty()) return Status::ok();
  std::vector<audit::Violation> violations = auditor_->rules->check_inputs(name_, arg);
  for (audit::Violation& v : violations) v.version = engine_->version();
  return auditor_->report(violations, warnings_.get());
}

std::vector<std::string> Execution::take_warnings() { return std::exchange(*warnings_, {}); }

Execution::~Execution() {
  // An execution that ends without committing must not keep the ticket (it would block everyone).
  if (!finished_) engine_->conflicts().release_vip(name_);
}

Transaction Execution::begin_attempt() {
  ++attempts_;
  TransactionOptions opts;
  opts.write_timeout = engine_->options().write_timeout;
  opts.requester = name_;
  Transaction tx = engine_->transaction(std::move(opts));
  if (rules_ && !rules_->outputs.empty()) {
    // The output gate: after the conflict check, before the schema gate, on the final delta;
    // only the committing attempt reaches it, so it runs once per execution (D9).
    tx.add_pre_install_hook(
        [auditor = auditor_, name = name_, warnings = warnings_](const CommitView& view) {
          return auditor->report(auditor->rules->check_outputs(name, view), warnings.get());
        });
  }
  return tx;
}

AttemptOutcome Execution::conclude(const Status& st) {
  auto& counters = engine_->impl()->counters;
  ConflictManager& cm = engine_->conflicts();
  if (st.is_ok()) {
    finished_ = true;
    cm.report_success(name_);  // after the commit (D3): releases a held VIP ticket
    if (auditor_) {
      auditor_->system->log_success(name_);
      if (auditor_->system->recipe().reset_on_success) {
        auditor_->system->reset_prefix(name_ + ":input:");
        auditor_->system->reset_prefix(name_ + ":output:");
      }
    }
    return {AttemptAction::kDone, {}, Status::ok(), std::nullopt};
  }
  if (!st.is_retryable()) {
    finished_ = true;
    cm.release_vip(name_);
    return fail(st);
  }
  ++conflicts_;
  bool refused_by_vip = st.code() == ErrorCode::kBusy;
  if (!refused_by_vip) ++charged_;  // waiting for another requester's ticket is free
  bool was_vip = cm.vip_holder() == name_;
  RetryDecision decision = cm.report_conflict(name_);
  if (!was_vip && cm.vip_holder() == name_)
    counters.vip_grants.fetch_add(1, std::memory_order_relaxed);

  const RetryPolicy& policy = engine_->options().retry;
  bool out_of_attempts = charged_ >= budget_;
  bool out_of_time =
      policy.deadline && std::chrono::steady_clock::now() - start_ >= *policy.deadline;
  if (out_of_attempts || out_of_time) {
    finished_ = true;
    cm.release_vip(name_);
    counters.gave_up.fetch_add(1, std::memory_order_relaxed);
    return fail(st);
  }
  int64_t wait = decision.wait_ms;
  if (!decision.should_retry) {
    // Full-jitter fallback: uniform(0, min(1000, 50 * 2^(n-1))).
    thread_local std::minstd_rand rng(std::random_device{}());
    int64_t cap = std::min<int64_t>(1000, 50LL << std::min<uint32_t>(conflicts_ - 1, 10));
    wait = std::uniform_int_distribution<int64_t>(0, cap)(rng);
  }
  wait = std::min<int64_t>(wait, policy.max_backoff_ms);
  counters.retries.fetch_add(1, std::memory_order_relaxed);
  return {AttemptAction::kRetry, std::chrono::milliseconds(wait), Status::ok(), std::nullopt};
}

AttemptOutcome Execution::fail(const Status& st) {
  AttemptOutcome out{AttemptAction::kFail, {}, st, std::nullopt};
  if (!auditor_ || st.code() == ErrorCode::kAborted) return out;
  audit::FailResult r = auditor_->system->log_fail(name_);
  if (r.warning) warnings_->push_back(*r.warning);
  if (!r.refusal.is_ok()) {
    out.replaced = st;
    out.error = r.refusal;
  }
  return out;
}

void Execution::wait_for_turn(std::chrono::milliseconds wait) const {
  auto until = std::chrono::steady_clock::now() + wait;
  ConflictManager& cm = engine_->conflicts();
  std::optional<std::string> me = name_;
  if (cm.is_blocked(me)) {
    // Someone else holds the ticket: wake as soon as it is released (or the wait elapses).
    cm.wait_until_unblocked(me, until);
  } else if (wait.count() > 0) {
    std::this_thread::sleep_until(until);
  }
}

}  // namespace theus
