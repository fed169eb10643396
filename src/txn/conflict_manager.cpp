// ConflictManager: backoff and VIP ticket bookkeeping.
#include "theus/conflict_manager.hpp"

#include <algorithm>
#include <cmath>

namespace theus {

std::string RetryDecision::repr() const {
  return std::string("RetryDecision(retry=") + (should_retry ? "True" : "False") +
         ", wait=" + std::to_string(wait_ms) + "ms)";
}

ConflictManager::ConflictManager(uint32_t max_retries, uint32_t base_backoff_ms)
    : max_retries_(max_retries),
      base_backoff_ms_(base_backoff_ms),
      rng_(static_cast<uint32_t>(std::random_device{}())) {}

RetryDecision ConflictManager::report_conflict(std::string_view key) {
  std::lock_guard lock(mu_);
  if (vip_ && *vip_ != key) return {true, 50};
  auto it = counts_.find(key);
  if (it == counts_.end()) it = counts_.emplace(std::string(key), 0).first;
  if (it->second >= max_retries_) {
    vip_ = std::string(key);
    return {true, 1};
  }
  ++it->second;
  uint32_t exp = std::min<uint32_t>(it->second - 1, 10);
  double jitter = std::uniform_real_distribution<double>(0.8, 1.2)(rng_);
  auto wait =
      static_cast<int64_t>(std::floor(base_backoff_ms_ * static_cast<double>(1u << exp) * jitter));
  return {true, wait};
}

void ConflictManager::report_success(std::string_view key) {
  bool released = false;
  {
    std::lock_guard lock(mu_);
    auto it = counts_.find(key);
    if (it != counts_.end()) counts_.erase(it);
    if (vip_ && *vip_ == key) {
      vip_.reset();
      released = true;
    }
  }
  if (released) vip_released_.notify_all();
}

void ConflictManager::release_vip(std::string_view key) {
  bool released = false;
  {
    std::lock_guard lock(mu_);
    if (vip_ && *vip_ == key) {
      vip_.reset();
      released = true;
    }
  }
  if (released) vip_released_.notify_all();
}

uint32_t ConflictManager::failure_count(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

bool ConflictManager::blocked_locked(const std::optional<std::string_view>& requester) const {
  return vip_.has_value() && (!requester || *vip_ != *requester);
}

bool ConflictManager::is_blocked(const std::optional<std::string>& requester) const {
  std::lock_guard lock(mu_);
  return blocked_locked(requester ? std::optional<std::string_view>(*requester) : std::nullopt);
}

bool ConflictManager::is_blocked(std::string_view requester) const {
  std::lock_guard lock(mu_);
  return blocked_locked(requester);
}

std::optional<std::string> ConflictManager::vip_holder() const {
  std::lock_guard lock(mu_);
  return vip_;
}

bool ConflictManager::wait_until_unblocked(const std::optional<std::string>& requester,
                                           std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  std::optional<std::string_view> who =
      requester ? std::optional<std::string_view>(*requester) : std::nullopt;
  return vip_released_.wait_until(lock, deadline, [&] { return !blocked_locked(who); });
}

}  // namespace theus
