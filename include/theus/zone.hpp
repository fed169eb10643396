// Zones and capabilities ("zone physics"): which operations a path allows, decided by the first
// path segment that matches a zone rule, with per-path overrides.
// Thread-safety: resolve_zone / zone_capabilities are pure; PhysicsOverrides is internally locked.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "theus/path.hpp"

namespace theus {

enum class Zone : unsigned char { kData, kSignal, kMeta, kHeavy, kLog, kConstant, kPrivate };

// Capability bits (core layout): READ=1, APPEND=2, UPDATE=4, DELETE=8; 16 = admin flag.
namespace cap {
inline constexpr uint8_t kRead = 1;
inline constexpr uint8_t kAppend = 2;
inline constexpr uint8_t kUpdate = 4;
inline constexpr uint8_t kDelete = 8;
inline constexpr uint8_t kAdmin = 16;
inline constexpr uint8_t kAllData = 15;
inline constexpr uint8_t kAll = 31;
}  // namespace cap

// Zone of one segment, or nullopt when the segment matches no rule.
std::optional<Zone> zone_of_segment(std::string_view segment) noexcept;
// First segment matching a rule decides; none -> kData.
Zone resolve_zone(const Path& path) noexcept;
// The capability mask of a zone (DATA 15, SIGNAL 3, META 5, HEAVY 5, LOG 3, CONSTANT 1, PRIVATE 0).
uint8_t zone_capabilities(Zone zone) noexcept;
// "Data", "Signal", "Meta", "Heavy", "Log", "Constant", "Private".
std::string_view zone_name(Zone zone) noexcept;
// True when any segment starts with `const_` (writes there are refused unless overridden).
bool has_constant_segment(const Path& path) noexcept;
// "READ", "APPEND", "UPDATE", "DELETE" for a single capability bit.
std::string_view capability_name(uint8_t bit) noexcept;
// Four-bit binary rendering used in messages, e.g. 5 -> "0101".
std::string capability_lens(uint8_t caps);

// Table of path -> capability overrides. Lookup: exact normalised path, then successively shorter
// dotted prefixes; the first hit wins.
class PhysicsOverrides {
 public:
  void register_override(const Path& path, uint8_t caps);
  void clear();
  bool empty() const;
  std::optional<uint8_t> lookup(const Path& path) const;

  // The process-wide table (`theus_core.register_physics_override`).
  static PhysicsOverrides& global();

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, uint8_t, std::less<>> table_;
  std::atomic<size_t> count_{0};  // lets lookups skip the lock while the table is empty
};

// Effective capabilities of `path`: the engine's own overrides, then the global table, then the
// zone's mask. `engine_overrides` may be null.
uint8_t physics(const Path& path, const PhysicsOverrides* engine_overrides);

}  // namespace theus
