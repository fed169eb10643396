// Path parsing, printing and comparison.
#include "theus/path.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace theus {

std::string_view canonical_root(std::string_view root) noexcept {
  if (root == "domain_ctx") return "domain";
  if (root == "global_ctx" || root == "global_") return "global";
  return root;
}

std::string segment_text(const Value& segment) {
  if (segment.is_string()) return std::string(segment.as_string());
  if (segment.is_int()) return std::to_string(segment.as_int());
  return segment.repr();
}

Path::Path(std::initializer_list<Value> segments) : segments_(segments) { canonicalize_root(); }

Path::Path(std::vector<Value> segments, bool loose)
    : segments_(std::move(segments)), loose_(loose) {
  canonicalize_root();
}

void Path::canonicalize_root() {
  if (segments_.empty() || !segments_[0].is_string()) return;
  std::string_view r = segments_[0].as_string();
  std::string_view c = canonical_root(r);
  if (c.data() != r.data()) segments_[0] = Value(c);
}

namespace {

Status parse_error(std::string_view text, size_t pos, std::string_view what) {
  return {ErrorCode::kInvalidArgument, "Invalid path '" + std::string(text) +
                                           "': " + std::string(what) + " at position " +
                                           std::to_string(pos)};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the escape whose letter is at text[j] (after a backslash inside quotes) into `out` and
// returns the index of its last character. Understands what repr() (and so to_string()) writes:
// \n \t \r \xNN; any other escaped character (\' \" \\ ...) stands for itself.
size_t unescape(std::string_view text, size_t j, std::string* out) {
  switch (text[j]) {
    case 'n':
      *out += '\n';
      return j;
    case 't':
      *out += '\t';
      return j;
    case 'r':
      *out += '\r';
      return j;
    case 'x':
      if (j + 2 < text.size() && hex_digit(text[j + 1]) >= 0 && hex_digit(text[j + 2]) >= 0) {
        *out += static_cast<char>(hex_digit(text[j + 1]) * 16 + hex_digit(text[j + 2]));
        return j + 2;
      }
      break;
    default:
      break;
  }
  *out += text[j];
  return j;
}

bool is_decimal(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

}  // namespace

Result<Path> Path::parse(std::string_view text) {
  std::vector<Value> segs;
  size_t i = 0, n = text.size();
  if (n == 0) return parse_error(text, 0, "empty path");
  bool expect_name = true;  // at the start or right after '.'
  while (i < n) {
    char c = text[i];
    if (c == '[') {
      // At the start, or right after '.' (`a.[0]`): the segment before the bracket is missing.
      if (expect_name)
        return parse_error(text, i, i == 0 ? "path starts with '['" : "empty segment");
      size_t start = i + 1;
      if (start < n && (text[start] == '\'' || text[start] == '"')) {
        char q = text[start];
        std::string key;
        size_t j = start + 1;
        for (; j < n && text[j] != q; ++j) {
          if (text[j] == '\\' && j + 1 < n) {
            j = unescape(text, j + 1, &key);
          } else {
            key += text[j];
          }
        }
        if (j >= n) return parse_error(text, start, "unterminated quoted key");
        if (j + 1 >= n || text[j + 1] != ']') return parse_error(text, j + 1, "expected ']'");
        segs.emplace_back(key);
        i = j + 2;
      } else {
        size_t close = text.find(']', start);
        if (close == std::string_view::npos) return parse_error(text, i, "unterminated '['");
        std::string_view inner = text.substr(start, close - start);
        if (inner.empty()) return parse_error(text, i, "empty brackets");
        if (is_decimal(inner)) {
          int64_t idx = 0;
          auto res = std::from_chars(inner.data(), inner.data() + inner.size(), idx);
          if (res.ec != std::errc()) return parse_error(text, start, "index out of range");
          segs.emplace_back(idx);
        } else {
          segs.emplace_back(inner);
        }
        i = close + 1;
      }
      expect_name = false;
      if (i < n && text[i] != '.' && text[i] != '[')
        return parse_error(text, i, "expected '.' or '[' after ']'");
      continue;
    }
    if (c == '.') {
      if (expect_name) return parse_error(text, i, "empty segment");
      expect_name = true;
      ++i;
      if (i == n) return parse_error(text, i, "empty segment");
      continue;
    }
    if (c == ']') return parse_error(text, i, "unexpected ']'");
    if (!expect_name) return parse_error(text, i, "expected '.' or '['");
    size_t j = i;
    while (j < n && text[j] != '.' && text[j] != '[' && text[j] != ']') ++j;
    segs.emplace_back(text.substr(i, j - i));
    expect_name = false;
    i = j;
  }
  return Path(std::move(segs), /*loose=*/true);
}

Path Path::child(Value segment, bool item_syntax) const {
  Path p = *this;
  if (item_syntax && p.segments_.size() < 64) p.item_syntax_ |= uint64_t{1} << p.segments_.size();
  p.segments_.push_back(std::move(segment));
  if (p.segments_.size() == 1) p.canonicalize_root();
  return p;
}

Path Path::parent() const {
  Path p = *this;
  p.segments_.pop_back();
  if (p.segments_.size() < 64) p.item_syntax_ &= (uint64_t{1} << p.segments_.size()) - 1;
  return p;
}

Path Path::prefix(size_t n) const {
  Path p;
  p.loose_ = loose_;
  p.item_syntax_ = n >= 64 ? item_syntax_ : item_syntax_ & ((uint64_t{1} << n) - 1);
  p.segments_.assign(segments_.begin(),
                     segments_.begin() + static_cast<std::ptrdiff_t>(std::min(n, size())));
  return p;
}

Path Path::concat(const Path& tail) const {
  Path p = *this;
  p.segments_.insert(p.segments_.end(), tail.segments_.begin(), tail.segments_.end());
  p.loose_ = loose_ || tail.loose_;
  if (size() == 0) p.canonicalize_root();
  return p;
}

std::string_view Path::root() const noexcept {
  if (segments_.empty() || !segments_[0].is_string()) return {};
  return segments_[0].as_string();
}

PathRelation Path::relation(const Path& other) const noexcept {
  size_t common = std::min(size(), other.size());
  for (size_t i = 0; i < common; ++i) {
    // Segments compare by their text so an int index and its decimal key address the same node.
    const Value& a = segments_[i];
    const Value& b = other.segments_[i];
    if (a.kind() == b.kind() ? !(a == b) : segment_text(a) != segment_text(b))
      return PathRelation::kUnrelated;
  }
  if (size() == other.size()) return PathRelation::kEqual;
  return size() < other.size() ? PathRelation::kAncestor : PathRelation::kDescendant;
}

namespace {

bool is_plain_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '.' || c == '[' || c == ']' || c == '\'' || c == '"' || c == ' ') return false;
  return !is_decimal(s);
}

}  // namespace

std::string Path::to_string() const {
  std::string out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Value& s = segments_[i];
    if (s.is_int()) {
      out += '[';
      out += std::to_string(s.as_int());
      out += ']';
    } else if (s.is_string() && i > 0 && i < 64 && (item_syntax_ >> i) & 1) {
      out += '[';
      out += s.as_string();
      out += ']';
    } else if (s.is_string() && is_plain_name(s.as_string())) {
      if (i) out += '.';
      out += s.as_string();
    } else {
      out += '[';
      out += s.is_string() ? Value(s).repr() : s.repr();
      out += ']';
    }
  }
  return out;
}

std::string Path::normalized() const {
  std::string out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (i) out += '.';
    out += segment_text(segments_[i]);
  }
  return out;
}

}  // namespace theus
