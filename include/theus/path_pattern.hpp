// PathPattern: a declared contract path (`domain.user.name`, `domain.items.*`, `global`).
// Matching uses fnmatch syntax (`*`, `?`, `[..]`, `[!..]`) on the normalised dotted string, where
// `*` may span segments; a pattern also covers every descendant of what it matches.
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/zone.hpp"

namespace theus {

class PathPattern {
 public:
  // Validates and normalises `text` (brackets become dots, root aliases are canonicalised).
  // Errors: kInvalidArgument naming the pattern and the position at fault.
  static Result<PathPattern> parse(std::string_view text);

  const std::string& text() const noexcept { return normalized_; }
  std::string_view root() const noexcept { return root_; }
  bool has_wildcards() const noexcept { return wild_; }
  // Zone of the declared path: its first segment matching a zone rule (kData when none).
  Zone zone() const noexcept;

  // P matches the pattern, or some proper prefix of P does (P is inside what it declares).
  bool covers(const Path& path) const;
  bool covers_normalized(std::string_view normalized) const;
  // P is a proper segment-prefix of something the pattern matches (navigation towards it is OK).
  bool is_ancestor(const Path& path) const;
  bool is_ancestor_normalized(std::string_view normalized) const;

 private:
  std::string normalized_;
  std::string root_;
  std::vector<std::string> segments_;  // used when there are no wildcards
  bool wild_ = false;
};

// fnmatch on whole strings: `*` any run (dots included), `?` one char, `[...]` a class.
bool glob_match(std::string_view pattern, std::string_view text);
// True when some string starting with `prefix` could match `pattern`.
bool glob_prefix_match(std::string_view pattern, std::string_view prefix);

}  // namespace theus
