// ConflictManager: per-requester failure counters, exponential backoff with jitter, and the
// anti-starvation VIP ticket. After `max_retries` consecutive conflicts a requester becomes the
// VIP: every other committer is refused ("System Busy (VIP Access Only)") until the VIP reports
// success or gives up. Thread-safety: all methods are internally synchronised.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace theus {

struct RetryDecision {
  bool should_retry = true;
  int64_t wait_ms = 0;
  std::string repr() const;  // "RetryDecision(retry=True, wait=3ms)"
};

class ConflictManager {
 public:
  explicit ConflictManager(uint32_t max_retries = 5, uint32_t base_backoff_ms = 2);

  // Records a conflict of `key`, in order: another requester holds the VIP -> (true, 50), counter
  // unchanged; count >= max_retries -> `key` becomes VIP -> (true, 1); else count += 1 and
  // wait = base * 2^min(count-1, 10) * uniform[0.8, 1.2), truncated.
  RetryDecision report_conflict(std::string_view key);
  // Drops the counter and releases the VIP ticket if `key` holds it. Unknown key: no-op.
  void report_success(std::string_view key);
  // Releases the VIP ticket if `key` holds it (the counter is kept).
  void release_vip(std::string_view key);
  uint32_t failure_count(std::string_view key) const;
  // True iff a VIP exists and `requester` is none or differs from the holder.
  bool is_blocked(const std::optional<std::string>& requester) const;
  bool is_blocked(std::string_view requester) const;
  std::optional<std::string> vip_holder() const;
  // Blocks until `requester` is not blocked or `deadline` passes; returns !is_blocked(requester).
  bool wait_until_unblocked(const std::optional<std::string>& requester,
                            std::chrono::steady_clock::time_point deadline) const;

  uint32_t max_retries() const noexcept { return max_retries_; }
  uint32_t base_backoff_ms() const noexcept { return base_backoff_ms_; }

 private:
  bool blocked_locked(const std::optional<std::string_view>& requester) const;

  const uint32_t max_retries_;
  const uint32_t base_backoff_ms_;
  mutable std::mutex mu_;
  mutable std::condition_variable vip_released_;
  std::map<std::string, uint32_t, std::less<>> counts_;
  std::optional<std::string> vip_;
  std::minstd_rand rng_;
};

// How hard an execution retries conflicts before giving up with the conflict error.
struct RetryPolicy {
  uint32_t max_attempts = 64;  // total attempts per execute (first try included)
  // Wall-clock budget across attempts; nullopt = none.
  std::optional<std::chrono::milliseconds> deadline = std::chrono::milliseconds(30000);
  uint32_t vip_after = 5;          // consecutive conflicts before a VIP ticket
  uint32_t base_backoff_ms = 2;    // first backoff step
  uint32_t max_backoff_ms = 1000;  // cap on any single wait
};

}  // namespace theus
