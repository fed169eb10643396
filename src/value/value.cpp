// Value: construction, reference counting, Python-compatible equality/hashing/truthiness and
// deterministic printing.
#include "theus/value.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <type_traits>

#include "value/nodes.hpp"

namespace theus {

using detail::BufferNode;
using detail::ForeignNode;
using detail::ListRoot;
using detail::MapRoot;
using detail::StrNode;

// ---- construction and lifetime -------------------------------------------------------------

Value::Value(const char* s) : Value(std::string_view(s)) {}

Value::Value(std::string_view s) : kind_(Kind::kString) {
  static_assert(sizeof(Value) == 16 && std::is_standard_layout_v<Value>);
  static_assert(offsetof(Value, inline_a_) == kInlineOffset &&
                offsetof(Value, inline_b_) == kInlineOffset + 2 && offsetof(Value, i_) == 8);
  if (s.size() <= kInlineCapacity) {
    set_inline(Kind::kString, s);
  } else {
    str_ = StrNode::make(s);
  }
}

Value::Value(List list) noexcept : kind_(Kind::kList) { new (&list_) List(std::move(list)); }

Value::Value(Map map) noexcept : kind_(Kind::kMap) { new (&map_) Map(std::move(map)); }

Value Value::bytes(std::string_view data) {
  Value v;
  if (data.size() <= kInlineCapacity) {
    v.set_inline(Kind::kBytes, data);
  } else {
    v.kind_ = Kind::kBytes;
    v.str_ = StrNode::make(data);
  }
  return v;
}

Value Value::buffer(BufferRef ref) {
  Value v;
  v.kind_ = Kind::kBuffer;
  auto* n = new BufferNode();
  n->ref = std::move(ref);
  v.buf_ = n;
  return v;
}

Value Value::foreign(void* object, const ForeignHooks* hooks) {
  Value v;
  v.kind_ = Kind::kForeign;
  auto* n = new ForeignNode();
  n->object = object;
  n->hooks = hooks;
  v.foreign_ = n;
  return v;
}

void Value::destroy_node() noexcept {
  switch (kind_) {
    case Kind::kString:
    case Kind::kBytes:
      StrNode::destroy(str_);
      break;
    case Kind::kList:
      detail::destroy_list_root(list_.root_);
      list_.root_ = nullptr;
      break;
    case Kind::kMap:
      detail::destroy_map_root(map_.root_);
      map_.root_ = nullptr;
      break;
    case Kind::kBuffer:
      BufferNode::destroy(buf_);
      break;
    case Kind::kForeign:
      ForeignNode::destroy(foreign_);
      break;
    default:
      break;
  }
}

// ---- accessors -----------------------------------------------------------------------------

bool Value::as_bool() const noexcept {
  assert(kind_ == Kind::kBool);
  return i_ != 0;
}
int64_t Value::as_int() const noexcept {
  assert(kind_ == Kind::kInt);
  return i_;
}
double Value::as_double() const noexcept {
  assert(kind_ == Kind::kDouble);
  return d_;
}
double Value::as_number() const noexcept {
  switch (kind_) {
    case Kind::kBool:
      return i_ != 0 ? 1.0 : 0.0;
    case Kind::kInt:
      return static_cast<double>(i_);
    case Kind::kDouble:
      return d_;
    default:
      assert(false && "as_number on a non-number");
      return 0.0;
  }
}
std::string_view Value::as_string() const noexcept {
  assert(kind_ == Kind::kString);
  return is_inline() ? std::string_view(inline_data(), inline_size()) : str_->view();
}
std::string_view Value::as_bytes() const noexcept {
  assert(kind_ == Kind::kBytes);
  return is_inline() ? std::string_view(inline_data(), inline_size()) : str_->view();
}
const List& Value::as_list() const noexcept {
  assert(kind_ == Kind::kList);
  return list_;
}
const Map& Value::as_map() const noexcept {
  assert(kind_ == Kind::kMap);
  return map_;
}
Map& Value::mutable_map() noexcept {
  assert(kind_ == Kind::kMap);
  return map_;
}
const BufferRef& Value::as_buffer() const noexcept {
  assert(kind_ == Kind::kBuffer);
  return buf_->ref;
}
void* Value::foreign_object() const noexcept {
  assert(kind_ == Kind::kForeign);
  return foreign_->object;
}
const ForeignHooks* Value::foreign_hooks() const noexcept {
  assert(kind_ == Kind::kForeign);
  return foreign_->hooks;
}

// ---- Python semantics ----------------------------------------------------------------------

bool Value::truthy() const noexcept {
  switch (kind_) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
    case Kind::kInt:
      return i_ != 0;
    case Kind::kDouble:
      return d_ != 0.0;
    case Kind::kString:
    case Kind::kBytes:
      return is_inline() ? inline_size() != 0 : str_->len != 0;
    case Kind::kList:
      return !list_.empty();
    case Kind::kMap:
      return !map_.empty();
    case Kind::kBuffer:
      return true;
    case Kind::kForeign:
      return foreign_->hooks && foreign_->hooks->truthy ? foreign_->hooks->truthy(foreign_->object)
                                                        : true;
  }
  return true;
}

