// Expression: Flux's safe condition language (spec D11), a Python-like subset evaluated over
// Values. Parsed once, evaluated many times; never Python `eval`.
//
// Grammar: literals (int, float, 'str', "str", True, False, None, [lists], (tuples)); names;
// parentheses; attribute `a.b` (on a map: the key 'b'); subscript `a[k]` (no slices); arithmetic
// + - * / // % ** and unary - +; comparisons == != < <= > >= (chained: 0 < x <= 10); in, not in;
// is, is not; and, or, not (short-circuit, returning operands as Python does). Calls: only the
// builtins len int float str bool abs min max sum (positional arguments) and the mapping methods
// .get(key[, default]) .keys() .values() .items(). Everything else (other calls, lambdas,
// comprehensions, conditional expressions, walrus, slicing, names or attributes starting with
// '_') is refused at parse time.
//
// Semantics follow Python: truthiness, numeric promotion (bool < int < float; int overflow falls
// back to float), true division, floor division and modulo with the divisor's sign, string and list
// concatenation / repetition, `in` on strings (substring), lists and map keys, lexicographic
// ordering of strings and lists, TypeError for mismatched orderings.
// Thread-safety: a parsed Expression is immutable; evaluate() may run concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus::flux {

namespace detail {
struct ExprNode;
}

// Resolves the names an expression uses (`domain`, `global`, `signal`, ...). Returns kNameError
// (or any other error) when a name is unknown.
using NameLookup = std::function<Result<Value>(std::string_view name)>;

class Expression {
 public:
  // Parses `text`. Errors: kInvalidArgument "invalid condition at <location>: '<text>' (<detail>)",
  // where <detail> names what was found and where (column), e.g. "unexpected ')' at column 7" or
  // "calls to 'open' are not allowed".
  static Result<Expression> parse(std::string_view text,
                                  std::string_view location = "<expression>");

  // Evaluates to a Value. Errors carry Python-like codes: kNameError, kNotFound (KeyError),
  // kIndexError, kTypeMismatch (TypeError), kZeroDivision, kAttributeError, with the message
  // "Flux condition error in <location>: '<text>' (<detail>)".
  Result<Value> evaluate(const NameLookup& names) const;
  // evaluate() coerced with Python truthiness.
  Result<bool> test(const NameLookup& names) const;

  const std::string& text() const noexcept { return text_; }
  const std::string& location() const noexcept { return location_; }

 private:
  std::shared_ptr<const detail::ExprNode> root_;
  std::string text_;
  std::string location_;
};

}  // namespace theus::flux
