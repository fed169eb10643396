// Lexer: splits a Flux condition into Python-like tokens (names, numbers, strings, operators),
// decoding number and string literals into Values. One token at a time, so memory stays O(1).
// Thread-safety: a Lexer is single-use, owned by one parser on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "theus/value.hpp"

namespace theus::flux::detail {

enum class TokenKind : unsigned char {
  kEnd,     // end of the text
  kName,    // identifier or keyword (text)
  kNumber,  // int or float literal (value)
  kString,  // str or bytes literal (value, is_bytes)
  kOp,      // operator or punctuation (text)
  kError,   // lexical error (error holds the detail, without the location)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t pos = 0;         // byte offset of the first character
  std::string_view text;  // the source slice
  Value value;            // kNumber, kString
  bool is_bytes = false;  // kString: a b'...' literal
  std::string error;      // kError

  bool is_op(std::string_view op) const noexcept { return kind == TokenKind::kOp && text == op; }
  bool is_name(std::string_view n) const noexcept { return kind == TokenKind::kName && text == n; }
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) noexcept : src_(src) {}

  // The next token; kEnd forever once the text is consumed. Complexity: O(token length).
  Token next();

 private:
  void skip_blanks() noexcept;
  Token lex_number(size_t start);
  Token lex_string(size_t start, std::string_view prefix);
  Token lex_op(size_t start);
  Token error_at(size_t pos, std::string detail) const;

  std::string_view src_;
  size_t i_ = 0;
};

// True for Python's reserved words, except `global`, which Flux conditions use as a name.
bool is_keyword(std::string_view name) noexcept;

// "line L, column C" (or just "column C" for one-line texts); C counts UTF-8 characters from 1.
std::string describe_position(std::string_view src, size_t pos);

// Byte length of the character starting at `i` (a UTF-8 sequence, or 1 for a stray byte).
size_t utf8_char_length(std::string_view s, size_t i) noexcept;

// Appends code point `cp` as UTF-8 (surrogates are encoded like other code points).
void append_utf8(std::string& out, uint32_t cp);

// Parses Python float() syntax ("  -1_000.5e3 ", "inf", "nan"); false when `s` is not a number.
bool parse_float_text(std::string_view s, double* out);
// Parses Python int() syntax in base 10 ("  -1_000 "); on int64 overflow stores a double instead.
bool parse_int_text(std::string_view s, Value* out);

}  // namespace theus::flux::detail
