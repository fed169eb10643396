// Tokenizer of Flux conditions and the Python number syntax shared with int() / float().
// Longer than the house guideline because Python's literal syntax (number forms, string prefixes,
// escapes) is spelled out case by case; each piece is small and local.
#include "flux/expression_lexer.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace theus::flux::detail {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ident_start(char c) noexcept {
  // Bytes >= 0x80 belong to UTF-8 letters: non-ASCII identifiers are passed through unchecked.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c); }
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
int digit_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

std::string_view strip(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Scans a Python digitpart at `i`: digit (["_"] digit)*, for digits accepted by `ok`. Appends the
// digits (without underscores) to `out`. Returns the end, or npos when an underscore is not
// followed by a digit; returns `i` itself when no digit is there.
template <class Pred>
size_t scan_digits(std::string_view s, size_t i, Pred ok, std::string* out) {
  size_t start = i;
  while (i < s.size()) {
    if (ok(s[i])) {
      if (out) *out += s[i];
      ++i;
    } else if (s[i] == '_' && i > start && i + 1 < s.size() && ok(s[i + 1])) {
      ++i;
    } else if (s[i] == '_' && i > start) {
      return std::string_view::npos;
    } else {
      break;
    }
  }
  return i;
}

// Converts "digits[.digits][e[+-]digits]" (no sign, no underscores) to the nearest double.
// from_chars reports out_of_range without a value, so the overflow/underflow result is derived
// from the decimal magnitude: inf when it is above 1, zero below.
double decimal_to_double(std::string_view cleaned) {
  double d = 0;
  auto res = std::from_chars(cleaned.data(), cleaned.data() + cleaned.size(), d,
                             std::chars_format::general);
  if (res.ec != std::errc::result_out_of_range) return d;
  size_t e = cleaned.find_first_of("eE");
  std::string_view mant = cleaned.substr(0, e);
  int64_t exp = 0;
  if (e != std::string_view::npos) {
    size_t j = e + 1;
    bool neg = j < cleaned.size() && cleaned[j] == '-';
    if (j < cleaned.size() && (cleaned[j] == '-' || cleaned[j] == '+')) ++j;
    for (; j < cleaned.size(); ++j)
      if (exp < 1'000'000'000) exp = exp * 10 + (cleaned[j] - '0');
    if (neg) exp = -exp;
  }
  size_t dot = mant.find('.');
  std::string_view int_part = mant.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? "" : mant.substr(dot + 1);
  size_t nz = int_part.find_first_not_of('0');
  int64_t magnitude = 0;
  if (nz != std::string_view::npos) {
    magnitude = static_cast<int64_t>(int_part.size() - nz) + exp;
  } else {
    size_t fz = frac_part.find_first_not_of('0');
    if (fz == std::string_view::npos) return 0.0;
    magnitude = -static_cast<int64_t>(fz) + exp;
  }
  return magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

bool lower_equals(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Parses an unsigned decimal digit string (no underscores) into an int, or a double on overflow.
Value decimal_digits_to_value(std::string_view digits, bool negative) {
  uint64_t mag = 0;
  bool overflow = false;
  for (char c : digits) {
    if (mag > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      overflow = true;
      break;
    }
    mag = mag * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (overflow || mag > limit) {
    double d = decimal_to_double(digits);
    return Value(negative ? -d : d);
  }
  if (negative) return Value(static_cast<int64_t>(0 - mag));
  return Value(static_cast<int64_t>(mag));
}

constexpr std::string_view kKeywords[] = {
    "False", "None",     "True",   "and", "as",    "assert", "async",    "await",   "break",
    "class", "continue", "def",    "del", "elif",  "else",   "except",   "finally", "for",
    "from",  "if",       "import", "in",  "is",    "lambda", "nonlocal", "not",     "or",
    "pass",  "raise",    "return", "try", "while", "with",   "yield"};

// Operators, longest first so that the first match is the longest one.
constexpr std::string_view kOps[] = {
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", ":=", "->", "<<",
    ">>",  "+=",  "-=",  "*=",  "/=",  "%=", "&=", "|=", "^=", "@=", "+",  "-",  "*",  "/",
    "%",   "(",   ")",   "[",   "]",   "{",  "}",  ",",  ".",  ":",  ";",  "<",  ">",  "="};
constexpr std::string_view kSingleOps = "~&|^@!";

std::string printable(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
  }
  return std::string(1, c);
}

}  // namespace

bool is_keyword(std::string_view name) noexcept {
  for (std::string_view k : kKeywords)
    if (k == name) return true;
  return false;
}

size_t utf8_char_length(std::string_view s, size_t i) noexcept {
  auto lead = static_cast<unsigned char>(s[i]);
  size_t want = lead >= 0xF0 && lead < 0xF8   ? 4
                : lead >= 0xE0 && lead < 0xF0 ? 3
                : lead >= 0xC0 && lead < 0xE0 ? 2
                                              : 1;
  size_t n = 1;
  while (n < want && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string describe_position(std::string_view src, size_t pos) {
  if (pos > src.size()) pos = src.size();
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (src[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t column = 1;
  for (size_t i = line_start; i < pos; i += utf8_char_length(src, i)) ++column;
  std::string out;
  if (line > 1) out = "line " + std::to_string(line) + ", ";
  return out + "column " + std::to_string(column);
}

bool parse_float_text(std::string_view s, double* out) {
  s = strip(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  double d = 0;
  if (lower_equals(s, "inf") || lower_equals(s, "infinity")) {
    d = std::numeric_limits<double>::infinity();
  } else if (lower_equals(s, "nan")) {
    d = std::numeric_limits<double>::quiet_NaN();
  } else {
    std::string cleaned;
    size_t i = scan_digits(s, 0, is_digit, &cleaned);
    if (i == std::string_view::npos) return false;
    bool has_digits = i > 0;
    if (i < s.size() && s[i] == '.') {
      cleaned += '.';
      size_t j = scan_digits(s, i + 1, is_digit, &cleaned);
      if (j == std::string_view::npos) return false;
      has_digits = has_digits || j > i + 1;
      i = j;
    }
    if (!has_digits) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      cleaned += 'e';
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) cleaned += s[i++];
      size_t j = scan_digits(s, i, is_digit, &cleaned);
      if (j == std::string_view::npos || j == i) return false;
      i = j;
    }
    if (i != s.size()) return false;
    d = decimal_to_double(cleaned);
  }
  *out = negative ? -d : d;
  return true;
}

bool parse_int_text(std::string_view s, Value* out) {
  s = strip(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string digits;
  size_t i = scan_digits(s, 0, is_digit, &digits);
  if (i == std::string_view::npos || i == 0 || i != s.size()) return false;
  *out = decimal_digits_to_value(digits, negative);
  return true;
}

// ---- the lexer ------------------------------------------------------------------------------

Token Lexer::error_at(size_t pos, std::string detail) const {
  Token t;
  t.kind = TokenKind::kError;
  t.pos = pos;
  t.text = src_.substr(pos, 1);
  t.error = std::move(detail) + " at " + describe_position(src_, pos);
  return t;
}

void Lexer::skip_blanks() noexcept {
  while (i_ < src_.size()) {
    char c = src_[i_];
    if (is_space(c)) {
      ++i_;
    } else if (c == '#') {  // a comment runs to the end of the line
      while (i_ < src_.size() && src_[i_] != '\n') ++i_;
    } else if (c == '\\' && i_ + 1 < src_.size() &&
               (src_[i_ + 1] == '\n' || src_[i_ + 1] == '\r')) {
      i_ += 2;  // explicit line continuation
    } else {
      break;
    }
  }
}

Token Lexer::next() {
  skip_blanks();
  const size_t start = i_;
  if (start >= src_.size()) {
    Token t;
    t.pos = src_.size();
    return t;
  }
  char c = src_[start];
  if (is_digit(c) || (c == '.' && start + 1 < src_.size() && is_digit(src_[start + 1])))
    return lex_number(start);
  if (c == '\'' || c == '"') return lex_string(start, {});
  if (is_ident_start(c)) {
    size_t j = start;
    while (j < src_.size() && is_ident_char(src_[j])) ++j;
    std::string_view word = src_.substr(start, j - start);
    if (j < src_.size() && (src_[j] == '\'' || src_[j] == '"') && word.size() <= 2) {
      for (std::string_view p : {"r", "u", "b", "f", "br", "rb", "fr", "rf"})
        if (lower_equals(word, p)) return lex_string(start, word);
    }
    i_ = j;
    Token t;
    t.kind = TokenKind::kName;
    t.pos = start;
    t.text = word;
    return t;
  }
  return lex_op(start);
}

Token Lexer::lex_op(size_t start) {
  std::string_view rest = src_.substr(start);
  for (std::string_view op : kOps) {
    if (rest.substr(0, op.size()) == op) {
      i_ = start + op.size();
      Token t;
      t.kind = TokenKind::kOp;
      t.pos = start;
      t.text = rest.substr(0, op.size());
      return t;
    }
  }
  if (kSingleOps.find(rest[0]) != std::string_view::npos) {
    i_ = start + 1;
    Token t;
    t.kind = TokenKind::kOp;
    t.pos = start;
    t.text = rest.substr(0, 1);
    return t;
  }
  return error_at(start, "invalid character '" + printable(rest[0]) + "'");
}

Token Lexer::lex_number(size_t start) {
  std::string_view s = src_;
  size_t i = start;
  Token t;
  t.kind = TokenKind::kNumber;
  t.pos = start;
  if (s[i] == '0' && i + 1 < s.size() &&
      std::string_view("xXoObB").find(s[i + 1]) != std::string_view::npos) {
    char b = static_cast<char>(s[i + 1] | 0x20);
    int base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
    auto ok = [base](char c) { return is_hex(c) && digit_value(c) < base; };
    i += 2;
    if (i < s.size() && s[i] == '_') ++i;  // Python allows 0x_ff
    std::string digits;
    size_t end = scan_digits(s, i, ok, &digits);
    const char* what = base == 16  ? "invalid hexadecimal literal"
                       : base == 8 ? "invalid octal literal"
                                   : "invalid binary literal";
    if (end == std::string_view::npos || end == i ||
        (end < s.size() && (is_ident_char(s[end]) || is_digit(s[end]))))
      return error_at(start, what);
    uint64_t mag = 0;
    double dmag = 0;
    bool overflow = false;
    for (char c : digits) {
      auto d = static_cast<uint64_t>(digit_value(c));
      if (!overflow &&
          mag > (std::numeric_limits<uint64_t>::max() - d) / static_cast<uint64_t>(base))
        overflow = true;
      mag = mag * static_cast<uint64_t>(base) + d;
      dmag = dmag * base + static_cast<double>(d);
    }
    t.value = overflow || mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                  ? Value(dmag)
                  : Value(static_cast<int64_t>(mag));
    i_ = end;
    t.text = s.substr(start, end - start);
    return t;
  }
  std::string cleaned;
  size_t end = scan_digits(s, i, is_digit, &cleaned);
  if (end == std::string_view::npos) return error_at(start, "invalid decimal literal");
  bool is_float = false;
  if (end < s.size() && s[end] == '.') {
    is_float = true;
    cleaned += '.';
    size_t j = scan_digits(s, end + 1, is_digit, &cleaned);
    if (j == std::string_view::npos) return error_at(start, "invalid decimal literal");
    end = j;
  }
  if (end < s.size() && (s[end] == 'e' || s[end] == 'E')) {
    size_t j = end + 1;
    std::string exp = "e";
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) exp += s[j++];
    size_t k = scan_digits(s, j, is_digit, &exp);
    if (k != std::string_view::npos && k > j) {
      is_float = true;
      cleaned += exp;
      end = k;
    }
  }
  if (end < s.size() && (s[end] == 'j' || s[end] == 'J'))
    return error_at(start, "complex numbers are not supported");
  if (end < s.size() && is_ident_char(s[end])) return error_at(start, "invalid decimal literal");
  t.text = s.substr(start, end - start);
  i_ = end;
  if (is_float) {
    t.value = Value(decimal_to_double(cleaned));
  } else {
    if (cleaned.size() > 1 && cleaned[0] == '0' &&
        cleaned.find_first_not_of('0') != std::string::npos)
      return error_at(start, "leading zeros in decimal integer literals are not permitted");
    // Literals beyond int64 become floats (Python would keep an exact big int).
    t.value = decimal_digits_to_value(cleaned, false);
  }
  return t;
}

Token Lexer::lex_string(size_t start, std::string_view prefix) {
  bool raw = false, bytes = false;
  for (char c : prefix) {
    char l = static_cast<char>(c | 0x20);
    if (l == 'f') return error_at(start, "f-strings are not allowed");
    raw = raw || l == 'r';
    bytes = bytes || l == 'b';
  }
  std::string_view s = src_;
  size_t i = start + prefix.size();
  const char quote = s[i];
  const bool triple = i + 2 < s.size() && s[i + 1] == quote && s[i + 2] == quote;
  i += triple ? 3 : 1;
  std::string out;
  auto unterminated = [&] { return error_at(start, "unterminated string literal"); };
  for (;;) {
    if (i >= s.size()) return unterminated();
    char c = s[i];
    if (c == quote) {
      if (!triple) {
        ++i;
        break;
      }
      if (i + 2 < s.size() && s[i + 1] == quote && s[i + 2] == quote) {
        i += 3;
        break;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '\n' && !triple) return unterminated();
    if (bytes && static_cast<unsigned char>(c) >= 0x80)
      return error_at(i, "bytes can only contain ASCII literal characters");
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return unterminated();
    char e = s[i + 1];
    if (raw) {  // the backslash stays, and protects the next character from ending the string
      if (bytes && static_cast<unsigned char>(e) >= 0x80)
        return error_at(i + 1, "bytes can only contain ASCII literal characters");
      out += c;
      out += e;
      i += 2;
      continue;
    }
    const size_t esc = i;
    i += 2;
    switch (e) {
      case '\n':
        break;
      case '\r':
        if (i < s.size() && s[i] == '\n') ++i;
        break;
      case '\\':
      case '\'':
      case '"':
        out += e;
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        if (bytes && e != 'x') {  // \u and \U are not escapes in bytes literals
          out += '\\';
          out += e;
          break;
        }
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          if (i + k >= s.size() || !is_hex(s[i + k]))
            return error_at(esc, std::string("truncated \\") + e + " escape");
          cp = cp * 16 + static_cast<uint32_t>(digit_value(s[i + k]));
        }
        i += n;
        if (cp > 0x10FFFF) return error_at(esc, "illegal Unicode character");
        if (bytes)
          out += static_cast<char>(cp);
        else
          append_utf8(out, cp);
        break;
      }
      case 'N':
        if (bytes) {
          out += "\\N";
          break;
        }
        return error_at(esc, "\\N{...} escapes are not supported");
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k)
            cp = cp * 8 + static_cast<uint32_t>(s[i++] - '0');
          if (bytes && cp > 0xFF) return error_at(esc, "octal escape value out of range");
          if (bytes)
            out += static_cast<char>(cp);
          else
            append_utf8(out, cp);
        } else {  // unknown escapes keep their backslash, as Python does
          out += '\\';
          i -= 1;
        }
    }
  }
  i_ = i;
  Token t;
  t.kind = TokenKind::kString;
  t.pos = start;
  t.text = s.substr(start, i - start);
  t.is_bytes = bytes;
  t.value = bytes ? Value::bytes(out) : Value(out);
  return t;
}

}  // namespace theus::flux::detail