std::string_view Value::type_name() const noexcept {
  switch (kind_) {
    case Kind::kNull:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kDouble:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kMap:
      return "dict";
    case Kind::kBuffer:
      return "buffer";
    case Kind::kForeign:
      return foreign_->hooks && foreign_->hooks->type_name ? foreign_->hooks->type_name : "object";
  }
  return "object";
}

namespace {

bool is_int_like(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t int_of(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

// A double that holds an exact int64 value, as that int (for cross-type equality and hashing).
bool double_as_int(double d, int64_t* out) {
  if (!std::isfinite(d) || d != std::floor(d)) return false;
  if (d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

size_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<size_t>(x);
}

uint64_t load_bytes(const char* p, size_t n) noexcept {
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return w;
}

// Hash of a text of at most kInlineCapacity bytes from its first 6 and next 8 bytes, zero-padded:
// an inline Value holds them in exactly that form, so hashing it is two loads and a mix.
size_t short_text_hash(uint64_t head6, uint64_t tail8, size_t len) noexcept {
  uint64_t h = (head6 ^ (static_cast<uint64_t>(len) << 56)) * 0x9e3779b97f4a7c15ULL;
  uint64_t t = tail8 * 0xc2b2ae3d27d4eb4fULL;
  return mix(h ^ ((t << 31) | (t >> 33)));
}

bool numbers_equal(const Value& a, const Value& b) {
  if (is_int_like(a) && is_int_like(b)) return int_of(a) == int_of(b);
  if (a.is_double() && b.is_double()) return a.as_double() == b.as_double();
  // One int-like, one double: compare exactly (as Python does), not through a lossy cast.
  const Value& d = a.is_double() ? a : b;
  const Value& i = a.is_double() ? b : a;
  int64_t as_int = 0;
  if (!double_as_int(d.as_double(), &as_int)) return false;
  return as_int == int_of(i);
}

}  // namespace

bool Value::identical(const Value& o) const noexcept {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kString:
    case Kind::kBytes:
      if (is_inline()) return std::memcmp(static_cast<const void*>(this), &o, sizeof(Value)) == 0;
      return str_ == o.str_;
    case Kind::kList:
      return list_.same_as(o.list_);
    case Kind::kMap:
      return map_.same_as(o.map_);
    default:
      return i_ == o.i_;  // same scalar bits or same node pointer
  }
}

const void* Value::node_id() const noexcept {
  switch (kind_) {
    case Kind::kString:
    case Kind::kBytes:
      return is_inline() ? nullptr : str_;
    case Kind::kList:
      return list_.root_;
    case Kind::kMap:
      return map_.root_;
    case Kind::kBuffer:
      return buf_;
    case Kind::kForeign:
      return foreign_;
    default:
      return nullptr;
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return numbers_equal(a, b);
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::kNull:
      return true;
    case Kind::kString:
    case Kind::kBytes:
      // Inline strings are zero-filled past their length: two words decide. An inline string
      // (length <= kInlineCapacity) never equals a heap one (always longer).
      if (a.is_inline() || b.is_inline())
        return std::memcmp(static_cast<const void*>(&a), &b, sizeof(Value)) == 0;
      return a.str_ == b.str_ || (a.str_->hash == b.str_->hash && a.str_->view() == b.str_->view());
    case Kind::kList:
      return a.list_ == b.list_;
    case Kind::kMap:
      return a.map_ == b.map_;
    case Kind::kBuffer:
      return a.buf_ == b.buf_ || a.buf_->ref == b.buf_->ref;
    case Kind::kForeign: {
      if (a.foreign_->object == b.foreign_->object) return true;
      const ForeignHooks* h = a.foreign_->hooks;
      if (h != b.foreign_->hooks || !h || !h->equals) return false;
      return h->equals(a.foreign_->object, b.foreign_->object);
    }
    default:
      return false;
  }
}

// Inline text: zero-filled past its length up to kInlineCapacity bytes.
size_t Value::inline_text_hash(const char* data, size_t len) noexcept {
  return short_text_hash(load_bytes(data, 6), load_bytes(data + 6, 8), len);
}

size_t Value::hash_of_text(std::string_view text) noexcept {
  if (text.size() > kInlineCapacity) return std::hash<std::string_view>{}(text);
  size_t head = std::min<size_t>(text.size(), 6);
  return short_text_hash(load_bytes(text.data(), head),
                         load_bytes(text.data() + head, text.size() - head), text.size());
}

size_t Value::hash() const noexcept {
  switch (kind_) {
    case Kind::kNull:
      return 0x9e3779b97f4a7c15ULL;
    case Kind::kBool:
      return mix(i_ != 0 ? 1 : 0);
    case Kind::kInt:
      return mix(static_cast<uint64_t>(i_));
    case Kind::kDouble: {
      int64_t as_int = 0;
      if (double_as_int(d_, &as_int)) return mix(static_cast<uint64_t>(as_int));
      return std::hash<double>{}(d_);
    }
    case Kind::kString:
      return is_inline() ? inline_text_hash(inline_data(), inline_size()) : str_->hash;
    case Kind::kBytes:
      return (is_inline() ? inline_text_hash(inline_data(), inline_size()) : str_->hash) ^
             0x5bd1e995u;
    case Kind::kList: {
      size_t h = 0xcbf29ce484222325ULL;
      for (const Value& v : list_) h = (h ^ v.hash()) * 0x100000001b3ULL;
      return h;
    }
    case Kind::kMap: {
      size_t h = map_.size();
      for (auto item : map_) h ^= mix(item.key.hash() * 31 + item.value.hash());
      return h;
    }
    case Kind::kBuffer:
      return std::hash<std::string>{}(buf_->ref.name) ^ mix(buf_->ref.offset);
    case Kind::kForeign:
      if (foreign_->hooks && foreign_->hooks->hash) return foreign_->hooks->hash(foreign_->object);
      return mix(reinterpret_cast<uintptr_t>(foreign_->object));
  }
  return 0;
}

// ---- printing ------------------------------------------------------------------------------

namespace {

// Python's repr(float): shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16.
void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  bool neg = !sci.empty() && sci[0] == '-';
  if (neg) sci.remove_prefix(1);
  size_t epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits += c;
  int exp = std::stoi(std::string(sci.substr(epos + 1)));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (neg) out += '-';
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out += digits;
      out.append(static_cast<size_t>(exp) + 1 - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp) + 1);
      out += '.';
      out += digits.substr(static_cast<size_t>(exp) + 1);
    }
    return;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  out += ebuf;
}

