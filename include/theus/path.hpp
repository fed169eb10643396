// Path: a typed address in the state tree (`domain.users[0].name`). Segments are Values: strings
// for map keys, ints for list indices (or int map keys). Root aliases are canonicalised on
// construction (`domain_ctx` -> `domain`; `global_ctx`, `global_` -> `global`).
// Thread-safety: immutable value type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus {

enum class PathRelation { kUnrelated, kEqual, kAncestor, kDescendant };

class Path {
 public:
  Path() = default;  // the root (no segments)
  Path(std::initializer_list<Value> segments);
  explicit Path(std::vector<Value> segments, bool loose = false);

  // Parses `a.b[0].c`, `a[b]`, `a['b.c']`, `a["b"]`. Numeric brackets become int segments and the
  // path is "loose": on a map, an int segment addresses the stringified key (as `tx.update` and
  // CAS payload keys do). Errors name the offending character position.
  static Result<Path> parse(std::string_view text);

  size_t size() const noexcept { return segments_.size(); }
  bool empty() const noexcept { return segments_.empty(); }
  const Value& operator[](size_t i) const noexcept { return segments_[i]; }
  const std::vector<Value>& segments() const noexcept { return segments_; }
  const Value& back() const noexcept { return segments_.back(); }
  // True when int segments applied to maps mean their decimal string key (paths parsed from text).
  bool loose() const noexcept { return loose_; }

  // `item_syntax` only affects to_string(): a string key reached by subscription prints as
  // `parent[key]` (as Python code wrote it) instead of `parent.key`.
  [[nodiscard]] Path child(Value segment, bool item_syntax = false) const;
  [[nodiscard]] Path parent() const;          // precondition: !empty()
  [[nodiscard]] Path prefix(size_t n) const;  // first n segments
  [[nodiscard]] Path concat(const Path& tail) const;
  // Root segment as a string ("" when empty or not a string).
  std::string_view root() const noexcept;

  // How `this` relates to `other`: kAncestor means `this` is a proper prefix of `other`.
  PathRelation relation(const Path& other) const noexcept;
  bool overlaps(const Path& other) const noexcept {
    return relation(other) != PathRelation::kUnrelated;
  }

  // Reporting form: `domain.users[0].name`; keys that are not plain names use `['a.b']`.
  std::string to_string() const;
  // Contract-matching form: brackets become dots (`domain.users.0.name`).
  std::string normalized() const;

  friend bool operator==(const Path& a, const Path& b) { return a.segments_ == b.segments_; }
  friend bool operator!=(const Path& a, const Path& b) { return !(a == b); }

 private:
  void canonicalize_root();
  std::vector<Value> segments_;
  uint64_t item_syntax_ = 0;  // bit i: segment i was written as `[key]` (first 64 segments)
  bool loose_ = false;
};

// Canonical name of a root alias (`domain_ctx` -> `domain`, `global_ctx`/`global_` -> `global`).
std::string_view canonical_root(std::string_view root) noexcept;

// String form of a segment for matching and indexing (ints in decimal, strings as is).
std::string segment_text(const Value& segment);

}  // namespace theus

template <>
struct std::hash<theus::Path> {
  size_t operator()(const theus::Path& p) const noexcept {
    size_t h = 0;
    for (const auto& s : p.segments()) h = h * 1000003u ^ s.hash();
    return h;
  }
};
