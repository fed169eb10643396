// PathPattern matching: exact segment comparison for plain patterns, a small glob matcher
// otherwise.
#include "theus/path_pattern.hpp"

namespace theus {

namespace {

// Matches one character class starting at pattern[p] == '['. Returns the index after ']' or
// npos when the class is malformed (then '[' is taken literally).
size_t match_class(std::string_view pat, size_t p, char c, bool* matched) {
  size_t i = p + 1;
  bool negate = i < pat.size() && (pat[i] == '!' || pat[i] == '^');
  if (negate) ++i;
  bool found = false;
  bool first = true;
  while (i < pat.size() && (first || pat[i] != ']')) {
    first = false;
    char lo = pat[i];
    if (i + 2 < pat.size() && pat[i + 1] == '-' && pat[i + 2] != ']') {
      if (c >= lo && c <= pat[i + 2]) found = true;
      i += 3;
    } else {
      if (c == lo) found = true;
      ++i;
    }
  }
  if (i >= pat.size()) return std::string_view::npos;
  *matched = found != negate;
  return i + 1;
}

// Iterative glob with single-star backtracking. With `prefix_mode`, running out of text while the
// pattern still has a tail counts as a match (some continuation of the text could match).
bool glob(std::string_view pat, std::string_view text, bool prefix_mode) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pat.size()) {
      char pc = pat[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        bool matched = false;
        size_t next = match_class(pat, p, text[t], &matched);
        if (next != std::string_view::npos) {
          if (matched) {
            p = next;
            ++t;
            continue;
          }
        } else if (text[t] == '[') {
          ++p;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  if (prefix_mode) return true;
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return glob(pattern, text, false);
}

bool glob_prefix_match(std::string_view pattern, std::string_view prefix) {
  return glob(pattern, prefix, true);
}

Result<PathPattern> PathPattern::parse(std::string_view text) {
  if (text.empty())
    return Status(ErrorCode::kInvalidArgument, "Invalid contract path '': empty path");
  PathPattern pat;
  // Bracket syntax is normalised to dots; a glob class like [abc] inside a segment is kept.
  std::string norm;
  norm.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '[') {
      size_t close = text.find(']', i);
      if (close == std::string_view::npos)
        return Status(ErrorCode::kInvalidArgument, "Invalid contract path '" + std::string(text) +
                                                       "': unterminated '[' at position " +
                                                       std::to_string(i));
      std::string_view inner = text.substr(i + 1, close - i - 1);
      bool glob_class = !norm.empty() && norm.back() != '.' && i > 0 && text[i - 1] != ']' &&
                        (inner.empty() || inner[0] == '!' || inner[0] == '^' ||
                         inner.find('-') != std::string_view::npos);
      if (glob_class || (i > 0 && text[i - 1] == '.')) {
        norm.append(text.substr(i, close - i + 1));  // keep the glob class
      } else {
        if (inner.size() >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner.back() == inner[0])
          inner = inner.substr(1, inner.size() - 2);
        if (inner.empty())
          return Status(ErrorCode::kInvalidArgument, "Invalid contract path '" + std::string(text) +
                                                         "': empty brackets at position " +
                                                         std::to_string(i));
        norm += '.';
        norm.append(inner);
      }
      i = close;
      continue;
    }
    norm += c;
  }
  // Validate segments and canonicalise the root alias.
  size_t start = 0;
  std::vector<std::string> segs;
  for (;;) {
    size_t dot = norm.find('.', start);
    std::string_view seg = std::string_view(norm).substr(
        start, dot == std::string::npos ? std::string::npos : dot - start);
    if (seg.empty())
      return Status(ErrorCode::kInvalidArgument, "Invalid contract path '" + std::string(text) +
                                                     "': empty segment at position " +
                                                     std::to_string(start));
    segs.emplace_back(seg);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  segs[0] = std::string(canonical_root(segs[0]));
  pat.normalized_.clear();
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) pat.normalized_ += '.';
    pat.normalized_ += segs[i];
  }
  pat.root_ = segs[0];
  pat.wild_ = has_glob_chars(pat.normalized_);
  pat.segments_ = std::move(segs);
  return pat;
}

Zone PathPattern::zone() const noexcept {
  std::string_view text = normalized_;
  size_t start = 0;
  for (;;) {
    size_t dot = text.find('.', start);
    std::string_view seg =
        text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    if (auto z = zone_of_segment(seg)) return *z;
    if (dot == std::string_view::npos) return Zone::kData;
    start = dot + 1;
  }
}

bool PathPattern::covers(const Path& path) const {
  if (!wild_) {
    if (path.size() < segments_.size()) return false;
    for (size_t i = 0; i < segments_.size(); ++i) {
      const Value& s = path[i];
      if (s.is_string() ? s.as_string() != segments_[i] : segment_text(s) != segments_[i])
        return false;
    }
    return true;
  }
  return covers_normalized(path.normalized());
}

bool PathPattern::covers_normalized(std::string_view p) const {
  if (!wild_) {
    if (p.size() < normalized_.size() || p.substr(0, normalized_.size()) != normalized_)
      return false;
    return p.size() == normalized_.size() || p[normalized_.size()] == '.';
  }
  // The whole path, or any proper segment prefix of it, must match.
  for (size_t end = 0; end <= p.size(); ++end) {
    if (end == p.size() || p[end] == '.') {
      if (glob_match(normalized_, p.substr(0, end))) return true;
    }
  }
  return false;
}

bool PathPattern::is_ancestor(const Path& path) const {
  if (!wild_) {
    if (path.size() >= segments_.size()) return false;
    for (size_t i = 0; i < path.size(); ++i) {
      const Value& s = path[i];
      if (s.is_string() ? s.as_string() != segments_[i] : segment_text(s) != segments_[i])
        return false;
    }
    return true;
  }
  return is_ancestor_normalized(path.normalized());
}

bool PathPattern::is_ancestor_normalized(std::string_view p) const {
  if (!wild_) {
    return normalized_.size() > p.size() && normalized_.compare(0, p.size(), p) == 0 &&
           normalized_[p.size()] == '.';
  }
  std::string prefix(p);
  prefix += '.';
  return glob_prefix_match(normalized_, prefix);
}

}  // namespace theus