void append_quoted(std::string& out, std::string_view s, bool is_bytes) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  if (is_bytes) out += 'b';
  out += quote;
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);  // UTF-8 text passes through unchanged
        }
    }
  }
  out += quote;
}

void append_repr(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kNull:
      out += "None";
      return;
    case Kind::kBool:
      out += v.as_bool() ? "True" : "False";
      return;
    case Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Kind::kDouble:
      append_double(out, v.as_double());
      return;
    case Kind::kString:
      append_quoted(out, v.as_string(), false);
      return;
    case Kind::kBytes:
      append_quoted(out, v.as_bytes(), true);
      return;
    case Kind::kList: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_list()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, item);
      }
      out += ']';
      return;
    }
    case Kind::kMap: {
      out += '{';
      bool first = true;
      for (auto item : v.as_map()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, item.key);
        out += ": ";
        append_repr(out, item.value);
      }
      out += '}';
      return;
    }
    case Kind::kBuffer: {
      const BufferRef& b = v.as_buffer();
      out += "<buffer ";
      append_quoted(out, b.name, false);
      out += ' ';
      out += b.dtype;
      out += " (";
      for (size_t i = 0; i < b.shape.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(b.shape[i]);
      }
      if (b.shape.size() == 1) out += ',';
      out += ") offset=" + std::to_string(b.offset) + " length=" + std::to_string(b.length) + ">";
      return;
    }
    case Kind::kForeign: {
      const ForeignHooks* h = v.foreign_hooks();
      if (h && h->repr) {
        out += h->repr(v.foreign_object());
      } else {
        out += '<';
        out += v.type_name();
        out += " object>";
      }
      return;
    }
  }
}

}  // namespace

std::string Value::repr() const {
  std::string out;
  append_repr(out, *this);
  return out;
}

std::string Value::str() const {
  if (kind_ == Kind::kString) return std::string(as_string());
  return repr();
}

}  // namespace theus
