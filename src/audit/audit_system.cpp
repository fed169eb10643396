// AuditSystem: counters, grading by level and thresholds, and the per-instance log ring.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "theus/audit.hpp"

namespace theus::audit {

std::optional<Level> parse_level(std::string_view text) {
  if (text == "S" || text == "Stop") return Level::kStop;
  if (text == "A" || text == "Abort") return Level::kAbort;
  if (text == "B" || text == "Block") return Level::kBlock;
  if (text == "C" || text == "Count") return Level::kCount;
  return std::nullopt;
}

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::kStop:
      return "Stop";
    case Level::kAbort:
      return "Abort";
    case Level::kBlock:
      return "Block";
    case Level::kCount:
      return "Count";
  }
  return "Block";
}

std::string LogEntry::to_string() const {
  char ts[32];
  std::snprintf(ts, sizeof ts, "%.6f", timestamp);
  return "[" + std::string(ts) + "] " + key + ": " + message;
}

// ---- LogRing ----------------------------------------------------------------------------------

LogRing::LogRing(size_t capacity) : slots_(std::max<size_t>(capacity, 1)) {}

void LogRing::push(std::string key, std::string message) {
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(mu_);
  LogEntry& slot = slots_[pushed_ % slots_.size()];
  slot.timestamp = now;
  slot.key = std::move(key);
  slot.message = std::move(message);
  ++pushed_;
}

std::vector<LogEntry> LogRing::entries() const {
  std::lock_guard lock(mu_);
  size_t n = static_cast<size_t>(std::min<uint64_t>(pushed_, slots_.size()));
  std::vector<LogEntry> out;
  out.reserve(n);
  uint64_t first = pushed_ - n;
  for (uint64_t i = first; i < pushed_; ++i) out.push_back(slots_[i % slots_.size()]);
  return out;
}

size_t LogRing::size() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::min<uint64_t>(pushed_, slots_.size()));
}

uint64_t LogRing::total() const {
  std::lock_guard lock(mu_);
  return pushed_;
}

// ---- AuditSystem ------------------------------------------------------------------------------

AuditSystem::AuditSystem(Recipe recipe, size_t capacity)
    : recipe_(std::move(recipe)), ring_(capacity) {}

FailResult AuditSystem::log_fail(const std::string& key, std::optional<Level> level,
                                 std::optional<int64_t> threshold_max) {
  FailResult out;
  Recipe r;
  {
    std::lock_guard lock(mu_);
    out.count = ++counts_[key];
    r = recipe_;
  }
  ring_.push(key, "Fail #" + std::to_string(out.count));
  Level lv = level.value_or(r.level);
  int64_t threshold = threshold_max.value_or(r.threshold_max);
  switch (lv) {
    case Level::kStop:
      out.refusal =
          Status(ErrorCode::kAuditStop, "Audit Stop: " + key + " triggered immediate halt");
      break;
    case Level::kAbort:
      out.refusal = Status(ErrorCode::kAuditAbort, "Audit Abort: " + key + " operation cancelled");
      break;
    case Level::kBlock:
      if (out.count > threshold) {
        out.refusal =
            Status(ErrorCode::kAuditBlock,
                   "Audit Blocked: " + key + " exceeded threshold " + std::to_string(threshold));
      } else if (r.threshold_min > 0 && out.count >= r.threshold_min) {
        std::string text = "Approaching threshold (" + std::to_string(out.count) + "/" +
                           std::to_string(threshold) + ")";
        ring_.push(key, "WARN: " + text);
        out.warning = "WARNING: " + text;
      }
      break;
    case Level::kCount:
      break;
  }
  return out;
}

void AuditSystem::log_success(const std::string& key) {
  ring_.push(key, "Success");
  std::lock_guard lock(mu_);
  if (!recipe_.reset_on_success) return;
  if (auto it = counts_.find(key); it != counts_.end()) it->second = 0;
}

void AuditSystem::reset_prefix(std::string_view prefix) {
  std::lock_guard lock(mu_);
  for (auto& [key, count] : counts_)
    if (std::string_view(key).starts_with(prefix)) count = 0;
}

void AuditSystem::log(std::string key, std::string message) {
  ring_.push(std::move(key), std::move(message));
}

int64_t AuditSystem::count(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

Recipe AuditSystem::recipe() const {
  std::lock_guard lock(mu_);
  return recipe_;
}

void AuditSystem::set_recipe(const Recipe& recipe) {
  std::lock_guard lock(mu_);
  recipe_ = recipe;
}

// ---- Auditor ----------------------------------------------------------------------------------

Status Auditor::report(const std::vector<Violation>& violations,
                       std::vector<std::string>* warnings) const {
  for (const Violation& v : violations) {
    std::optional<Level> level = v.rule ? v.rule->level : std::nullopt;
    std::string detail = "level " + std::string(level_name(level.value_or(system->recipe().level)));
    if (v.version > 0) detail += ", version " + std::to_string(v.version);
    system->log(v.key, "VIOLATION: " + v.message + " (" + detail + ")");
    FailResult r = system->log_fail(v.key, level, v.rule ? v.rule->threshold_max : std::nullopt);
    if (r.warning && warnings) warnings->push_back(*r.warning);
    if (!r.refusal.is_ok())
      return Status(r.refusal.code(), r.refusal.message() + " (VIOLATION: " + v.message + ")");
  }
  return Status::ok();
}

}  // namespace theus::audit
