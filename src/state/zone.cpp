// Zone resolver, capability table and physics overrides.
#include "theus/zone.hpp"

#include <mutex>

namespace theus {

namespace {
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
}  // namespace

std::optional<Zone> zone_of_segment(std::string_view s) noexcept {
  // Every rule starts with one of these letters: most segments are decided by one comparison.
  if (s.empty()) return std::nullopt;
  switch (s[0]) {
    case 'a':
    case 'c':
    case 'h':
    case 'i':
    case 'l':
    case 'm':
    case 's':
      break;
    default:
      return std::nullopt;
  }
  if (starts_with(s, "const_")) return Zone::kConstant;
  if (starts_with(s, "internal_")) return Zone::kPrivate;
  if (starts_with(s, "sig_") || starts_with(s, "cmd_") || s == "sig" || s == "signal" || s == "cmd")
    return Zone::kSignal;
  if (starts_with(s, "meta_") || s == "meta") return Zone::kMeta;
  if (starts_with(s, "heavy_") || s == "heavy") return Zone::kHeavy;
  if (starts_with(s, "log_") || starts_with(s, "audit_") || s == "log") return Zone::kLog;
  return std::nullopt;
}

Zone resolve_zone(const Path& path) noexcept {
  for (const Value& seg : path.segments()) {
    if (!seg.is_string()) continue;
    if (auto z = zone_of_segment(seg.as_string())) return *z;
  }
  return Zone::kData;
}

uint8_t zone_capabilities(Zone zone) noexcept {
  switch (zone) {
    case Zone::kData:
      return cap::kAllData;
    case Zone::kSignal:
      return cap::kRead | cap::kAppend;
    case Zone::kMeta:
      return cap::kRead | cap::kUpdate;
    case Zone::kHeavy:
      return cap::kRead | cap::kUpdate;
    case Zone::kLog:
      return cap::kRead | cap::kAppend;
    case Zone::kConstant:
      return cap::kRead;
    case Zone::kPrivate:
      return 0;
  }
  return 0;
}

std::string_view zone_name(Zone zone) noexcept {
  switch (zone) {
    case Zone::kData:
      return "Data";
    case Zone::kSignal:
      return "Signal";
    case Zone::kMeta:
      return "Meta";
    case Zone::kHeavy:
      return "Heavy";
    case Zone::kLog:
      return "Log";
    case Zone::kConstant:
      return "Constant";
    case Zone::kPrivate:
      return "Private";
  }
  return "Data";
}

bool has_constant_segment(const Path& path) noexcept {
  for (const Value& seg : path.segments())
    if (seg.is_string() && starts_with(seg.as_string(), "const_")) return true;
  return false;
}

std::string_view capability_name(uint8_t bit) noexcept {
  switch (bit) {
    case cap::kRead:
      return "READ";
    case cap::kAppend:
      return "APPEND";
    case cap::kUpdate:
      return "UPDATE";
    case cap::kDelete:
      return "DELETE";
    default:
      return "ADMIN";
  }
}

std::string capability_lens(uint8_t caps) {
  std::string out(4, '0');
  for (int i = 0; i < 4; ++i)
    if (caps & (1u << i)) out[3 - i] = '1';
  return out;
}

void PhysicsOverrides::register_override(const Path& path, uint8_t caps) {
  std::unique_lock lock(mu_);
  table_[path.normalized()] = caps;
  count_.store(table_.size(), std::memory_order_release);
}

void PhysicsOverrides::clear() {
  std::unique_lock lock(mu_);
  table_.clear();
  count_.store(0, std::memory_order_release);
}

bool PhysicsOverrides::empty() const { return count_.load(std::memory_order_acquire) == 0; }

std::optional<uint8_t> PhysicsOverrides::lookup(const Path& path) const {
  if (count_.load(std::memory_order_acquire) == 0) return std::nullopt;
  std::shared_lock lock(mu_);
  std::string key = path.normalized();
  for (;;) {
    auto it = table_.find(key);
    if (it != table_.end()) return it->second;
    size_t dot = key.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    key.resize(dot);
  }
}

PhysicsOverrides& PhysicsOverrides::global() {
  static PhysicsOverrides table;
  return table;
}

uint8_t physics(const Path& path, const PhysicsOverrides* engine_overrides) {
  if (engine_overrides) {
    if (auto c = engine_overrides->lookup(path)) return *c;
  }
  if (auto c = PhysicsOverrides::global().lookup(path)) return *c;
  return zone_capabilities(resolve_zone(path));
}

}  // namespace theus
